package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/store"
)

func (e *env) deploymentsCommand() *cobra.Command {
	var db, format string
	var f store.DeploymentFilter
	cmd := &cobra.Command{
		Use:   "deployments [--db FILE] [--cluster C] [--namespace NS] [--environment E] [--kind K] [--workload W] [--digest D] [--format table|json]",
		Short: "List where image digests run, from the admission webhook's deployment inventory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("unknown --format %q: want table or json", format)}
			}
			st, err := e.existingStore(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := st.Deployments(cmd.Context(), f)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Deployments []store.Deployment `json:"deployments"`
				}{ds})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CLUSTER\tNAMESPACE\tWORKLOAD\tCONTAINER\tENVIRONMENT\tDIGEST\tIMAGE")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\n", dash(d.Cluster), d.Namespace, d.Kind, d.Workload, d.Container, dash(d.Environment), dash(short(d.Digest)), d.Image)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file")
	cmd.Flags().StringVar(&f.Cluster, "cluster", "", "only this cluster")
	cmd.Flags().StringVar(&f.Namespace, "namespace", "", "only this namespace")
	cmd.Flags().StringVar(&f.Environment, "environment", "", "only this environment (e.g. production)")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only this workload kind")
	cmd.Flags().StringVar(&f.Workload, "workload", "", "only this workload name")
	cmd.Flags().StringVar(&f.Digest, "digest", "", "only this image digest")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readAllLimited reads r up to limit bytes; more is an error.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func looksLikePEMCert(b []byte) bool {
	return strings.Contains(string(b), "-----BEGIN CERTIFICATE-----")
}
