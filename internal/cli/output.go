package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/safeguard-dev/safeguard/report"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vuln"
)

// scanReport is what scan and findings print.
type scanReport struct {
	SBOMs     []store.IngestResult
	Findings  []store.Finding
	Stats     vuln.Stats
	Uncovered []uncoveredEcosystem
}

type printer interface {
	print(w io.Writer, r scanReport) error
}

func newPrinter(format string) (printer, error) {
	switch format {
	case "table", "":
		return tablePrinter{}, nil
	case "json":
		return jsonPrinter{}, nil
	case "sarif":
		return sarifPrinter{}, nil
	}
	return nil, fmt.Errorf("unknown --format %q: want table, json or sarif", format)
}

type jsonSBOM struct {
	Source        string `json:"source"`
	Format        string `json:"format"`
	FormatVersion string `json:"format_version"`
	Distro        string `json:"distro,omitempty"`
	Packages      int    `json:"packages"`
	Unidentified  int    `json:"unidentified"`
}

type jsonSummary struct {
	report.Summary
	NotMatched *vuln.Stats `json:"not_evaluated,omitempty"`
	// Uncovered lists packages of ecosystems no loaded feed covers.
	Uncovered []uncoveredEcosystem `json:"uncovered,omitempty"`
}

func summarize(r scanReport) jsonSummary {
	s := jsonSummary{Summary: report.Summarize(r.Findings)}
	s.Uncovered = r.Uncovered
	if r.Stats != (vuln.Stats{}) {
		st := r.Stats
		s.NotMatched = &st
	}
	return s
}

type jsonPrinter struct{}

func (jsonPrinter) print(w io.Writer, r scanReport) error {
	out := struct {
		SBOMs    []jsonSBOM       `json:"sboms,omitempty"`
		Findings []report.Finding `json:"findings"`
		Summary  jsonSummary      `json:"summary"`
	}{Findings: make([]report.Finding, 0, len(r.Findings)), Summary: summarize(r)}
	for _, s := range r.SBOMs {
		out.SBOMs = append(out.SBOMs, jsonSBOM{Source: s.SBOM.Source, Format: s.SBOM.Format, FormatVersion: s.SBOM.FormatVersion,
			Distro: s.SBOM.Distro, Packages: s.SBOM.Packages, Unidentified: s.SBOM.Unidentified})
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, report.NewFinding(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type tablePrinter struct{}

func (tablePrinter) print(w io.Writer, r scanReport) error {
	for _, s := range r.SBOMs {
		distro := ""
		if s.SBOM.Distro != "" {
			distro = ", " + s.SBOM.Distro
		}
		fmt.Fprintf(w, "%s: %s %s%s, %d packages", s.SBOM.Source, s.SBOM.Format, s.SBOM.FormatVersion, distro, s.SBOM.Packages)
		if s.SBOM.Unidentified > 0 {
			fmt.Fprintf(w, " (%d without a usable identity, not matched)", s.SBOM.Unidentified)
		}
		fmt.Fprintln(w)
	}
	if len(r.SBOMs) > 0 {
		fmt.Fprintln(w)
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No findings.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tKEV\tEPSS\tPACKAGE\tVERSION\tFIXED IN\tVULNERABILITY\tCVE\tSOURCE")
		for _, f := range r.Findings {
			sev := strings.ToUpper(string(f.Severity))
			if sev == "" {
				sev = "UNKNOWN"
			}
			kev := ""
			if f.KEV {
				kev = "KEV"
			}
			epss := ""
			if f.EPSS != nil {
				epss = fmt.Sprintf("%.3f", *f.EPSS)
			}
			fixed := strings.Join(f.Fixed, ", ")
			if fixed == "" {
				fixed = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sev, kev, epss, f.Package.Name, f.Package.Version, fixed, f.AdvisoryID, firstCVE(f), f.Source)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	s := summarize(r)
	keys := make([]string, 0, len(s.BySeverity))
	for k := range s.BySeverity {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return sevOrder(keys[i]) > sevOrder(keys[j]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", s.BySeverity[k], k))
	}
	fmt.Fprintf(w, "\n%d findings", s.Findings)
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, ", %d in the CISA KEV catalog\n", s.KEV)
	if st := r.Stats; st.NoRelease+st.Unparseable+st.Unorderable > 0 {
		fmt.Fprintf(w, "not fully evaluated: %d OS packages without a distro release, %d packages with an unparseable version, %d packages of ecosystems without a version ordering\n",
			st.NoRelease, st.Unparseable, st.Unorderable)
	}
	return nil
}

func sevOrder(s string) int {
	switch s {
	case "critical":
		return 5
	case "high":
		return 4
	case "medium":
		return 3
	case "low":
		return 2
	case "none":
		return 1
	}
	return 0
}

func firstCVE(f store.Finding) string {
	if strings.HasPrefix(f.AdvisoryID, "CVE-") {
		return f.AdvisoryID
	}
	for _, a := range f.Aliases {
		if strings.HasPrefix(a, "CVE-") {
			return a
		}
	}
	return ""
}
