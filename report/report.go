// Package report holds the JSON shapes users and machines read for
// findings, shared by the CLI (--format json) and the HTTP API so the same
// finding looks the same wherever it is asked for.
package report

import (
	"time"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// Finding is the documented JSON shape of one finding.
type Finding struct {
	Vulnerability  string     `json:"vulnerability"`
	Aliases        []string   `json:"aliases"`
	Summary        string     `json:"summary,omitempty"`
	Package        Package    `json:"package"`
	Fixed          []string   `json:"fixed"`
	Severity       string     `json:"severity"`
	SeverityFrom   string     `json:"severity_from"`
	CVSSScore      *float64   `json:"cvss_score"` // null when no CVSS vector is known: 0.0 is a real score
	CVSSVector     string     `json:"cvss_vector"`
	KEV            bool       `json:"kev"`
	KEVDateAdded   string     `json:"kev_date_added"`
	EPSS           *float64   `json:"epss"`
	EPSSPercentile *float64   `json:"epss_percentile"`
	Source         string     `json:"source"`
	Image          string     `json:"image,omitempty"`
	Via            string     `json:"matched_via"`
	FirstSeen      time.Time  `json:"first_seen"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	SBOMID         int64      `json:"sbom_id"`
	// InBase is true when the base image's SBOM has the package too (the
	// base brought it), false when it does not; absent when the base or
	// its packages are not known.
	InBase *bool `json:"in_base,omitempty"`
}

// Package is a package as findings show it.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	PURL          string `json:"purl"`
	Ecosystem     string `json:"ecosystem"`
	Release       string `json:"release"`
	SourceName    string `json:"source_name"`
	SourceVersion string `json:"source_version"`
}

// Summary counts a findings list.
type Summary struct {
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"by_severity"`
	KEV        int            `json:"kev"`
}

// SeverityName is the rating's name, "unknown" when no database rates it.
func SeverityName(f store.Finding) string {
	if f.Severity == "" {
		return "unknown"
	}
	return string(f.Severity)
}

// NewPackage converts a stored package.
func NewPackage(p sbom.Package) Package {
	return Package{Name: p.Name, Version: p.Version, PURL: p.PURL, Ecosystem: p.Ecosystem,
		Release: p.Release, SourceName: p.SourceName, SourceVersion: p.SourceVersion}
}

// NewFinding converts a stored finding.
func NewFinding(f store.Finding) Finding {
	var score *float64
	if f.CVSSVector != "" {
		v := f.CVSSScore
		score = &v
	}
	return Finding{
		Vulnerability: f.AdvisoryID, Aliases: nonNil(f.Aliases), Summary: f.Summary, Package: NewPackage(f.Package),
		Fixed: nonNil(f.Fixed), Severity: SeverityName(f), SeverityFrom: f.SeverityFrom, CVSSScore: score, CVSSVector: f.CVSSVector,
		KEV: f.KEV, KEVDateAdded: f.KEVDateAdded, EPSS: f.EPSS, EPSSPercentile: f.EPSSPercentile,
		Source: f.Source, Image: f.Image, Via: f.Via, FirstSeen: f.FirstSeen, ResolvedAt: f.ResolvedAt, SBOMID: f.SBOMID,
	}
}

// Summarize counts findings by severity and KEV.
func Summarize(fs []store.Finding) Summary {
	s := Summary{Findings: len(fs), BySeverity: map[string]int{}}
	for _, f := range fs {
		s.BySeverity[SeverityName(f)]++
		if f.KEV {
			s.KEV++
		}
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
