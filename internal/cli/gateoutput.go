package cli

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/policy"
)

var gateRenderers = map[string]func(io.Writer, gate.Report) error{
	"text":  gateText,
	"json":  gateJSON,
	"sarif": gateSARIF,
	"junit": gateJUnit,
}

// gateText is for people: one block per image, enforce and warn
// violations (audit ones are only logged), what waivers suppressed.
func gateText(w io.Writer, rep gate.Report) error {
	w = printableWriter{w}
	denied := 0
	for _, d := range rep.Decisions {
		verdict := "ALLOW"
		if !d.Allowed() {
			verdict = "DENY "
			denied++
		}
		digest := d.Digest
		if digest == "" {
			digest = "(not resolved)"
		}
		fmt.Fprintf(w, "%s %s\n      digest %s  (%.1f ms)\n", verdict, d.Reference, digest, d.LatencyMS)
		for _, v := range d.Violations {
			switch v.Mode {
			case gate.ModeEnforce:
				fmt.Fprintf(w, "  ✗ %s: %s\n", v.Rule, v.Message)
			case gate.ModeWarn:
				fmt.Fprintf(w, "  ! %s (warning): %s\n", v.Rule, v.Message)
			}
		}
		for _, s := range d.Suppressed {
			until := "permanently"
			if !s.Expires.IsZero() {
				until = policy.ExpiryText(s.Expires)
			}
			fmt.Fprintf(w, "  ~ %s suppressed %s by %s: %s\n", s.Rule, until, s.Owner, s.Message)
		}
		for _, x := range d.ExpiredWaivers {
			fmt.Fprintf(w, "  ~ %s\n", x)
		}
	}
	fmt.Fprintf(w, "policy %s (%s): %d of %d images denied\n", rep.Policy, rep.PolicyHash, denied, len(rep.Decisions))
	return nil
}

func gateJSON(w io.Writer, rep gate.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// gateSARIF: one rule per policy rule violated, one result per violation,
// located at the image reference.
func gateSARIF(w io.Writer, rep gate.Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "safeguard gate", InformationURI: "https://github.com/safeguard-dev/safeguard"}}, Results: []sarifResult{}}
	rules := map[string]bool{}
	for _, d := range rep.Decisions {
		for _, v := range d.Violations {
			level := map[string]string{gate.ModeEnforce: "error", gate.ModeWarn: "warning", gate.ModeAudit: "note"}[v.Mode]
			rules[v.Rule] = true
			run.Results = append(run.Results, sarifResult{RuleID: v.Rule, Level: level, Message: sarifText{v.Message},
				Locations:  []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: d.Reference}}}},
				Properties: map[string]any{"digest": d.Digest, "mode": v.Mode, "verdict": d.Verdict, "policy_hash": d.PolicyHash}})
		}
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	run.Tool.Driver.Rules = []sarifRule{}
	for _, id := range ids {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: id, ShortDescription: sarifText{"policy rule " + id + " of " + rep.Policy}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// JUnit XML: one test case per image; a denied image is a failure whose
// text lists the violations; warnings go to system-out.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func gateJUnit(w io.Writer, rep gate.Report) error {
	s := junitSuite{Name: "safeguard gate: policy " + rep.Policy, Tests: len(rep.Decisions)}
	var total float64
	for _, d := range rep.Decisions {
		total += d.LatencyMS
		c := junitCase{Name: d.Reference, Classname: "safeguard.gate", Time: fmt.Sprintf("%.3f", d.LatencyMS/1000)}
		var enforce, warn []string
		for _, v := range d.Violations {
			line := v.Rule + ": " + v.Message
			switch v.Mode {
			case gate.ModeEnforce:
				enforce = append(enforce, line)
			case gate.ModeWarn:
				warn = append(warn, "warning: "+line)
			}
		}
		if !d.Allowed() {
			s.Failures++
			msg := "denied"
			if len(enforce) > 0 {
				msg = "denied: " + enforce[0]
			}
			c.Failure = &junitFailure{Message: msg, Type: "policy", Text: strings.Join(enforce, "\n")}
		}
		var out []string
		if d.Digest != "" {
			out = append(out, "digest "+d.Digest)
		}
		c.SystemOut = strings.Join(append(out, warn...), "\n")
		s.Cases = append(s.Cases, c)
	}
	s.Time = fmt.Sprintf("%.3f", total/1000)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
