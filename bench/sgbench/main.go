// Command sgbench is the helper behind scripts/compare-osv-scanner.sh and
// scripts/bench.sh. It is not part of the safeguard CLI.
//
//	sgbench osvdb -out DIR FEED...          build osv-scanner's offline DB (DIR/osv-scanner/<Ecosystem>/all.zip)
//	sgbench copies -n N -out DIR SBOM...    N distinct copies cycling through the SBOMs, named as osv-scanner wants
//	sgbench stage -out DIR SBOM...          one copy of each SBOM, named as osv-scanner wants; prints the new paths
//	sgbench import -db FILE FEED...         import feeds into a store without re-matching
//	sgbench match -db FILE                  time a full reconcile + reading all findings; print JSON stats
//	sgbench compare -safeguard F -osv F [-names MAP] FEED...   normalise both outputs and print the differences
//	sgbench build -db FILE -n N [-cpuprofile F] FEED...   feeds (no re-match) + N SBOMs cycling bench.Mixture, timed set-up
//	sgbench reconcile -db FILE [-runs R] [-cpuprofile P]   time full reconcile and reading all findings separately, peak RSS of each
//	sgbench delta -db FILE -n N FEED...     change N Go advisories, time import + pending re-match (store must be matched)
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/bench"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
	"github.com/safeguard-dev/safeguard/vuln"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sgbench osvdb|copies|stage|import|match|compare|build|reconcile|delta ...")
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "osvdb":
		err = cmdOSVDB(args)
	case "copies":
		err = cmdCopies(args, false)
	case "stage":
		err = cmdCopies(args, true)
	case "import":
		err = cmdImport(args)
	case "match":
		err = cmdMatch(args)
	case "compare":
		err = cmdCompare(args)
	case "build":
		err = cmdBuild(args)
	case "delta":
		err = cmdDelta(args)
	case "reconcile":
		err = cmdReconcile(args)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sgbench:", err)
		os.Exit(1)
	}
}

// ---- raw OSV records ----

type rawRecord struct {
	ID       string
	Aliases  []string
	Ecos     []string // distinct ecosystems of affected[], without ":release"
	Raw      []byte
	Withdraw bool
}

func parseRecord(raw []byte) (rawRecord, error) {
	var r struct {
		ID        string   `json:"id"`
		Aliases   []string `json:"aliases"`
		Withdrawn string   `json:"withdrawn"`
		Affected  []struct {
			Package struct {
				Ecosystem string `json:"ecosystem"`
			} `json:"package"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return rawRecord{}, err
	}
	rec := rawRecord{ID: r.ID, Aliases: r.Aliases, Raw: raw, Withdraw: r.Withdrawn != ""}
	seen := map[string]bool{}
	for _, a := range r.Affected {
		e, _, _ := strings.Cut(a.Package.Ecosystem, ":")
		if e != "" && !seen[e] {
			seen[e] = true
			rec.Ecos = append(rec.Ecos, e)
		}
	}
	return rec, nil
}

// readRecords reads OSV records from a .tar.gz/.tgz of JSON files, a JSON
// file holding one record, an array, or {"vulns": [...]}.
func readRecords(path string) ([]rawRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []rawRecord
	add := func(raw []byte, where string) error {
		r, err := parseRecord(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if r.ID != "" {
			out = append(out, r)
		}
		return nil
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
				continue
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			if err := add(b, path+": "+h.Name); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	t := bytes.TrimSpace(data)
	switch {
	case len(t) > 0 && t[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(t, &arr); err != nil {
			return nil, err
		}
		for i, r := range arr {
			if err := add(r, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
	default:
		var obj struct {
			Vulns []json.RawMessage `json:"vulns"`
		}
		if err := json.Unmarshal(t, &obj); err != nil {
			return nil, err
		}
		if obj.Vulns == nil {
			return nil, add(t, path)
		}
		for i, r := range obj.Vulns {
			if err := add(r, fmt.Sprintf("%s.vulns[%d]", path, i)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// cmdOSVDB writes DIR/osv-scanner/<Ecosystem>/all.zip: every record goes
// into the zip of each ecosystem its affected[] names, as in osv.dev's
// per-ecosystem exports. A record id seen twice keeps the later file's copy.
func cmdOSVDB(args []string) error {
	fs := flag.NewFlagSet("osvdb", flag.ExitOnError)
	out := fs.String("out", "", "output directory (given to osv-scanner as --local-db-path)")
	fs.Parse(args)
	if *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("osvdb: need -out DIR and feed files")
	}
	byEco := map[string]map[string][]byte{}
	for _, p := range fs.Args() {
		recs, err := readRecords(p)
		if err != nil {
			return err
		}
		for _, r := range recs {
			for _, e := range r.Ecos {
				if byEco[e] == nil {
					byEco[e] = map[string][]byte{}
				}
				byEco[e][r.ID] = r.Raw
			}
		}
	}
	ecos := make([]string, 0, len(byEco))
	for e := range byEco {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	for _, e := range ecos {
		dir := filepath.Join(*out, "osv-scanner", e)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, "all.zip"))
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		ids := make([]string, 0, len(byEco[e]))
		for id := range byEco[e] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			w, err := zw.Create(id + ".json")
			if err != nil {
				return err
			}
			if _, err := w.Write(byEco[e][id]); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("%s: %d records\n", filepath.Join(dir, "all.zip"), len(ids))
	}
	return nil
}

// ---- SBOM copies ----

// osvName gives a file name osv-scanner v2 recognises for the SBOM's format
// (*.spdx.json, *.cdx.json, *.cdx.xml).
func osvName(path string, data []byte) (string, error) {
	base := filepath.Base(path)
	for _, suf := range []string{".spdx.json", ".cdx.json", ".cdx-1.4.json", ".cdx.xml", ".json", ".xml"} {
		if strings.HasSuffix(base, suf) {
			base = strings.TrimSuffix(base, suf)
			break
		}
	}
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	switch {
	case bytes.Contains(head, []byte(`"spdxVersion"`)):
		return base + ".spdx.json", nil
	case bytes.Contains(head, []byte(`"bomFormat"`)):
		return base + ".cdx.json", nil
	case bytes.Contains(head, []byte(`<bom`)):
		return base + ".cdx.xml", nil
	case bytes.Contains(data, []byte(`"spdxVersion"`)):
		return base + ".spdx.json", nil
	case bytes.Contains(data, []byte(`"bomFormat"`)):
		return base + ".cdx.json", nil
	}
	return "", fmt.Errorf("%s: neither SPDX JSON nor CycloneDX: osv-scanner would not read it", path)
}

// distinctTail is trailing whitespace that encodes i in binary: JSON and
// XML parsers ignore it, but the bytes (so the SBOM digest) differ per copy.
func distinctTail(i int) []byte {
	b := []byte{'\n'}
	for bit := 0; bit < 20; bit++ {
		if i&(1<<bit) != 0 {
			b = append(b, '\t')
		} else {
			b = append(b, ' ')
		}
	}
	return append(b, '\n')
}

func cmdCopies(args []string, stage bool) error {
	fs := flag.NewFlagSet("copies", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of copies")
	out := fs.String("out", "", "output directory")
	fs.Parse(args)
	if *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("need -out DIR and SBOM files")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	srcs := fs.Args()
	datas := make([][]byte, len(srcs))
	names := make([]string, len(srcs))
	for i, p := range srcs {
		d, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		datas[i] = d
		if names[i], err = osvName(p, d); err != nil {
			return err
		}
	}
	if stage {
		// One copy each, unchanged bytes; the name keeps its parent
		// directory so that two inputs with the same base name stay apart.
		seen := map[string]string{}
		for i, p := range srcs {
			if first, dup := seen[string(datas[i])]; dup {
				// Safeguard stores a document once (by digest), so a
				// byte-identical second copy would only inflate one side.
				fmt.Fprintf(os.Stderr, "stage: skipping %s: byte-identical to %s\n", p, first)
				continue
			}
			seen[string(datas[i])] = p
			name := filepath.Base(filepath.Dir(p)) + "--" + names[i]
			dst := filepath.Join(*out, name)
			if err := os.WriteFile(dst, datas[i], 0o644); err != nil {
				return err
			}
			fmt.Printf("%s\t%s\n", dst, p)
		}
		return nil
	}
	for i := 0; i < *n; i++ {
		k := i % len(srcs)
		dst := filepath.Join(*out, fmt.Sprintf("%04d-%s", i, names[k]))
		d := append(append([]byte(nil), datas[k]...), distinctTail(i)...)
		if err := os.WriteFile(dst, d, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ---- store import and match ----

func cmdImport(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	db := fs.String("db", "", "store file")
	fs.Parse(args)
	if *db == "" || fs.NArg() == 0 {
		return fmt.Errorf("import: need -db FILE and feed files")
	}
	ctx := context.Background()
	batches, err := bench.LoadFeeds(fs.Args())
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	return bench.ImportFeeds(ctx, st, batches, fs.Args(), time.Now())
}

type matchStats struct {
	OpenSeconds      float64 `json:"open_seconds"`
	ReconcileSeconds float64 `json:"reconcile_seconds"`
	FindingsSeconds  float64 `json:"findings_seconds"`
	TotalSeconds     float64 `json:"match_seconds"` // reconcile + reading all findings
	PackageVersions  int     `json:"package_versions"`
	Candidates       int     `json:"candidates"`
	Opened           int     `json:"opened"`
	Findings         int     `json:"findings"`
	SBOMs            int     `json:"sboms"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
}

func cmdMatch(args []string) error {
	fs := flag.NewFlagSet("match", flag.ExitOnError)
	db := fs.String("db", "", "store file with feeds imported and SBOMs ingested")
	fs.Parse(args)
	if *db == "" {
		return fmt.Errorf("match: need -db FILE")
	}
	ctx := context.Background()
	var s matchStats
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
	t1 := time.Now()
	sum, err := vuln.Reconcile(ctx, st, store.Scope{}, time.Now())
	if err != nil {
		return err
	}
	t2 := time.Now()
	findings, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	t3 := time.Now()
	s.OpenSeconds = t1.Sub(t0).Seconds()
	s.ReconcileSeconds = t2.Sub(t1).Seconds()
	s.FindingsSeconds = t3.Sub(t2).Seconds()
	s.TotalSeconds = t3.Sub(t1).Seconds()
	s.PackageVersions, s.Candidates, s.Opened = sum.Packages, sum.Candidates, sum.Changes.Opened
	s.Findings = len(findings)
	s.PeakRSSBytes = bench.PeakRSS()
	s.GOMAXPROCS = bench.GoMaxProcs()
	return json.NewEncoder(os.Stdout).Encode(s)
}
