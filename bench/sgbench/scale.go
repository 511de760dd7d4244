package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/bench"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

type buildStats struct {
	SBOMs           int     `json:"sboms"`
	Documents       int     `json:"real_documents_cycled"`
	PackageEntries  int     `json:"package_entries"`
	DistinctPkgs    int     `json:"distinct_packages"`
	FeedSeconds     float64 `json:"feed_import_seconds"`
	DecodeSeconds   float64 `json:"decode_seconds"`
	IngestSeconds   float64 `json:"ingest_seconds"`
	PerSBOMMillis   float64 `json:"ingest_ms_per_sbom"`
	DBBytes         int64   `json:"db_bytes"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	AdvisoriesTotal int     `json:"advisories"`
}

// cmdBuild builds the at-scale store: the feeds imported without
// re-matching (bench.ImportFeeds), then N SBOMs through IngestSBOM, cycling
// through bench.Mixture decoded once, each under its own image name.
// Progress (SBOMs stored, seconds, ms per SBOM over the last stretch) goes
// to stderr; the summary as JSON to stdout.
func cmdBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	db := fs.String("db", "", "store file to create")
	n := fs.Int("n", 10000, "SBOMs to ingest")
	every := fs.Int("every", 1000, "progress line every this many SBOMs")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the ingest to this file")
	trim := fs.String("trim-matched", "", "ingest the mixture documents trimmed to the packages that have findings in this matched store (see bench.TrimToFindings)")
	start := fs.Int("start", 0, "extend an existing store built by sgbench build with START SBOMs: ingest SBOMs START..N-1 (no feed import)")
	fs.Parse(args)
	if *db == "" || fs.NArg() == 0 {
		return fmt.Errorf("build: need -db FILE and feed files")
	}
	if _, err := os.Stat(*db); err == nil && *start == 0 {
		return fmt.Errorf("build: %s exists", *db)
	}
	ctx := context.Background()
	root, err := bench.Root()
	if err != nil {
		return err
	}
	var s buildStats
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *start == 0 {
		batches, err := bench.LoadFeeds(fs.Args())
		if err != nil {
			return err
		}
		if err := bench.ImportFeeds(ctx, st, batches, fs.Args(), at); err != nil {
			return err
		}
	} else if c, err := st.Counts(ctx); err != nil || c.SBOMs != *start {
		return fmt.Errorf("build: -start %d but the store holds %d SBOMs (err %v)", *start, c.SBOMs, err)
	}
	t1 := time.Now()
	paths, missing := bench.Existing(root, bench.Mixture)
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "note: mixture files missing, left out: %v\n", missing)
	}
	docs, err := bench.DecodeAll(paths)
	if err != nil {
		return err
	}
	if *trim != "" {
		m, err := sqlite.Open(ctx, *trim)
		if err != nil {
			return err
		}
		docs, err = bench.TrimToFindings(ctx, m, docs)
		m.Close()
		if err != nil {
			return err
		}
		for _, d := range docs {
			fmt.Fprintf(os.Stderr, "  trimmed %s: %d packages\n", d.Path, len(d.Doc.Packages))
		}
	}
	t2 := time.Now()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	last, lastN := time.Now(), *start
	pk, err := bench.IngestProgress(ctx, st, docs, *start, *n, *every, at, func(done int) {
		now := time.Now()
		fmt.Fprintf(os.Stderr, "  %7d SBOMs  %7.1f s  %6.2f ms/SBOM (last %d)\n", done, now.Sub(t2).Seconds(),
			float64(now.Sub(last).Microseconds())/1000/float64(done-lastN), done-lastN)
		last, lastN = now, done
	})
	if err != nil {
		return err
	}
	t3 := time.Now()
	c, err := st.Counts(ctx)
	if err != nil {
		return err
	}
	s.SBOMs, s.Documents, s.PackageEntries, s.DistinctPkgs, s.AdvisoriesTotal = c.SBOMs, len(docs), pk, c.Packages, c.Advisories
	s.FeedSeconds, s.DecodeSeconds, s.IngestSeconds = t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds()
	s.PerSBOMMillis = s.IngestSeconds * 1000 / float64(*n-*start)
	for _, suf := range []string{"", "-wal"} {
		if fi, err := os.Stat(*db + suf); err == nil {
			s.DBBytes += fi.Size()
		}
	}
	s.PeakRSSBytes, s.GOMAXPROCS = bench.PeakRSS(), bench.GoMaxProcs()
	return json.NewEncoder(os.Stdout).Encode(s)
}

type deltaStats struct {
	bench.DeltaInfo
	bench.DeltaTiming
	LoadSeconds      float64 `json:"feed_load_seconds"`
	PriorPendingKeys int     `json:"prior_pending_keys_cleared_untimed"`
	Batch            string  `json:"batch"`
	BatchAdvisories  int     `json:"batch_advisories"`
	FindingsBefore   int     `json:"findings_before"`
	FindingsAfter    int     `json:"findings_after"`
	FindingsOpened   int     `json:"findings_opened"`
	FindingsResolved int     `json:"findings_resolved"`
	FindingsFixedChg int     `json:"findings_fixed_changed"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
}

// cmdDelta changes N Go advisories (bench.ChangeGoAdvisories) and applies
// the Go feed again the way `safeguard feed import` does (applyFeed): the
// timed part is scores/hashes + ImportFeed + the pending re-match. The store
// must already be matched against the same feeds (sgbench match). Findings
// are read before and after (untimed) to count what changed for images.
func cmdDelta(args []string) error {
	fs := flag.NewFlagSet("delta", flag.ExitOnError)
	db := fs.String("db", "", "matched store file (modified)")
	n := fs.Int("n", 1000, "Go advisories to change")
	only := fs.Bool("only-changed", false, "import only the changed advisories (default: the whole Go feed with N of them changed, as a re-downloaded vulndb export)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed part to this file")
	fs.Parse(args)
	if *db == "" || fs.NArg() == 0 {
		return fmt.Errorf("delta: need -db FILE and the Go feed file")
	}
	ctx := context.Background()
	var s deltaStats
	t0 := time.Now()
	batches, err := bench.LoadFeeds(fs.Args()[:1])
	if err != nil {
		return err
	}
	s.LoadSeconds = time.Since(t0).Seconds()
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	// The feeds were imported without re-matching (bench.ImportFeeds) and
	// then fully matched; their delta is still recorded as pending. Finish
	// it first, untimed, as the next feed import would (rematchPending):
	// the timed re-match is then this delta's alone.
	if sc, err := st.PendingRematch(ctx); err != nil {
		return err
	} else if len(sc.Keys) > 0 {
		if _, err := vuln.Reconcile(ctx, st, sc, time.Now()); err != nil {
			return err
		}
		if err := st.ClearPending(ctx, sc); err != nil {
			return err
		}
		s.PriorPendingKeys = len(sc.Keys)
	}
	keys, err := bench.StoredLookupKeys(ctx, st)
	if err != nil {
		return err
	}
	advs, info := bench.ChangeGoAdvisories(batches[0].Advisories, *n, keys)
	s.DeltaInfo = info
	s.Batch = fs.Args()[0]
	if *only {
		orig := map[string]string{}
		for _, a := range batches[0].Advisories {
			b, _ := json.Marshal(a)
			orig[a.ID] = string(b)
		}
		kept := advs[:0:0]
		for _, a := range advs {
			b, _ := json.Marshal(a)
			if orig[a.ID] != string(b) {
				kept = append(kept, a)
			}
		}
		advs = kept
		s.Batch += " (changed advisories only)"
	}
	s.BatchAdvisories = len(advs)
	before, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	t, err := bench.ApplyFeed(ctx, st, advs, fs.Args()[0], time.Now())
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	s.DeltaTiming = t
	after, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	key := func(f store.Finding) string {
		return fmt.Sprintf("%d\x00%d\x00%s", f.SBOMID, f.PackageID, f.AdvisoryID)
	}
	fixed := func(f store.Finding) string { return strings.Join(f.Fixed, ",") }
	was := make(map[string]string, len(before))
	for _, f := range before {
		was[key(f)] = fixed(f)
	}
	for _, f := range after {
		old, ok := was[key(f)]
		switch {
		case !ok:
			s.FindingsOpened++
		case old != fixed(f):
			s.FindingsFixedChg++
		}
		delete(was, key(f))
	}
	s.FindingsResolved = len(was)
	s.FindingsBefore, s.FindingsAfter = len(before), len(after)
	s.PeakRSSBytes, s.GOMAXPROCS = bench.PeakRSS(), bench.GoMaxProcs()
	return json.NewEncoder(os.Stdout).Encode(s)
}

type reconcileRun struct {
	ReconcileSeconds  float64            `json:"reconcile_seconds"`
	FindingsSeconds   float64            `json:"read_findings_seconds"`
	PackageVersions   int                `json:"package_versions"`
	Candidates        int                `json:"candidates"`
	Changes           store.MatchChanges `json:"match_changes"`
	Findings          int                `json:"findings"`
	RSSAfterReconcile int64              `json:"peak_rss_reconcile_bytes"`
	RSSAfterFindings  int64              `json:"peak_rss_findings_bytes"`
}

type reconcileStats struct {
	OpenSeconds float64        `json:"open_seconds"`
	SBOMs       int            `json:"sboms"`
	Runs        []reconcileRun `json:"runs"`
	GOMAXPROCS  int            `json:"gomaxprocs"`
}

// cmdReconcile times a full vuln.Reconcile (store.Scope{}) and, separately,
// reading every finding (st.Findings), -runs times on the same store: on a
// never-matched store the first run is the cold first match of the fleet,
// later ones the periodic full re-match. Peak RSS (getrusage) is taken
// after each phase. -cpuprofile P writes P.reconcile and P.findings for the
// first run.
func cmdReconcile(args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ExitOnError)
	db := fs.String("db", "", "store file with feeds imported and SBOMs ingested (modified: matches are recorded)")
	runs := fs.Int("runs", 2, "reconcile + read findings this many times")
	cpuprofile := fs.String("cpuprofile", "", "CPU profile prefix for the first run")
	fs.Parse(args)
	if *db == "" {
		return fmt.Errorf("reconcile: need -db FILE")
	}
	ctx := context.Background()
	var s reconcileStats
	t0 := time.Now()
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Counts(ctx)
	if err != nil {
		return err
	}
	s.SBOMs = c.SBOMs
	s.OpenSeconds = time.Since(t0).Seconds()
	profile := func(on bool, suffix string) (func(), error) {
		if !on || *cpuprofile == "" {
			return func() {}, nil
		}
		f, err := os.Create(*cpuprofile + "." + suffix)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		return func() { pprof.StopCPUProfile(); f.Close() }, nil
	}
	for i := 0; i < *runs; i++ {
		var r reconcileRun
		stop, err := profile(i == 0, "reconcile")
		if err != nil {
			return err
		}
		t1 := time.Now()
		sum, err := vuln.Reconcile(ctx, st, store.Scope{}, time.Now())
		t2 := time.Now()
		stop()
		if err != nil {
			return err
		}
		r.RSSAfterReconcile = bench.PeakRSS()
		if stop, err = profile(i == 0, "findings"); err != nil {
			return err
		}
		t3 := time.Now()
		fs, err := st.Findings(ctx, store.FindingFilter{})
		t4 := time.Now()
		stop()
		if err != nil {
			return err
		}
		r.RSSAfterFindings = bench.PeakRSS()
		r.ReconcileSeconds, r.FindingsSeconds = t2.Sub(t1).Seconds(), t4.Sub(t3).Seconds()
		r.PackageVersions, r.Candidates, r.Changes, r.Findings = sum.Packages, sum.Candidates, sum.Changes, len(fs)
		fs = nil
		s.Runs = append(s.Runs, r)
		fmt.Fprintf(os.Stderr, "  run %d: reconcile %.2f s, read %d findings %.2f s, peak RSS %d MiB\n", i+1, r.ReconcileSeconds, r.Findings, r.FindingsSeconds, r.RSSAfterFindings>>20)
	}
	s.GOMAXPROCS = bench.GoMaxProcs()
	return json.NewEncoder(os.Stdout).Encode(s)
}
