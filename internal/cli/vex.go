package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vex"
)

func (e *env) vexCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "vex", Short: "Import VEX statements (OpenVEX, CycloneDX VEX) that mark findings not_affected"}
	cmd.AddCommand(e.vexImportCommand())
	return cmd
}

func (e *env) vexImportCommand() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "import [--db FILE] FILE...",
		Short: "Import VEX documents; the format (OpenVEX or CycloneDX VEX) is detected from content",
		Long: `Import VEX statements from OpenVEX or CycloneDX VEX JSON files. A statement applies to a
finding when it names the finding's advisory id or an alias and the finding's package
(purl type, namespace, name and version; qualifiers are ignored), and, when it names an
image, only to that image. The latest statement that applies decides: not_affected takes
the finding out of the policy's vulnerabilities rules, a later affected brings it back.
Every file is read and validated before anything is written.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			docs := make([]*vex.Document, 0, len(args))
			for _, p := range args {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("vex %w", err)
				}
				d, err := vex.Decode(p, b)
				if err != nil {
					return err
				}
				docs = append(docs, d)
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			for i, d := range docs {
				r, err := st.ImportVEX(cmd.Context(), store.VEXImport{Source: args[i], Statements: d.Statements, At: e.now()})
				if err != nil {
					return fmt.Errorf("vex %s: %w", args[i], err)
				}
				fmt.Fprintf(e.stdout, "%s: %s, %d statements%s", printable(args[i]), d.Format, r.Statements, statusCounts(d.Statements))
				if d.Skipped > 0 {
					fmt.Fprintf(e.stdout, ", %d skipped (no package purl to match)", d.Skipped)
				}
				fmt.Fprintln(e.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	return cmd
}

// statusCounts is " (2 not_affected, 1 affected)", in a fixed order.
func statusCounts(ss []vex.Statement) string {
	n := map[string]int{}
	for _, s := range ss {
		n[s.Status]++
	}
	var parts []string
	for _, s := range []string{vex.NotAffected, vex.Affected, vex.Fixed, vex.UnderInvestigation} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
