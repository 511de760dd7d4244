package vuln

import (
	"fmt"
	"sort"

	"github.com/safeguard-dev/safeguard/advisory"
)

// Target is the identity of one installed package, as matching needs it.
type Target struct {
	Ecosystem     string // OSV base ecosystem, no release
	Release       string // distro release, for OS packages
	Name          string
	Version       string
	SourceName    string
	SourceVersion string
}

// Candidate is one affected[] entry of an advisory that may apply.
type Candidate struct {
	AdvisoryID string
	Affected   advisory.Affected
}

// Result says that an advisory affects a target.
type Result struct {
	AdvisoryID string
	// Fixed lists the versions that fix it for this target (the next fixed
	// event above the installed version in each range that affects it).
	Fixed []string
	// Via is "package" when the advisory names the package itself and
	// "source" when it names its distro source package.
	Via string
}

// Stats counts what matching could not evaluate; nothing is dropped silently.
type Stats struct {
	GitRangesSkipped int `json:"git_ranges_skipped"`   // GIT ranges carry commits, not versions
	Unparseable      int `json:"unparseable_versions"` // packages with a version the ordering rejects
	NoRelease        int `json:"no_distro_release"`    // OS packages whose distro release is unknown
	Unorderable      int `json:"no_version_ordering"`  // packages of an ecosystem without a version ordering
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.GitRangesSkipped += o.GitRangesSkipped
	s.Unparseable += o.Unparseable
	s.NoRelease += o.NoRelease
	s.Unorderable += o.Unorderable
}

// Index holds candidates by (ecosystem, name key) for fast lookup.
type Index struct {
	m map[string][]Candidate
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{m: map[string][]Candidate{}} }

// LookupKey is the key under which an affected package is indexed.
func LookupKey(base, name string) string { return base + "\x00" + NameKey(base, name) }

// Add indexes every affected entry of a (non-withdrawn) advisory.
func (ix *Index) Add(a advisory.Advisory) {
	for _, aff := range a.Affected {
		ix.AddAffected(a.ID, aff)
	}
}

// AddAffected indexes one affected entry.
func (ix *Index) AddAffected(id string, aff advisory.Affected) {
	e := ParseEcosystem(aff.Package.Ecosystem)
	k := LookupKey(e.Base, aff.Package.Name)
	ix.m[k] = append(ix.m[k], Candidate{AdvisoryID: id, Affected: aff})
}

// Len is the number of indexed (ecosystem, name) keys.
func (ix *Index) Len() int { return len(ix.m) }

// Match returns the advisories affecting t, merged per advisory.
func (ix *Index) Match(t Target) ([]Result, Stats) {
	var st Stats
	distro := IsDistro(t.Ecosystem)
	if distro && t.Release == "" && !releaseless(t.Ecosystem) {
		// Distro advisories are per release (C10, C11): without the release
		// any answer would be a guess.
		st.NoRelease++
		return nil, st
	}
	type probe struct{ name, version, via string }
	probes := []probe{{t.Name, t.Version, "package"}}
	if distro && t.SourceName != "" && t.SourceName != t.Name {
		v := t.SourceVersion
		if v == "" {
			v = t.Version
		}
		probes = append(probes, probe{t.SourceName, v, "source"})
	}
	merged := map[string]*Result{}
	var order []string
	var seen Stats // per comparison; reported once per target below
	for _, p := range probes {
		for _, c := range ix.m[LookupKey(t.Ecosystem, p.name)] {
			eco := ParseEcosystem(c.Affected.Package.Ecosystem)
			if eco.Base != t.Ecosystem {
				continue
			}
			if distro && !releaseless(t.Ecosystem) && eco.Release != t.Release {
				continue
			}
			hit, fixed, s, err := Affects(c.Affected, p.version)
			seen.Add(s)
			if err != nil || !hit {
				continue
			}
			r, ok := merged[c.AdvisoryID]
			if !ok {
				r = &Result{AdvisoryID: c.AdvisoryID, Via: p.via}
				merged[c.AdvisoryID] = r
				order = append(order, c.AdvisoryID)
			}
			r.Fixed = appendUnique(r.Fixed, fixed...)
		}
	}
	// Count targets, not comparisons: one package with an unparseable
	// version is one package not fully evaluated.
	st.GitRangesSkipped = seen.GitRangesSkipped
	if seen.Unparseable > 0 {
		st.Unparseable = 1
	}
	if seen.Unorderable > 0 {
		st.Unorderable = 1
	}
	out := make([]Result, 0, len(order))
	for _, id := range order {
		sort.Strings(merged[id].Fixed)
		out = append(out, *merged[id])
	}
	return out, st
}

func appendUnique(list []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, l := range list {
			if l == m {
				found = true
				break
			}
		}
		if !found {
			list = append(list, m)
		}
	}
	return list
}

// Affects evaluates one affected entry against an installed version with
// OSV semantics. It returns the fix versions of the ranges that hit.
func Affects(aff advisory.Affected, installed string) (bool, []string, Stats, error) {
	var st Stats
	eco := ParseEcosystem(aff.Package.Ecosystem)
	for _, v := range aff.Versions {
		if v == installed {
			return true, nil, st, nil
		}
	}
	hit := false
	var fixed []string
	var firstErr error
	for _, r := range aff.Ranges {
		ordering := eco.Base
		switch r.Type {
		case advisory.RangeGit:
			st.GitRangesSkipped++
			continue
		case advisory.RangeSemver:
			if ordering != "Go" {
				ordering = "npm" // plain SemVer 2.0
			}
		case advisory.RangeEcosystem:
		default:
			st.Unparseable++
			continue
		}
		ok, fix, err := inRange(ordering, r.Events, installed)
		if err != nil {
			if isUnorderable(err) {
				st.Unorderable++
			} else {
				st.Unparseable++
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			hit = true
			if fix != "" {
				fixed = append(fixed, fix)
			}
		}
	}
	if !hit && len(aff.Versions) > 0 && len(fixed) == 0 {
		// Compare listed versions by ordering too: "1.0" and "1.0.0" are one
		// PyPI version. Only when the string match above missed.
		iv, err := ParseVersion(eco.Base, installed)
		if err == nil {
			for _, v := range aff.Versions {
				lv, err := ParseVersion(eco.Base, v)
				if err != nil {
					continue
				}
				if c, err := iv.Compare(lv); err == nil && c == 0 {
					return true, nil, st, nil
				}
			}
		}
	}
	if !hit && firstErr != nil {
		return false, nil, st, firstErr
	}
	return hit, fixed, st, nil
}

func isUnorderable(err error) bool {
	for e := err; e != nil; {
		if e == ErrUnorderable {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

type event struct {
	kind string // introduced, fixed, last_affected, limit
	raw  string
	v    Version
	zero bool // introduced "0": below every version
}

// inRange applies the OSV evaluation algorithm to one range: sort events by
// version, then walk them, turning "vulnerable" on at introduced and off at
// fixed (exclusive) or past last_affected (inclusive). A limit caps the range.
func inRange(ordering string, evs []advisory.Event, installed string) (bool, string, error) {
	iv, err := ParseVersion(ordering, installed)
	if err != nil {
		return false, "", fmt.Errorf("installed version: %w", err)
	}
	events := make([]event, 0, len(evs))
	for _, e := range evs {
		var ev event
		switch {
		case e.Introduced != "":
			ev = event{kind: "introduced", raw: e.Introduced}
		case e.Fixed != "":
			ev = event{kind: "fixed", raw: e.Fixed}
		case e.LastAffected != "":
			ev = event{kind: "last_affected", raw: e.LastAffected}
		case e.Limit != "":
			ev = event{kind: "limit", raw: e.Limit}
		default:
			continue
		}
		if ev.raw == "0" && ev.kind == "introduced" {
			ev.zero = true
		} else if ev.raw == "*" && ev.kind == "limit" {
			continue // "*" means no limit
		} else {
			ev.v, err = ParseVersion(ordering, ev.raw)
			if err != nil {
				return false, "", fmt.Errorf("%s event: %w", ev.kind, err)
			}
		}
		events = append(events, ev)
	}
	var sortErr error
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if a.zero || b.zero {
			return a.zero && !b.zero
		}
		c, err := a.v.Compare(b.v)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		if c != 0 {
			return c < 0
		}
		return a.kind == "introduced" && b.kind != "introduced"
	})
	if sortErr != nil {
		return false, "", sortErr
	}
	cmp := func(e event) int {
		if e.zero {
			return 1
		}
		c, _ := iv.Compare(e.v)
		return c
	}
	vulnerable := false
	for _, e := range events {
		switch e.kind {
		case "introduced":
			if cmp(e) >= 0 {
				vulnerable = true
			}
		case "fixed":
			if cmp(e) >= 0 {
				vulnerable = false
			}
		case "last_affected":
			if cmp(e) > 0 {
				vulnerable = false
			}
		case "limit":
			if cmp(e) >= 0 {
				vulnerable = false
			}
		}
	}
	if !vulnerable {
		return false, "", nil
	}
	// The fix for this installed version: the lowest fixed event above it.
	for _, e := range events {
		if e.kind == "fixed" && cmp(e) < 0 {
			return true, e.raw, nil
		}
	}
	return true, "", nil
}
