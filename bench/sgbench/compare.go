package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// unionFind groups advisory ids that are aliases of each other.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	for {
		p, ok := u[x]
		if !ok {
			u[x] = x
			return x
		}
		if p == x {
			return x
		}
		gp := u[p]
		u[x] = gp
		x = p
	}
}

// union joins two groups; the root is the smaller id, so keys are stable.
func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u[rb] = ra
}

func (u unionFind) members() map[string][]string {
	m := map[string][]string{}
	for x := range u {
		r := u.find(x)
		m[r] = append(m[r], x)
	}
	for _, v := range m {
		sort.Strings(v)
	}
	return m
}

type finding struct {
	SBOM, Ecosystem, Name, Version string
	IDs                            []string // as reported by the tool
}

type key struct{ SBOM, Name, Version, Group string }

// normVersion drops the leading "v" Go versions carry in SBOMs and purls.
func normVersion(eco, v string) string {
	if strings.EqualFold(eco, "Go") || strings.EqualFold(eco, "golang") {
		return strings.TrimPrefix(v, "v")
	}
	return v
}

func readSafeguard(path string, names map[string]string) ([]finding, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Findings []struct {
			Vulnerability string   `json:"vulnerability"`
			Aliases       []string `json:"aliases"`
			Source        string   `json:"source"`
			Package       struct {
				Name, Version, Ecosystem string
			} `json:"package"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []finding
	for _, f := range doc.Findings {
		out = append(out, finding{SBOM: sbomName(f.Source, names), Ecosystem: f.Package.Ecosystem, Name: f.Package.Name,
			Version: f.Package.Version, IDs: append([]string{f.Vulnerability}, f.Aliases...)})
	}
	return out, nil
}

func readOSVScanner(path string, names map[string]string) ([]finding, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Results []struct {
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
			Packages []struct {
				Package struct {
					Name, Version, Ecosystem string
				} `json:"package"`
				Vulnerabilities []struct {
					ID      string   `json:"id"`
					Aliases []string `json:"aliases"`
				} `json:"vulnerabilities"`
				Groups []struct {
					IDs     []string `json:"ids"`
					Aliases []string `json:"aliases"`
				} `json:"groups"`
			} `json:"packages"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []finding
	for _, r := range doc.Results {
		for _, p := range r.Packages {
			aliases := map[string][]string{}
			for _, v := range p.Vulnerabilities {
				aliases[v.ID] = v.Aliases
			}
			for _, v := range p.Vulnerabilities {
				ids := append([]string{v.ID}, aliases[v.ID]...)
				// osv-scanner's own grouping counts as alias evidence too.
				for _, g := range p.Groups {
					for _, gid := range g.IDs {
						if gid == v.ID {
							ids = append(ids, g.IDs...)
							ids = append(ids, g.Aliases...)
						}
					}
				}
				out = append(out, finding{SBOM: sbomName(r.Source.Path, names), Ecosystem: p.Package.Ecosystem,
					Name: p.Package.Name, Version: p.Package.Version, IDs: ids})
			}
		}
	}
	return out, nil
}

// sbomName maps a scanned path back to the input it was staged from.
func sbomName(p string, names map[string]string) string {
	if n, ok := names[filepath.Base(p)]; ok {
		return n
	}
	return filepath.Base(p)
}

// readNames reads the "staged-path<TAB>original" lines sgbench stage printed.
func readNames(path string) (map[string]string, error) {
	m := map[string]string{}
	if path == "" {
		return m, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		staged, orig, ok := strings.Cut(line, "\t")
		if ok {
			m[filepath.Base(staged)] = orig
		}
	}
	return m, nil
}

func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	sgPath := fs.String("safeguard", "", "safeguard scan --format json output")
	osvPath := fs.String("osv", "", "osv-scanner --format json output")
	namesPath := fs.String("names", "", "staged-name map from 'sgbench stage'")
	jsonOut := fs.String("json", "", "also write the normalised comparison here")
	fs.Parse(args)
	names, err := readNames(*namesPath)
	if err != nil {
		return err
	}
	sg, err := readSafeguard(*sgPath, names)
	if err != nil {
		return err
	}
	osv, err := readOSVScanner(*osvPath, names)
	if err != nil {
		return err
	}
	// Alias groups: every feed record's id and aliases, plus whatever
	// aliases either tool reported.
	uf := unionFind{}
	for _, p := range fs.Args() {
		recs, err := readRecords(p)
		if err != nil {
			return err
		}
		for _, r := range recs {
			uf.find(r.ID)
			for _, a := range r.Aliases {
				uf.union(r.ID, a)
			}
		}
	}
	for _, side := range [][]finding{sg, osv} {
		for _, f := range side {
			for _, id := range f.IDs[1:] {
				uf.union(f.IDs[0], id)
			}
		}
	}
	type entry struct {
		f   finding
		ids map[string]bool
	}
	norm := func(side []finding) map[key]*entry {
		m := map[key]*entry{}
		for _, f := range side {
			k := key{SBOM: f.SBOM, Name: f.Name, Version: normVersion(f.Ecosystem, f.Version), Group: uf.find(f.IDs[0])}
			e := m[k]
			if e == nil {
				e = &entry{f: f, ids: map[string]bool{}}
				m[k] = e
			}
			e.ids[f.IDs[0]] = true
		}
		return m
	}
	a, b := norm(sg), norm(osv)
	idList := func(e *entry) string {
		var xs []string
		for id := range e.ids {
			xs = append(xs, id)
		}
		sort.Strings(xs)
		return strings.Join(xs, ",")
	}
	members := uf.members()
	alias := func(k key) string {
		var cves []string
		for _, m := range members[k.Group] {
			if strings.HasPrefix(m, "CVE-") {
				cves = append(cves, m)
			}
		}
		return strings.Join(cves, ",")
	}
	only := func(x, y map[key]*entry) []key {
		var ks []key
		for k := range x {
			if y[k] == nil {
				ks = append(ks, k)
			}
		}
		sort.Slice(ks, func(i, j int) bool {
			if ks[i].SBOM != ks[j].SBOM {
				return ks[i].SBOM < ks[j].SBOM
			}
			if ks[i].Name != ks[j].Name {
				return ks[i].Name < ks[j].Name
			}
			if ks[i].Version != ks[j].Version {
				return ks[i].Version < ks[j].Version
			}
			return ks[i].Group < ks[j].Group
		})
		return ks
	}
	onlySG, onlyOSV := only(a, b), only(b, a)
	common := len(a) - len(onlySG)

	perSBOM := map[string][3]int{}
	for k := range a {
		c := perSBOM[k.SBOM]
		c[0]++
		perSBOM[k.SBOM] = c
	}
	for k := range b {
		c := perSBOM[k.SBOM]
		c[1]++
		if a[k] != nil {
			c[2]++
		}
		perSBOM[k.SBOM] = c
	}
	fmt.Printf("raw findings: safeguard %d, osv-scanner %d (osv-scanner lists every alias record it matched, Safeguard one finding per advisory)\n", len(sg), len(osv))
	fmt.Printf("findings by (sbom, package, version, alias group): safeguard %d, osv-scanner %d, both %d, only safeguard %d, only osv-scanner %d\n\n",
		len(a), len(b), common, len(onlySG), len(onlyOSV))
	var sboms []string
	for s := range perSBOM {
		sboms = append(sboms, s)
	}
	sort.Strings(sboms)
	fmt.Printf("%-90s %9s %11s %6s\n", "sbom", "safeguard", "osv-scanner", "both")
	for _, s := range sboms {
		c := perSBOM[s]
		fmt.Printf("%-90s %9d %11d %6d\n", s, c[0], c[1], c[2])
	}
	print := func(title string, ks []key, m map[key]*entry) {
		fmt.Printf("\n%s (%d):\n", title, len(ks))
		for _, k := range ks {
			fmt.Printf("  %s  %s@%s  %s  [%s]\n", k.SBOM, k.Name, m[k].f.Version, idList(m[k]), alias(k))
		}
	}
	print("only Safeguard reports", onlySG, a)
	print("only osv-scanner reports", onlyOSV, b)
	if *jsonOut != "" {
		type row struct {
			SBOM, Package, Version, IDs, CVEs string
		}
		var rep struct {
			Safeguard, OSVScanner, Both   int
			OnlySafeguard, OnlyOSVScanner []row
		}
		rep.Safeguard, rep.OSVScanner, rep.Both = len(a), len(b), common
		for _, k := range onlySG {
			rep.OnlySafeguard = append(rep.OnlySafeguard, row{k.SBOM, k.Name, a[k].f.Version, idList(a[k]), alias(k)})
		}
		for _, k := range onlyOSV {
			rep.OnlyOSVScanner = append(rep.OnlyOSVScanner, row{k.SBOM, k.Name, b[k].f.Version, idList(b[k]), alias(k)})
		}
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
