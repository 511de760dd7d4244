package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/safeguard-dev/safeguard/store"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/): one rule per
// advisory, one result per finding located at the SBOM it came from.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifText      `json:"shortDescription"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

// sarifRegion is a place in a text file (lint findings point at a line).
type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifPrinter struct{}

func sarifLevel(f store.Finding) string {
	if f.KEV {
		return "error"
	}
	switch f.Severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

func (sarifPrinter) print(w io.Writer, r scanReport) error {
	rules := map[string]sarifRule{}
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "safeguard", InformationURI: "https://github.com/safeguard-dev/safeguard"}}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		if _, ok := rules[f.AdvisoryID]; !ok {
			desc := f.Summary
			if desc == "" {
				desc = f.AdvisoryID
			}
			rules[f.AdvisoryID] = sarifRule{ID: f.AdvisoryID, ShortDescription: sarifText{desc},
				HelpURI:    "https://osv.dev/vulnerability/" + f.AdvisoryID,
				Properties: map[string]any{"security-severity": fmt.Sprintf("%.1f", f.CVSSScore), "tags": []string{"security", "vulnerability"}}}
		}
		fixed := "no fixed version known"
		if len(f.Fixed) > 0 {
			fixed = "fixed in " + strings.Join(f.Fixed, ", ")
		}
		msg := fmt.Sprintf("%s %s is affected by %s (%s); %s", f.Package.Name, f.Package.Version, f.AdvisoryID, severityWord(f), fixed)
		if f.KEV {
			msg += "; listed in the CISA KEV catalog"
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.AdvisoryID, Level: sarifLevel(f), Message: sarifText{msg},
			Locations:  []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.Source}}}},
			Properties: map[string]any{"purl": f.Package.PURL, "kev": f.KEV, "aliases": f.Aliases},
		})
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	run.Tool.Driver.Rules = []sarifRule{}
	for _, id := range ids {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rules[id])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func severityWord(f store.Finding) string {
	if f.Severity == "" {
		return "severity unknown"
	}
	return string(f.Severity)
}
