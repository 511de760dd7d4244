package api

import (
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// jsonFinding is one finding. Its field names are the CLI's documented JSON
// shape (internal/cli/output.go, jsonFinding), copied here because api may
// not import internal/cli; keep the two in step. The API adds sbom_id.
type jsonFinding struct {
	Vulnerability  string      `json:"vulnerability"`
	Aliases        []string    `json:"aliases"`
	Summary        string      `json:"summary,omitempty"`
	Package        jsonPackage `json:"package"`
	Fixed          []string    `json:"fixed"`
	Severity       string      `json:"severity"`
	SeverityFrom   string      `json:"severity_from"`
	CVSSScore      *float64    `json:"cvss_score"` // null when no CVSS vector is known: 0.0 is a real score
	CVSSVector     string      `json:"cvss_vector"`
	KEV            bool        `json:"kev"`
	KEVDateAdded   string      `json:"kev_date_added"`
	EPSS           *float64    `json:"epss"`
	EPSSPercentile *float64    `json:"epss_percentile"`
	Source         string      `json:"source"`
	Image          string      `json:"image,omitempty"`
	Via            string      `json:"matched_via"`
	FirstSeen      time.Time   `json:"first_seen"`
	ResolvedAt     *time.Time  `json:"resolved_at,omitempty"`
	SBOMID         int64       `json:"sbom_id"`
}

// jsonPackage is a package as the CLI prints it (internal/cli jsonPackage).
type jsonPackage struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	PURL          string `json:"purl"`
	Ecosystem     string `json:"ecosystem"`
	Release       string `json:"release"`
	SourceName    string `json:"source_name"`
	SourceVersion string `json:"source_version"`
}

// jsonSummary counts a findings list (the CLI's summary, without the scan
// statistics an API listing does not have).
type jsonSummary struct {
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"by_severity"`
	KEV        int            `json:"kev"`
}

func severityName(f store.Finding) string {
	if f.Severity == "" {
		return "unknown"
	}
	return string(f.Severity)
}

func toJSONPackage(p sbom.Package) jsonPackage {
	return jsonPackage{Name: p.Name, Version: p.Version, PURL: p.PURL, Ecosystem: p.Ecosystem,
		Release: p.Release, SourceName: p.SourceName, SourceVersion: p.SourceVersion}
}

func toJSONFinding(f store.Finding) jsonFinding {
	var score *float64
	if f.CVSSVector != "" {
		v := f.CVSSScore
		score = &v
	}
	return jsonFinding{
		Vulnerability: f.AdvisoryID, Aliases: nonNil(f.Aliases), Summary: f.Summary, Package: toJSONPackage(f.Package),
		Fixed: nonNil(f.Fixed), Severity: severityName(f), SeverityFrom: f.SeverityFrom, CVSSScore: score, CVSSVector: f.CVSSVector,
		KEV: f.KEV, KEVDateAdded: f.KEVDateAdded, EPSS: f.EPSS, EPSSPercentile: f.EPSSPercentile,
		Source: f.Source, Image: f.Image, Via: f.Via, FirstSeen: f.FirstSeen, ResolvedAt: f.ResolvedAt, SBOMID: f.SBOMID,
	}
}

// findingsList is the body of every findings endpoint.
type findingsList struct {
	Findings []jsonFinding `json:"findings"`
	Summary  jsonSummary   `json:"summary"`
}

func toFindingsList(fs []store.Finding) findingsList {
	out := findingsList{Findings: make([]jsonFinding, 0, len(fs)), Summary: jsonSummary{Findings: len(fs), BySeverity: map[string]int{}}}
	for _, f := range fs {
		out.Findings = append(out.Findings, toJSONFinding(f))
		out.Summary.BySeverity[severityName(f)]++
		if f.KEV {
			out.Summary.KEV++
		}
	}
	return out
}

// sbomPackage is a package of a given SBOM.
type sbomPackage struct {
	SBOMID int64 `json:"sbom_id"`
	jsonPackage
	Type string `json:"type"`
}

// trajectory is an SBOM's trajectory.
type trajectory struct {
	SBOMID int64                   `json:"sbom_id"`
	Points []store.TrajectoryPoint `json:"points"`
}

// counts is store.Counts with JSON names.
type counts struct {
	SBOMs       int `json:"sboms"`
	Packages    int `json:"packages"`
	Advisories  int `json:"advisories"`
	Withdrawn   int `json:"withdrawn"`
	KEV         int `json:"kev"`
	EPSS        int `json:"epss"`
	OpenMatches int `json:"open_matches"`
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
