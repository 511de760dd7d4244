package feed

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
)

// suffixRule says whether an ecosystem string may carry a ":<release>"
// suffix. Only the base names are strict: suffix spellings vary between
// feeds (Ubuntu alone has ":Pro:", ":FIPS…:" and ":LTS" variants), and
// rejecting a real spelling would fail a whole import, so suffixes are only
// checked where the OSV schema fixes a shape.
type suffixRule struct {
	suffix  int            // suffixNone, suffixOptional or suffixRequired
	pattern *regexp.Regexp // optional shape for the suffix
}

const (
	suffixNone = iota
	suffixOptional
	suffixRequired
)

// ecosystems is the OSV schema's ecosystem list (ossf/osv-schema
// ecosystems.json, schema 1.7.x, plus later additions used on osv.dev). It
// is the one table of known ecosystems; it is never written after init.
var ecosystems = map[string]suffixRule{
	// Language and application ecosystems: no release suffix.
	"Bioconductor":   {},
	"ConanCenter":    {},
	"CRAN":           {},
	"crates.io":      {},
	"GHC":            {},
	"GitHub Actions": {},
	"Go":             {},
	"Hackage":        {},
	"Hex":            {},
	"Julia":          {},
	"npm":            {},
	"NuGet":          {},
	"opam":           {},
	"Packagist":      {},
	"Pub":            {},
	"PyPI":           {},
	"RubyGems":       {},
	"SwiftURL":       {},
	"VSCode":         {},
	// Maven may name its remote repository ("Maven:https://maven.google.com").
	"Maven": {suffix: suffixOptional},
	// Projects and vendors.
	"Android":    {suffix: suffixOptional},
	"Bitnami":    {suffix: suffixOptional},
	"Kubernetes": {suffix: suffixOptional},
	"Linux":      {suffix: suffixOptional},
	"OSS-Fuzz":   {suffix: suffixOptional},
	// Distributions and hardened images.
	"AlmaLinux":                    {suffix: suffixOptional},
	"Alpaquita":                    {suffix: suffixOptional},
	"Alpine":                       {suffix: suffixRequired, pattern: regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)},
	"Azure Linux":                  {suffix: suffixOptional},
	"BellSoft Hardened Containers": {suffix: suffixOptional},
	"Chainguard":                   {suffix: suffixOptional},
	"CleanStart":                   {suffix: suffixOptional},
	"Debian":                       {suffix: suffixOptional},
	"Echo":                         {suffix: suffixOptional},
	"Mageia":                       {suffix: suffixRequired},
	"MinimOS":                      {suffix: suffixOptional},
	"openEuler":                    {suffix: suffixOptional},
	"openSUSE":                     {suffix: suffixOptional},
	"Photon OS":                    {suffix: suffixRequired},
	"Red Hat":                      {suffix: suffixRequired},
	"Rocky Linux":                  {suffix: suffixOptional},
	"Root":                         {suffix: suffixOptional},
	"SUSE":                         {suffix: suffixOptional},
	"Ubuntu":                       {suffix: suffixRequired},
	"Wolfi":                        {suffix: suffixOptional},
}

// KnownEcosystem reports whether s is an OSV ecosystem string this package
// accepts: a base name from the schema's list, with a release suffix where
// that ecosystem takes one ("Debian:12", "Ubuntu:Pro:18.04:LTS",
// "Alpine:v3.19", "Red Hat:enterprise_linux:8::appstream").
func KnownEcosystem(s string) bool { return checkEcosystem(s) == nil }

func checkEcosystem(s string) error {
	base, suffix, hasSuffix := strings.Cut(s, ":")
	rule, ok := ecosystems[base]
	if !ok {
		return fmt.Errorf("unknown ecosystem %q", s)
	}
	switch {
	case hasSuffix && rule.suffix == suffixNone:
		return fmt.Errorf("unknown ecosystem %q: %s takes no release suffix", s, base)
	case !hasSuffix && rule.suffix == suffixRequired:
		return fmt.Errorf("ecosystem %q needs a release suffix (%s:<release>)", s, base)
	case hasSuffix && strings.TrimSpace(suffix) == "":
		return fmt.Errorf("ecosystem %q has an empty release suffix", s)
	case hasSuffix && rule.pattern != nil && !rule.pattern.MatchString(suffix):
		return fmt.Errorf("ecosystem %q: release suffix %q does not match %s", s, suffix, rule.pattern)
	}
	return nil
}

// Validate checks one OSV record against the rules a matcher relies on:
// an id, a known ecosystem for every named package, known range types, and
// well-formed events (at least one per range; an introduced event in SEMVER
// and ECOSYSTEM ranges; exactly one field per event; no range mixing fixed
// and last_affected, which the schema forbids because the two disagree on
// whether the bound is affected). Severity entries are not checked: an
// unparsable vector only makes Score fall back to another source.
//
// Errors wrap ErrInvalidRecord and read "record ID: affected[i]: …".
func Validate(a advisory.Advisory) error {
	if err := validate(a); err != nil {
		id := a.ID
		if id == "" {
			id = "(no id)"
		}
		return errorf(ErrInvalidRecord, "record %s: %s", id, err)
	}
	return nil
}

func validate(a advisory.Advisory) error {
	if strings.TrimSpace(a.ID) == "" {
		return fmt.Errorf("missing id")
	}
	if strings.ContainsFunc(a.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("id %q contains whitespace or control characters", a.ID)
	}
	for _, ts := range []struct {
		name string
		t    *time.Time
	}{{"modified", &a.Modified}, {"published", a.Published}, {"withdrawn", a.Withdrawn}} {
		// Outside years 0–9999 in UTC a time has no RFC 3339 form, so the
		// record could not be stored or hashed canonically.
		if ts.t != nil && (ts.t.UTC().Year() < 0 || ts.t.UTC().Year() > 9999) {
			return fmt.Errorf("%s %v is out of range", ts.name, *ts.t)
		}
	}
	for i, af := range a.Affected {
		if err := validateAffected(af); err != nil {
			return fmt.Errorf("affected[%d]: %s", i, err)
		}
	}
	return nil
}

func validateAffected(af advisory.Affected) error {
	p := af.Package
	switch {
	case p.Ecosystem == "" && p.Name == "":
		// Package-less entries are legal OSV (git-only ranges, e.g.
		// OSS-Fuzz); they just never match a package.
		if len(af.Ranges) == 0 && len(af.Versions) == 0 {
			return fmt.Errorf("neither package nor ranges nor versions")
		}
	case p.Ecosystem == "":
		return fmt.Errorf("package %q has no ecosystem", p.Name)
	case p.Name == "":
		return fmt.Errorf("package in ecosystem %q has no name", p.Ecosystem)
	default:
		if err := checkEcosystem(p.Ecosystem); err != nil {
			return err
		}
	}
	for j, r := range af.Ranges {
		if err := validateRange(r); err != nil {
			return fmt.Errorf("ranges[%d]: %s", j, err)
		}
	}
	return nil
}

func validateRange(r advisory.Range) error {
	switch r.Type {
	case advisory.RangeSemver, advisory.RangeEcosystem:
	case advisory.RangeGit:
		if r.Repo == "" {
			return fmt.Errorf("GIT range without repo")
		}
	case "":
		return fmt.Errorf("range has no type")
	default:
		return fmt.Errorf("unknown range type %q", r.Type)
	}
	if len(r.Events) == 0 {
		return fmt.Errorf("%s range has no events", r.Type)
	}
	var introduced, fixed, lastAffected bool
	for k, e := range r.Events {
		n := 0
		for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("events[%d]: want exactly one of introduced, fixed, last_affected, limit with a value, found %d", k, n)
		}
		introduced = introduced || e.Introduced != ""
		fixed = fixed || e.Fixed != ""
		lastAffected = lastAffected || e.LastAffected != ""
	}
	if !introduced && r.Type != advisory.RangeGit {
		return fmt.Errorf("%s range has no introduced event", r.Type)
	}
	if fixed && lastAffected {
		return fmt.Errorf("range mixes fixed and last_affected events")
	}
	return nil
}
