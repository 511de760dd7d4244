package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/feed"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

// mirror imports feed files from a local directory for air-gapped sites:
// every regular file under it (an all.zip per ecosystem, the KEV JSON, EPSS
// CSV.gz, OSV tarballs) is loaded on its own; a file unchanged since the last
// pass (same size and modification time) is skipped.
type mirror struct {
	dir  string
	seen map[string]string
}

func newMirror(dir string) *mirror { return &mirror{dir: dir, seen: map[string]string{}} }

// changed returns the feed files that are new or changed since the last pass.
func (m *mirror) changed() ([]string, error) {
	var out []string
	err := filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != m.dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		name := strings.ToLower(d.Name())
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".md") || strings.HasPrefix(name, "license") || name == "notices" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		stamp := fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
		if m.seen[p] != stamp {
			out = append(out, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("feed mirror %s does not exist", m.dir)
	}
	sort.Strings(out)
	return out, err
}

func (m *mirror) done(path string) {
	if info, err := os.Stat(path); err == nil {
		m.seen[path] = fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
	}
}

// syncFeeds is one feed-sync run: from the mirror when configured, else
// online. Each batch is imported and its delta re-matched; KEV findings the
// run revealed become events.
func (e *env) syncFeeds(ctx context.Context, st *sqlite.Store, m *mirror, syncer *feed.Syncer, ecosystems []string, kev, epss bool) error {
	var errs []error
	apply := func(b *feed.Batch, source string) {
		if err := checkVersions(b); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			return
		}
		if _, err := e.applyFeed(ctx, st, b, source, true); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
		}
	}
	if m != nil {
		files, err := m.changed()
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := feed.Load(f, feed.Options{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			apply(b, f)
			m.done(f)
		}
	} else {
		if len(ecosystems) > 0 {
			if b, err := syncer.SyncOSV(ctx, ecosystems); err != nil {
				errs = append(errs, err)
			} else {
				apply(b, "osv:"+strings.Join(ecosystems, ","))
			}
		}
		if kev {
			if b, err := syncer.SyncKEV(ctx); err != nil {
				errs = append(errs, err)
			} else {
				apply(b, "kev")
			}
		}
		if epss {
			if b, err := syncer.SyncEPSS(ctx); err != nil {
				errs = append(errs, err)
			} else {
				apply(b, "epss")
			}
		}
	}
	if _, err := st.RecordNewKEVEvents(ctx, e.now()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// rematchAll is the scheduled full re-match (nightly by default): it catches
// anything a delta could have missed, e.g. an ordering fix in a new release.
func (e *env) rematchAll(ctx context.Context, st *sqlite.Store) error {
	start := time.Now()
	sum, err := vuln.Reconcile(ctx, st, store.Scope{Cause: store.CauseRematch}, e.now())
	if err != nil {
		return err
	}
	if _, err := st.RecordNewKEVEvents(ctx, e.now()); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "re-matched %d package versions in %v: %d opened, %d resolved\n",
		sum.Packages, time.Since(start).Round(time.Millisecond), sum.Changes.Opened, sum.Changes.Resolved)
	return nil
}
