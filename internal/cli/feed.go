package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

func (e *env) feedCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "feed", Short: "Import or sync vulnerability feeds (OSV, CISA KEV, EPSS)"}
	cmd.AddCommand(e.feedImportCommand(), e.feedSyncCommand())
	return cmd
}

func (e *env) feedImportCommand() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "import [--db FILE] PATH...",
		Short: "Import feeds from files, directories or archives; the kind is detected from content",
		Long: `Import OSV records (a directory of JSON files, one JSON file, an osv.dev all.zip or a
tar.gz), the CISA KEV catalog (JSON) and EPSS scores (CSV or CSV.gz). Every path is
read and validated before anything is written; each import is one transaction.
Stored SBOMs whose packages the import touched are re-matched.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			batches, err := loadFeeds(args)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			for i, b := range batches {
				if _, err := e.applyFeed(cmd.Context(), st, b, args[i], true); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	return cmd
}

func (e *env) feedSyncCommand() *cobra.Command {
	var (
		db                      string
		ecosystems              []string
		osvURL, kevURL, epssURL string
		noKEV, noEPSS           bool
		timeout                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sync [--db FILE] [--ecosystem E]...",
		Short: "Download the OSV exports of the given ecosystems, the KEV catalog and EPSS scores",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			for _, eco := range ecosystems {
				if !feed.KnownEcosystem(eco) {
					return usageError{fmt.Errorf("--ecosystem %q is not an OSV ecosystem (e.g. Go, npm, PyPI, Maven, Debian, Alpine)", eco)}
				}
			}
			s := &feed.Syncer{OSVBaseURL: osvURL, KEVURL: kevURL, EPSSURL: epssURL}
			type job struct {
				name string
				run  func() (*feed.Batch, error)
			}
			var jobs []job
			if len(ecosystems) > 0 {
				jobs = append(jobs, job{"osv", func() (*feed.Batch, error) { return s.SyncOSV(ctx, ecosystems) }})
			}
			if !noKEV {
				jobs = append(jobs, job{"kev", func() (*feed.Batch, error) { return s.SyncKEV(ctx) }})
			}
			if !noEPSS {
				jobs = append(jobs, job{"epss", func() (*feed.Batch, error) { return s.SyncEPSS(ctx) }})
			}
			if len(jobs) == 0 {
				return usageError{fmt.Errorf("nothing to sync: give --ecosystem, or drop --no-kev/--no-epss")}
			}
			st, err := openStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, j := range jobs {
				b, err := j.run()
				if err != nil {
					return fmt.Errorf("sync %s: %w", j.name, err)
				}
				if err := checkVersions(b); err != nil {
					return fmt.Errorf("sync %s: %w", j.name, err)
				}
				if _, err := e.applyFeed(ctx, st, b, j.name, true); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", e.defaultDB(), "store file (SQLite)")
	cmd.Flags().StringArrayVar(&ecosystems, "ecosystem", nil, "OSV ecosystem to sync (repeatable), e.g. Go, npm, PyPI, Debian")
	cmd.Flags().StringVar(&osvURL, "osv-url", "", "OSV export base URL (default "+feed.DefaultOSVBaseURL+")")
	cmd.Flags().StringVar(&kevURL, "kev-url", "", "CISA KEV catalog URL")
	cmd.Flags().StringVar(&epssURL, "epss-url", "", "EPSS scores URL")
	cmd.Flags().BoolVar(&noKEV, "no-kev", false, "do not sync the KEV catalog")
	cmd.Flags().BoolVar(&noEPSS, "no-epss", false, "do not sync EPSS scores")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

// loadFeeds reads and validates every path before anything is written.
func loadFeeds(paths []string) ([]*feed.Batch, error) {
	out := make([]*feed.Batch, 0, len(paths))
	for _, p := range paths {
		b, err := feed.Load(p, feed.Options{})
		if err != nil {
			return nil, fmt.Errorf("feed %w", err)
		}
		if err := checkVersions(b); err != nil {
			return nil, fmt.Errorf("feed %s: %w", p, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// rematchPending re-matches every delta feed imports left pending — this
// import's, and any whose re-match an earlier run did not finish — and
// clears it.
func (e *env) rematchPending(ctx context.Context, st *sqlite.Store) (vuln.Summary, error) {
	scope, err := st.PendingRematch(ctx)
	if err != nil || len(scope.Keys) == 0 {
		return vuln.Summary{}, err
	}
	sum, err := vuln.Reconcile(ctx, st, scope, e.now())
	if err != nil {
		return sum, err
	}
	return sum, st.ClearPending(ctx, scope)
}

// checkVersions rejects a batch naming versions its ecosystem cannot order.
func checkVersions(b *feed.Batch) error {
	for _, a := range b.Advisories {
		if err := vuln.CheckAdvisory(a); err != nil {
			return err
		}
	}
	return nil
}

// applyFeed writes one batch in one transaction and re-matches the stored
// packages the delta names.
func (e *env) applyFeed(ctx context.Context, st *sqlite.Store, b *feed.Batch, source string, report bool) (store.FeedResult, error) {
	data := store.FeedData{
		Source: source, Advisories: b.Advisories, KEV: b.KEV, KEVComplete: b.KEVComplete, EPSS: b.EPSS, At: e.now(),
		Scores: make(map[string]advisory.Scored, len(b.Advisories)), Hashes: make(map[string]string, len(b.Advisories)),
	}
	for _, a := range b.Advisories {
		data.Scores[a.ID] = feed.Score(a)
		data.Hashes[a.ID] = feed.ContentHash(a)
	}
	res, err := st.ImportFeed(ctx, data)
	if err != nil {
		return res, err
	}
	sum, err := e.rematchPending(ctx, st)
	if err != nil {
		return res, err
	}
	if report {
		printFeedResult(e.stderr, source, b, res, sum)
	}
	return res, nil
}

func printFeedResult(w io.Writer, source string, b *feed.Batch, r store.FeedResult, sum vuln.Summary) {
	switch {
	case len(b.Advisories) > 0:
		fmt.Fprintf(w, "%s: %d advisories: %d added, %d changed, %d withdrawn, %d unchanged", source, len(b.Advisories), r.Added, r.Changed, r.Withdrawn, r.Unchanged)
		if len(b.Skipped) > 0 {
			fmt.Fprintf(w, ", %d skipped", len(b.Skipped))
		}
		fmt.Fprintln(w)
		if sum.Packages > 0 {
			fmt.Fprintf(w, "  re-matched %d stored package versions: %d findings opened, %d resolved\n", sum.Packages, sum.Changes.Opened, sum.Changes.Resolved)
		}
	case len(b.KEV) > 0:
		fmt.Fprintf(w, "%s: KEV catalog %s, %d entries (%d new, %d removed)\n", source, b.KEVCatalogVersion, len(b.KEV), r.KEVAdded, r.KEVRemoved)
	case len(b.EPSS) > 0:
		fmt.Fprintf(w, "%s: EPSS, %d scores", source, len(b.EPSS))
		if b.EPSSScoreDate != "" || b.EPSSModelVersion != "" {
			fmt.Fprintf(w, " (score date %s, model %s)", b.EPSSScoreDate, b.EPSSModelVersion)
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "%s: nothing to import\n", source)
	}
}
