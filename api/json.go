package api

import (
	"github.com/safeguard-dev/safeguard/report"

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
)

// The finding shapes are package report's, shared with the CLI.
type (
	jsonFinding = report.Finding
	jsonPackage = report.Package
	jsonSummary = report.Summary
)

func toJSONPackage(p sbom.Package) jsonPackage { return report.NewPackage(p) }

// findingsList is the body of every findings endpoint.
type findingsList struct {
	Findings []jsonFinding `json:"findings"`
	Summary  jsonSummary   `json:"summary"`
}

func toFindingsList(fs []store.Finding) findingsList {
	out := findingsList{Findings: make([]jsonFinding, 0, len(fs)), Summary: report.Summarize(fs)}
	for _, f := range fs {
		out.Findings = append(out.Findings, report.NewFinding(f))
	}
	return out
}

// sbomPackage is a package of a given SBOM.
type sbomPackage struct {
	SBOMID int64 `json:"sbom_id"`
	jsonPackage
	Type string `json:"type"`
	// FromBase says whether the image's base brought the package; absent
	// when the base's packages are not known.
	FromBase *bool `json:"from_base,omitempty"`
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
