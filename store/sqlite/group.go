package sqlite

import (
	"sort"
	"strings"

	"github.com/safeguard-dev/safeguard/store"
)

// groupAliases merges findings of one package in one SBOM that are the same
// vulnerability published by several databases (GO-2023-2102, its GHSA and
// its CVE): advisories are the same when one names the other as an alias or
// both share an alias. Reporting each copy would inflate counts and teach
// people to ignore them.
func groupAliases(fs []store.Finding) []store.Finding {
	type key struct{ sbom, pkg int64 }
	byKey := map[key][]int{}
	var keys []key
	for i, f := range fs {
		k := key{f.SBOMID, f.PackageID}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	out := make([]store.Finding, 0, len(fs))
	for _, k := range keys {
		idx := byKey[k]
		if len(idx) == 1 {
			out = append(out, fs[idx[0]])
			continue
		}
		// Union-find over the findings of this package by shared names.
		parent := make([]int, len(idx))
		for i := range parent {
			parent[i] = i
		}
		var find func(int) int
		find = func(i int) int {
			for parent[i] != i {
				parent[i] = parent[parent[i]]
				i = parent[i]
			}
			return i
		}
		owner := map[string]int{}
		for j, i := range idx {
			for _, name := range append([]string{fs[i].AdvisoryID}, fs[i].Aliases...) {
				if o, ok := owner[name]; ok {
					parent[find(j)] = find(o)
				} else {
					owner[name] = j
				}
			}
		}
		groups := map[int][]int{}
		var roots []int
		for j := range idx {
			r := find(j)
			if _, ok := groups[r]; !ok {
				roots = append(roots, r)
			}
			groups[r] = append(groups[r], idx[j])
		}
		for _, r := range roots {
			out = append(out, merge(fs, groups[r]))
		}
	}
	return out
}

// idRank prefers the ecosystem's own advisory (GO-, PYSEC-, DSA-, …) as the
// primary id, then GHSA, then CVE.
func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 2
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	}
	return 0
}

func merge(fs []store.Finding, members []int) store.Finding {
	if len(members) == 1 {
		return fs[members[0]]
	}
	sort.SliceStable(members, func(a, b int) bool {
		x, y := fs[members[a]], fs[members[b]]
		if idRank(x.AdvisoryID) != idRank(y.AdvisoryID) {
			return idRank(x.AdvisoryID) < idRank(y.AdvisoryID)
		}
		return x.AdvisoryID < y.AdvisoryID
	})
	m := fs[members[0]]
	names := map[string]bool{m.AdvisoryID: true}
	var aliases []string
	addAlias := func(a string) {
		if !names[a] {
			names[a] = true
			aliases = append(aliases, a)
		}
	}
	for _, a := range m.Aliases {
		addAlias(a)
	}
	fixed := append([]string{}, m.Fixed...)
	for _, i := range members[1:] {
		f := fs[i]
		addAlias(f.AdvisoryID)
		for _, a := range f.Aliases {
			addAlias(a)
		}
		for _, v := range f.Fixed {
			if !contains(fixed, v) {
				fixed = append(fixed, v)
			}
		}
		if f.Severity.Rank() > m.Severity.Rank() || (f.Severity.Rank() == m.Severity.Rank() && f.CVSSScore > m.CVSSScore) {
			m.Severity, m.CVSSScore, m.CVSSVector = f.Severity, f.CVSSScore, f.CVSSVector
			m.SeverityFrom = f.SeverityFrom
			if m.SeverityFrom == "" {
				m.SeverityFrom = f.AdvisoryID
			}
		}
		if f.KEV && (!m.KEV || f.KEVDateAdded < m.KEVDateAdded) {
			m.KEV, m.KEVDateAdded = true, f.KEVDateAdded
		}
		if f.EPSS != nil && (m.EPSS == nil || *f.EPSS > *m.EPSS) {
			m.EPSS, m.EPSSPercentile = f.EPSS, f.EPSSPercentile
		}
		if f.FirstSeen.Before(m.FirstSeen) {
			m.FirstSeen = f.FirstSeen
		}
		if m.Summary == "" {
			m.Summary = f.Summary
		}
		if m.ResolvedAt != nil && (f.ResolvedAt == nil || f.ResolvedAt.After(*m.ResolvedAt)) {
			m.ResolvedAt = f.ResolvedAt // the group is open while any member is
		}
	}
	sort.Strings(aliases)
	sort.Strings(fixed)
	m.Aliases, m.Fixed = aliases, fixed
	return m
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
