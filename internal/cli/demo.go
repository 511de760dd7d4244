package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/data"
	"github.com/safeguard-dev/safeguard/demo"
	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/registry"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

func (e *env) demoCommand() *cobra.Command {
	var (
		db, listen string
		once       bool
	)
	cmd := &cobra.Command{
		Use:   "demo [--db FILE] [--listen ADDR] [--once]",
		Short: "Start a local registry with real-SBOM images, crawl and match them, and serve the API",
		Long: `demo starts an in-process OCI registry on loopback, pushes sample images whose
SBOMs are real published SBOMs (attached as OCI referrers), imports the real feeds
bundled with Safeguard (the Go vulnerability database, GitHub advisories, the CISA
KEV catalog, EPSS), crawls the registry, moves one tag to a new digest and crawls
again, prints a summary, and serves the API until interrupted (--once: exit after
the summary). Its data sits in a temporary SQLite file unless --db is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tmp, err := os.MkdirTemp("", "safeguard-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if db == "" {
				db = filepath.Join(tmp, "demo.db")
			}
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			regLn, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			reg := &http.Server{Handler: ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
			go reg.Serve(regLn)
			defer reg.Close()
			host := regLn.Addr().String()
			fmt.Fprintf(e.stdout, "registry: http://%s (in-process)\n", host)
			return e.runDemo(ctx, st, host, tmp, listen, once)
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "store file (SQLite); default: a temporary file")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	cmd.Flags().BoolVar(&once, "once", false, "exit after the summary instead of serving the API")
	return cmd
}

func (e *env) runDemo(ctx context.Context, st *sqlite.Store, host, tmp, listen string, once bool) error {
	// 1. Feeds: the bundled real data, written out of the binary.
	feedDir := filepath.Join(tmp, "feeds")
	if err := copyFS(data.FS, "feeds", feedDir); err != nil {
		return err
	}
	for _, f := range []string{"vulndb-data-osv.tar.gz", "ghsa-osv-356-records-maven-heavy.json", "osv-distro", "known_exploited_vulnerabilities.json", "epss-excerpt-real.csv"} {
		b, err := feed.Load(filepath.Join(feedDir, f), feed.Options{})
		if err != nil {
			return err
		}
		if _, err := e.applyFeed(ctx, st, b, f, true); err != nil {
			return err
		}
	}
	// 2. Images with real SBOMs attached, pushed a month ago.
	pushed := e.now().Add(-30 * 24 * time.Hour)
	if _, err := demo.Push(ctx, host, data.FS, demo.Samples, pushed); err != nil {
		return err
	}
	rc := registry.RegistryConfig{Name: "demo", Host: host, Insecure: true}
	for _, s := range demo.Samples {
		rc.Repositories = append(rc.Repositories, s.Repository)
	}
	cfg := &registry.Config{Registries: []registry.RegistryConfig{rc}}
	crawler := &registry.Crawler{Inventory: st, SBOMs: registrySBOMs{st: st, now: e.now}, Now: e.now, Getenv: e.getenv, Notifier: &registry.Notifier{}}
	first, err := crawler.CrawlRegistry(ctx, rc)
	if err != nil {
		return err
	}
	// 3. Someone overwrites a tag: demo/kubectl:1.28 now points at another
	// image (with another SBOM). The next crawl catches the move.
	moved := demo.Sample{Repository: "demo/kubectl", Tag: "1.28", SBOM: "sboms/proton-bridge-v1.8.0-gomod.cdx.json", MediaType: "application/vnd.cyclonedx+json", Seed: 99}
	if _, err := demo.Push(ctx, host, data.FS, []demo.Sample{moved}, e.now()); err != nil {
		return err
	}
	second, err := crawler.CrawlRegistry(ctx, rc)
	if err != nil {
		return err
	}
	if _, err := st.RecordNewKEVEvents(ctx, e.now()); err != nil {
		return err
	}
	if err := e.printDemoSummary(ctx, st, first, second); err != nil {
		return err
	}
	if once {
		return nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	fmt.Fprintf(e.stdout, "\nAPI: http://%s/api/v1/images  (also /api/v1/events, /api/v1/findings?kev=true, /metrics) — Ctrl-C to stop\n", ln.Addr())
	o := serveOptions{noKEV: true, noEPSS: true, feedInterval: 0, rematchInt: 24 * time.Hour}
	return e.serve(ctx, st, cfg, o, ln, nil)
}

func (e *env) printDemoSummary(ctx context.Context, st *sqlite.Store, first, second registry.Summary) error {
	imgs, err := st.Images(ctx, "")
	if err != nil {
		return err
	}
	fs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	kev := 0
	for _, f := range fs {
		if f.KEV {
			kev++
		}
	}
	evs, err := st.Events(ctx, sqlite.EventFilter{Kinds: []string{store.EventTagMoved}})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "crawled: %d repositories, %d images, %d SBOMs attached and matched (second crawl: %d tags unchanged, %d moved)\n",
		first.Repositories, len(imgs), first.SBOMs+second.SBOMs, second.TagsUnchanged, second.MovedTags)
	fmt.Fprintf(e.stdout, "findings: %d open, %d in the CISA KEV catalog\n", len(fs), kev)
	shown := 0
	for _, f := range fs {
		if !f.KEV || shown == 5 {
			continue
		}
		shown++
		fmt.Fprintf(e.stdout, "  KEV %s %s %s (%s) in %s\n", f.Package.Name, f.Package.Version, f.AdvisoryID, firstCVE(f), f.Image)
	}
	if kev > shown {
		fmt.Fprintf(e.stdout, "  … and %d more KEV findings\n", kev-shown)
	}
	for _, ev := range evs {
		fmt.Fprintf(e.stdout, "moved tag: %s:%s %s → %s\n", ev.Repository, ev.Tag, shortDigest(ev.OldDigest), shortDigest(ev.Digest))
	}
	if len(evs) == 0 {
		return errors.New("demo: the overwritten tag was not detected")
	}
	return nil
}

// copyFS writes the tree under root of fsys to dir.
func copyFS(fsys fs.FS, root, dir string) error {
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out := filepath.Join(dir, strings.TrimPrefix(strings.TrimPrefix(p, root), "/"))
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}
