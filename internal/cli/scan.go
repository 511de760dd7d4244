package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// decoded is one SBOM read and validated, ready to store.
type decoded struct {
	path string
	doc  *sbom.Document
	raw  []byte
}

// decodeSBOMs reads and decodes every file before anything is written, so
// one bad file leaves the store unchanged. An SBOM with no usable package is
// an error: it must never look like a clean result.
func decodeSBOMs(paths []string) ([]decoded, error) {
	out := make([]decoded, 0, len(paths))
	for _, p := range paths {
		doc, err := sbom.DecodeFile(p, sbom.DefaultMaxBytes)
		if err != nil {
			return nil, err // names the file already
		}
		if len(doc.Packages) == 0 {
			return nil, fmt.Errorf("sbom %s: %w: 0 packages analysed (%d entries without a usable identity%s)",
				p, sbom.ErrNoPackages, len(doc.Unidentified), firstReason(doc))
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("sbom %s: %w", p, err)
		}
		out = append(out, decoded{path: p, doc: doc, raw: raw})
	}
	return out, nil
}

func firstReason(doc *sbom.Document) string {
	if len(doc.Unidentified) == 0 {
		return ""
	}
	return ", e.g. " + doc.Unidentified[0].Reason
}

// ingest stores decoded SBOMs and matches their packages on arrival.
func (e *env) ingest(ctx context.Context, st *sqlite.Store, docs []decoded, image string) ([]store.IngestResult, vuln.Summary, error) {
	var results []store.IngestResult
	var ids []int64
	for _, d := range docs {
		r, err := st.IngestSBOM(ctx, store.IngestInput{Document: d.doc, Raw: d.raw, Source: d.path, Image: image, At: e.now()})
		if err != nil {
			return nil, vuln.Summary{}, err
		}
		results = append(results, r)
		ids = append(ids, r.PackageIDs...)
	}
	sum, err := vuln.Reconcile(ctx, st, store.Scope{PackageIDs: ids, Cause: store.CauseNewImage}, e.now())
	return results, sum, err
}

func (e *env) sbomCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "sbom", Short: "Store SBOMs (Syft JSON, CycloneDX, SPDX, Trivy JSON)"}
	var db, image string
	ingest := &cobra.Command{
		Use:   "ingest [--db FILE] [--image REF] FILE...",
		Short: "Decode SBOMs (format detected from content), store them once and match them",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			docs, err := decodeSBOMs(args)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			res, sum, err := e.ingest(cmd.Context(), st, docs, image)
			if err != nil {
				return err
			}
			for i, r := range res {
				state := "stored"
				if r.Existing {
					state = "already stored"
				}
				fmt.Fprintf(e.stdout, "%s: %s as sbom %d (%s %s, %d packages, %d unidentified)\n",
					docs[i].path, state, r.SBOM.ID, r.SBOM.Format, r.SBOM.FormatVersion, r.SBOM.Packages, r.SBOM.Unidentified)
			}
			fmt.Fprintf(e.stdout, "matched %d package versions: %d findings opened\n", sum.Packages, sum.Changes.Opened)
			return nil
		},
	}
	ingest.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	ingest.Flags().StringVar(&image, "image", "", "image reference the SBOMs describe")
	cmd.AddCommand(ingest)
	return cmd
}

func (e *env) scanCommand() *cobra.Command {
	var (
		db, format, failOn string
		feeds              []string
	)
	cmd := &cobra.Command{
		Use:   "scan [--db FILE] [--feed PATH]... [--format table|json|sarif] [--fail-on critical|high|medium|low|kev] SBOM...",
		Short: "Ingest SBOMs, match them against the feeds, print the findings",
		Long: `Scan decodes each SBOM (format detected from content), imports the --feed paths,
matches every package with its ecosystem's own version ordering, and prints the
findings. Without --db the store is a temporary file removed afterwards.

Exit status: 0 when nothing meets --fail-on, 1 when something does, 2 on error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out, err := newPrinter(format)
			if err != nil {
				return usageError{err}
			}
			gate, err := parseFailOn(failOn)
			if err != nil {
				return usageError{err}
			}
			// Read and validate everything first: bad input writes nothing.
			batches, err := loadFeeds(feeds)
			if err != nil {
				return err
			}
			docs, err := decodeSBOMs(args)
			if err != nil {
				return err
			}
			if db == "" {
				dir, err := os.MkdirTemp("", "safeguard-scan-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				db = filepath.Join(dir, "scan.db")
			}
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			for i, b := range batches {
				if _, err := e.applyFeed(ctx, st, b, feeds[i], false); err != nil {
					return err
				}
			}
			if c, err := st.Counts(ctx); err != nil {
				return err
			} else if c.Advisories == 0 {
				return fmt.Errorf("no advisories in the store %s: give --feed PATH or run 'safeguard feed import' first", db)
			}
			res, sum, err := e.ingest(ctx, st, docs, "")
			if err != nil {
				return err
			}
			var ids []int64
			for _, r := range res {
				ids = append(ids, r.SBOM.ID)
			}
			findings, err := st.Findings(ctx, store.FindingFilter{SBOMIDs: ids})
			if err != nil {
				return err
			}
			covered, err := st.CoveredEcosystems(ctx)
			if err != nil {
				return err
			}
			report := scanReport{SBOMs: res, Findings: findings, Stats: sum.Stats, Uncovered: uncovered(docs, covered)}
			for _, u := range report.Uncovered {
				fmt.Fprintf(e.stderr, "warning: %s: %d %s packages were not checked: no %s advisories in the feeds\n", u.Source, u.Packages, u.Ecosystem, u.Ecosystem)
			}
			if err := out.print(e.stdout, report); err != nil {
				return err
			}
			if n := gate.count(findings); n > 0 {
				fmt.Fprintf(e.stderr, "%d findings meet --fail-on %s\n", n, failOn)
				return errCheckFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "store file (SQLite); default: a temporary store")
	cmd.Flags().StringArrayVar(&feeds, "feed", nil, "feed file, directory or archive to import first (repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or sarif")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding is at least this severe: critical, high, medium, low, or kev")
	return cmd
}

func (e *env) findingsCommand() *cobra.Command {
	var (
		db, format, severity, pkg string
		kev, resolved             bool
	)
	cmd := &cobra.Command{
		Use:   "findings [--db FILE] [--kev] [--severity S] [--package NAME] [--format table|json|sarif]",
		Short: "List findings from the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := newPrinter(format)
			if err != nil {
				return usageError{err}
			}
			if len(pkg) > store.MaxPackageFilter {
				return usageError{fmt.Errorf("--package is longer than %d characters", store.MaxPackageFilter)}
			}
			f := store.FindingFilter{KEV: kev, Package: pkg, IncludeResolved: resolved}
			if severity != "" {
				f.MinSeverity, err = parseRating(severity)
				if err != nil {
					return usageError{err}
				}
			}
			if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("store %s does not exist: run 'safeguard feed import' and 'safeguard sbom ingest' first, or give --db", db)
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			return listFindings(cmd.Context(), st, f, out, e.stdout)
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().BoolVar(&kev, "kev", false, "only findings in the CISA KEV catalog")
	cmd.Flags().StringVar(&severity, "severity", "", "minimum severity: critical, high, medium, low")
	cmd.Flags().StringVar(&pkg, "package", "", "package name, or purl prefix")
	cmd.Flags().BoolVar(&resolved, "include-resolved", false, "include findings that have been resolved")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or sarif")
	return cmd
}

func parseRating(s string) (advisory.Rating, error) {
	r := advisory.Rating(strings.ToLower(s))
	if r.Rank() < advisory.RatingLow.Rank() {
		return "", fmt.Errorf("unknown severity %q: want critical, high, medium or low", s)
	}
	return r, nil
}

// failOn decides which findings fail a scan.
type failOn struct {
	kev bool
	min advisory.Rating
}

func parseFailOn(s string) (failOn, error) {
	switch strings.ToLower(s) {
	case "":
		return failOn{}, nil
	case "kev":
		return failOn{kev: true}, nil
	}
	r, err := parseRating(s)
	if err != nil {
		return failOn{}, fmt.Errorf("--fail-on: %w, or kev", err)
	}
	return failOn{min: r}, nil
}

func (f failOn) count(fs []store.Finding) int {
	n := 0
	for _, x := range fs {
		if (f.kev && x.KEV) || (f.min != "" && x.Severity.Rank() >= f.min.Rank()) {
			n++
		}
	}
	return n
}

// uncoveredEcosystem counts packages whose ecosystem (and distro release)
// no stored advisory covers: a clean result for them would be a false "no
// vulnerabilities", so it is said out loud.
type uncoveredEcosystem struct {
	Source    string `json:"source"`
	Ecosystem string `json:"ecosystem"`
	Packages  int    `json:"packages"`
}

func uncovered(docs []decoded, covered map[string]bool) []uncoveredEcosystem {
	var out []uncoveredEcosystem
	for _, d := range docs {
		counts := map[string]int{}
		var order []string
		for _, p := range d.doc.Packages {
			key := p.Ecosystem
			if vuln.IsDistro(p.Ecosystem) && p.Release != "" {
				key += ":" + p.Release
			}
			if covered[key] {
				continue
			}
			if counts[key] == 0 {
				order = append(order, key)
			}
			counts[key]++
		}
		for _, k := range order {
			out = append(out, uncoveredEcosystem{Source: d.path, Ecosystem: k, Packages: counts[k]})
		}
	}
	return out
}

// findingsReader is the read side of the store that listing needs; the
// write side never reaches this path.
type findingsReader interface {
	Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
}

func listFindings(ctx context.Context, r findingsReader, f store.FindingFilter, p printer, w io.Writer) error {
	findings, err := r.Findings(ctx, f)
	if err != nil {
		return err
	}
	return p.print(w, scanReport{Findings: findings})
}
