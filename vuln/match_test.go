package vuln

import (
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
)

// rng builds an ECOSYSTEM range from alternating event kinds and versions:
// rng("introduced", "0", "fixed", "1.2").
func rng(typ string, kv ...string) advisory.Range {
	r := advisory.Range{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		var e advisory.Event
		switch kv[i] {
		case "introduced":
			e.Introduced = kv[i+1]
		case "fixed":
			e.Fixed = kv[i+1]
		case "last_affected":
			e.LastAffected = kv[i+1]
		case "limit":
			e.Limit = kv[i+1]
		}
		r.Events = append(r.Events, e)
	}
	return r
}

func adv(id, eco, name string, ranges ...advisory.Range) advisory.Advisory {
	return advisory.Advisory{ID: id, Affected: []advisory.Affected{{
		Package: advisory.Package{Ecosystem: eco, Name: name}, Ranges: ranges,
	}}}
}

// TestRealWorldMatching runs every matching case of
// ../shared/cases/real-world.md (sections A–H, O) with its right answer.
func TestRealWorldMatching(t *testing.T) {
	eco := advisory.RangeEcosystem
	cases := []struct {
		id    string
		pkg   Target
		advs  []advisory.Advisory
		want  map[string]bool // advisory id → affected
		fixed map[string]string
	}{
		{id: "C01 epoch dominates",
			pkg:  Target{Ecosystem: "Debian", Release: "13", Name: "vim", Version: "2:9.1.0016-1", SourceName: "vim"},
			advs: []advisory.Advisory{adv("A", "Debian:13", "vim", rng(eco, "introduced", "0", "fixed", "8.4.0"))},
			want: map[string]bool{"A": false}},
		{id: "C02 equal to fixed (git)",
			pkg:  Target{Ecosystem: "Debian", Release: "13", Name: "git", Version: "1:2.47.3-0+deb13u1", SourceName: "git"},
			advs: []advisory.Advisory{adv("A", "Debian:13", "git", rng(eco, "introduced", "0", "fixed", "1:2.47.3-0+deb13u1"))},
			want: map[string]bool{"A": false}},
		{id: "C02 equal to fixed (expat via source)",
			pkg:  Target{Ecosystem: "Debian", Release: "13", Name: "libexpat1", Version: "2.7.1-2", SourceName: "expat"},
			advs: []advisory.Advisory{adv("A", "Debian:13", "expat", rng(eco, "introduced", "0", "fixed", "2.7.1-2"))},
			want: map[string]bool{"A": false}},
		{id: "C02 equal to fixed (curl)",
			pkg:  Target{Ecosystem: "Debian", Release: "13", Name: "curl", Version: "8.14.1-2+deb13u2", SourceName: "curl"},
			advs: []advisory.Advisory{adv("A", "Debian:13", "curl", rng(eco, "introduced", "0", "fixed", "8.14.1-2+deb13u2"))},
			want: map[string]bool{"A": false}},
		{id: "C04 ubuntu backport vs rc",
			pkg:  Target{Ecosystem: "Ubuntu", Release: "18.04", Name: "python2.7", Version: "2.7.15-4ubuntu4~18.04"},
			advs: []advisory.Advisory{adv("A", "Ubuntu:18.04:LTS", "python2.7", rng(eco, "introduced", "0", "fixed", "2.7.15~rc1-1ubuntu0.1"))},
			want: map[string]bool{"A": false}},
		{id: "C05 ~git older than git",
			pkg:  Target{Ecosystem: "Ubuntu", Release: "14.04", Name: "libasn1-8-heimdal", Version: "1.6~git20131207+dfsg-1ubuntu1.2", SourceName: "heimdal"},
			advs: []advisory.Advisory{adv("A", "Ubuntu:14.04:LTS", "heimdal", rng(eco, "introduced", "0", "fixed", "1.6git20120311.dfsg.1-2"))},
			want: map[string]bool{"A": true}, fixed: map[string]string{"A": "1.6git20120311.dfsg.1-2"}},
		{id: "C07 binary via source",
			pkg:  Target{Ecosystem: "Debian", Release: "13", Name: "perl-base", Version: "5.40.1-6", SourceName: "perl"},
			advs: []advisory.Advisory{adv("A", "Debian:13", "perl", rng(eco, "introduced", "0", "fixed", "5.40.1-7"))},
			want: map[string]bool{"A": true}, fixed: map[string]string{"A": "5.40.1-7"}},
		{id: "C08 ESM fix above base revision",
			pkg:  Target{Ecosystem: "Ubuntu", Release: "16.04", Name: "systemd", Version: "229-4ubuntu21.31"},
			advs: []advisory.Advisory{adv("A", "Ubuntu:Pro:16.04:LTS", "systemd", rng(eco, "introduced", "0", "fixed", "229-4ubuntu21.31+esm1"))},
			want: map[string]bool{"A": true}},
		{id: "C10 own release entry",
			pkg: Target{Ecosystem: "Ubuntu", Release: "20.04", Name: "unzip", Version: "6.0-25ubuntu1"},
			advs: []advisory.Advisory{{ID: "A", Affected: []advisory.Affected{
				{Package: advisory.Package{Ecosystem: "Ubuntu:18.04:LTS", Name: "unzip"}, Ranges: []advisory.Range{rng(eco, "introduced", "0", "fixed", "6.0-21ubuntu1.2")}},
				{Package: advisory.Package{Ecosystem: "Ubuntu:20.04:LTS", Name: "unzip"}, Ranges: []advisory.Range{rng(eco, "introduced", "0", "fixed", "6.0-25ubuntu1.1")}},
				{Package: advisory.Package{Ecosystem: "Ubuntu:22.04:LTS", Name: "unzip"}, Ranges: []advisory.Range{rng(eco, "introduced", "0", "fixed", "6.0-26ubuntu3.1")}},
			}}},
			want: map[string]bool{"A": true}, fixed: map[string]string{"A": "6.0-25ubuntu1.1"}},
		{id: "C11 never another distro",
			pkg: Target{Ecosystem: "Ubuntu", Release: "20.04", Name: "zlib1g-dev", Version: "1:1.2.11.dfsg-2ubuntu4", SourceName: "zlib"},
			advs: []advisory.Advisory{
				adv("RH", "Red Hat:enterprise_linux:8::baseos", "zlib", rng(eco, "introduced", "0", "fixed", "0:1.2.11-18.el8_5")),
				adv("DEB", "Debian:11", "zlib", rng(eco, "introduced", "0", "fixed", "1:1.2.13.dfsg-1")),
			},
			want: map[string]bool{"RH": false, "DEB": false}},
		{id: "C12 apk rc lower than release",
			pkg:  Target{Ecosystem: "Alpine", Release: "3.11", Name: "jq", Version: "1.6-r0"},
			advs: []advisory.Advisory{adv("A", "Alpine:v3.11", "jq", rng(eco, "introduced", "0", "fixed", "1.6_rc1-r0"))},
			want: map[string]bool{"A": false}},
		{id: "C14 apk origin",
			pkg:  Target{Ecosystem: "Alpine", Release: "3.19", Name: "libcrypto3", Version: "3.1.4-r0", SourceName: "openssl"},
			advs: []advisory.Advisory{adv("A", "Alpine:v3.19", "openssl", rng(eco, "introduced", "0", "fixed", "3.1.4-r1"))},
			want: map[string]bool{"A": true}},
		{id: "C15 old branch advisory",
			pkg:  Target{Ecosystem: "Alpine", Release: "3.22", Name: "openssl", Version: "3.5.7-r0"},
			advs: []advisory.Advisory{adv("A", "Alpine:v3.22", "openssl", rng(eco, "introduced", "0", "fixed", "3.0.3-r0"))},
			want: map[string]bool{"A": false}},
		{id: "C17 rpm epoch",
			pkg: Target{Ecosystem: "Red Hat", Release: "8", Name: "dbus", Version: "1:1.12.8-18.el8"},
			advs: []advisory.Advisory{
				adv("A", "Red Hat:enterprise_linux:8::baseos", "dbus", rng(eco, "introduced", "0", "fixed", "1:1.12.8-10.el8_2")),
				adv("B", "Red Hat:enterprise_linux:8::baseos", "dbus", rng(eco, "introduced", "0", "fixed", "1:1.12.8-9.el8")),
			},
			want: map[string]bool{"A": false, "B": false}},
		{id: "C18 el8 vs el8_3",
			pkg:  Target{Ecosystem: "Red Hat", Release: "8", Name: "libfoo", Version: "2.5-1.el8"},
			advs: []advisory.Advisory{adv("A", "Red Hat:enterprise_linux:8::appstream", "libfoo", rng(eco, "introduced", "0", "fixed", "2.5-1.el8_3"))},
			want: map[string]bool{"A": true}},
		{id: "C18 el8_3.1 vs el8_3",
			pkg:  Target{Ecosystem: "Red Hat", Release: "8", Name: "libfoo", Version: "2.5-1.el8_3.1"},
			advs: []advisory.Advisory{adv("A", "Red Hat:enterprise_linux:8::appstream", "libfoo", rng(eco, "introduced", "0", "fixed", "2.5-1.el8_3"))},
			want: map[string]bool{"A": false}},
		{id: "C20 source RPM version",
			pkg:  Target{Ecosystem: "Red Hat", Release: "7", Name: "perl-Pod-Escapes", Version: "1.04-299.el7_9", SourceName: "perl", SourceVersion: "5.16.3-299.el7_9"},
			advs: []advisory.Advisory{adv("A", "Red Hat:enterprise_linux:7::server", "perl", rng(eco, "introduced", "0", "fixed", "5.16.3-295.el7"))},
			want: map[string]bool{"A": false}},
		{id: "C21 rpm tilde",
			pkg:  Target{Ecosystem: "AlmaLinux", Release: "9", Name: "foo", Version: "2.0~rc1-1.fc38"},
			advs: []advisory.Advisory{adv("A", "AlmaLinux:9", "foo", rng(eco, "introduced", "0", "fixed", "2.0-1.fc38"))},
			want: map[string]bool{"A": true}},
		{id: "C21 rpm caret",
			pkg:  Target{Ecosystem: "AlmaLinux", Release: "9", Name: "foo", Version: "1.1^20160101-1"},
			advs: []advisory.Advisory{adv("A", "AlmaLinux:9", "foo", rng(eco, "introduced", "0", "fixed", "1.1-3"))},
			want: map[string]bool{"A": false}},
		{id: "C23 pseudo-version",
			pkg: Target{Ecosystem: "Go", Name: "github.com/concourse/concourse", Version: "v1.6.1-0.20230608160752-b14acb611a79"},
			advs: []advisory.Advisory{
				adv("A", "Go", "github.com/concourse/concourse", rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.6.0")),
				adv("B", "Go", "github.com/concourse/concourse", rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.6.1")),
			},
			want: map[string]bool{"A": false, "B": true}},
		{id: "C24 stdlib from build info",
			pkg:  Target{Ecosystem: "Go", Name: "stdlib", Version: "go1.24.5"},
			advs: []advisory.Advisory{adv("A", "Go", "stdlib", rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.24.4"))},
			want: map[string]bool{"A": false}},
		{id: "C26 go rc toolchain",
			pkg:  Target{Ecosystem: "Go", Name: "stdlib", Version: "go1.19rc1"},
			advs: []advisory.Advisory{adv("A", "Go", "stdlib", rng(advisory.RangeSemver, "introduced", "1.19.0-0", "fixed", "1.19.1"), rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.18.6"))},
			want: map[string]bool{"A": true}, fixed: map[string]string{"A": "1.19.1"}},
		{id: "C27 final newer than rc",
			pkg:  Target{Ecosystem: "PyPI", Name: "twisted", Version: "22.10.0"},
			advs: []advisory.Advisory{adv("A", "PyPI", "twisted", rng(eco, "introduced", "0", "fixed", "22.10.0rc1"))},
			want: map[string]bool{"A": false}},
		{id: "C29 PEP 503 names",
			pkg:  Target{Ecosystem: "PyPI", Name: "PyYAML", Version: "5.3"},
			advs: []advisory.Advisory{adv("A", "PyPI", "pyyaml", rng(eco, "introduced", "5.1", "fixed", "5.3.1"))},
			want: map[string]bool{"A": true}},
		{id: "C29 Django",
			pkg:  Target{Ecosystem: "PyPI", Name: "Django", Version: "3.2.21"},
			advs: []advisory.Advisory{adv("A", "PyPI", "django", rng(eco, "introduced", "0", "fixed", "3.2.22"))},
			want: map[string]bool{"A": true}},
		{id: "C30 local version label",
			pkg: Target{Ecosystem: "PyPI", Name: "tornado", Version: "6.4+cgr.1"},
			advs: []advisory.Advisory{
				adv("A", "PyPI", "tornado", rng(eco, "introduced", "0", "fixed", "6.4.1")),
				adv("B", "PyPI", "tornado", rng(eco, "introduced", "0", "fixed", "6.4")),
			},
			want: map[string]bool{"A": true, "B": false}},
		{id: "C32 maven group:artifact",
			pkg:  Target{Ecosystem: "Maven", Name: "log4j:log4j", Version: "1.2.17"},
			advs: []advisory.Advisory{adv("A", "Maven", "log4j:log4j", rng(eco, "introduced", "1.2", "last_affected", "1.2.17"))},
			want: map[string]bool{"A": true}},
		{id: "C33 beyond all ranges",
			pkg:  Target{Ecosystem: "npm", Name: "next", Version: "16.2.2"},
			advs: []advisory.Advisory{adv("A", "npm", "next", rng(advisory.RangeSemver, "introduced", "15.0.1-canary.0", "fixed", "15.6.0-canary.61"), rng(advisory.RangeSemver, "introduced", "16.0.0-beta.0", "fixed", "16.1.5"))},
			want: map[string]bool{"A": false}},
		{id: "C33 inside second range reports its fix",
			pkg:  Target{Ecosystem: "npm", Name: "next", Version: "16.1.0"},
			advs: []advisory.Advisory{adv("A", "npm", "next", rng(advisory.RangeSemver, "introduced", "15.0.1-canary.0", "fixed", "15.6.0-canary.61"), rng(advisory.RangeSemver, "introduced", "16.0.0-beta.0", "fixed", "16.1.5"))},
			want: map[string]bool{"A": true}, fixed: map[string]string{"A": "16.1.5"}},
		{id: "C35 scoped is not unscoped",
			pkg:  Target{Ecosystem: "npm", Name: "@colors/colors", Version: "1.5.0"},
			advs: []advisory.Advisory{adv("A", "npm", "colors", rng(advisory.RangeSemver, "introduced", "1.4.1"))},
			want: map[string]bool{"A": false}},
		{id: "C36 same name other ecosystem",
			pkg:  Target{Ecosystem: "npm", Name: "formidable", Version: "1.2.2"},
			advs: []advisory.Advisory{adv("A", "Packagist", "formidable", rng(eco, "introduced", "0"))},
			want: map[string]bool{"A": false}},
		{id: "C38 nuget case-insensitive",
			pkg: Target{Ecosystem: "NuGet", Name: "Example.OpenApi", Version: "3.5.3"},
			advs: []advisory.Advisory{{ID: "A", Affected: []advisory.Affected{
				{Package: advisory.Package{Ecosystem: "NuGet", Name: "Example.OpenApi"}, Ranges: []advisory.Range{rng(eco, "introduced", "2.0.0-preview.11", "last_affected", "2.7.4")}},
				{Package: advisory.Package{Ecosystem: "NuGet", Name: "Example.OpenAPI"}, Ranges: []advisory.Range{rng(eco, "introduced", "3.0.0", "last_affected", "3.5.3")}},
			}}},
			want: map[string]bool{"A": true}},
		{id: "C39 nuget",
			pkg:  Target{Ecosystem: "NuGet", Name: "Newtonsoft.Json", Version: "11.0.2"},
			advs: []advisory.Advisory{adv("GHSA-5crp-9r3c-p9vr", "NuGet", "Newtonsoft.Json", rng(eco, "introduced", "0", "fixed", "13.0.1"))},
			want: map[string]bool{"GHSA-5crp-9r3c-p9vr": true}},
		{id: "C83 log4j-core",
			pkg:  Target{Ecosystem: "Maven", Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1"},
			advs: []advisory.Advisory{adv("GHSA-jfh8-c2jp-5v3q", "Maven", "org.apache.logging.log4j:log4j-core", rng(eco, "introduced", "2.13.0", "fixed", "2.15.0"))},
			want: map[string]bool{"GHSA-jfh8-c2jp-5v3q": true}},
		{id: "explicit versions list",
			pkg:  Target{Ecosystem: "PyPI", Name: "foo", Version: "1.0"},
			advs: []advisory.Advisory{{ID: "A", Affected: []advisory.Affected{{Package: advisory.Package{Ecosystem: "PyPI", Name: "foo"}, Versions: []string{"1.0.0"}}}}},
			want: map[string]bool{"A": true}},
		{id: "limit caps range",
			pkg:  Target{Ecosystem: "npm", Name: "foo", Version: "2.5.0"},
			advs: []advisory.Advisory{adv("A", "npm", "foo", rng(advisory.RangeSemver, "introduced", "0", "limit", "2.0.0"))},
			want: map[string]bool{"A": false}},
		{id: "Go (devel) main module is not a version",
			pkg:  Target{Ecosystem: "Go", Name: "k8s.io/kubernetes", Version: "(devel)"},
			advs: []advisory.Advisory{adv("A", "Go", "k8s.io/kubernetes", rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.32.10"))},
			want: map[string]bool{"A": false}},
		{id: "no release, no guess",
			pkg:  Target{Ecosystem: "Debian", Name: "curl", Version: "7.0-1"},
			advs: []advisory.Advisory{adv("A", "Debian:12", "curl", rng(eco, "introduced", "0", "fixed", "8.0-1"))},
			want: map[string]bool{"A": false}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			ix := NewIndex()
			for _, a := range c.advs {
				ix.Add(a)
			}
			got, _ := ix.Match(c.pkg)
			hits := map[string]Result{}
			for _, r := range got {
				hits[r.AdvisoryID] = r
			}
			for id, want := range c.want {
				r, ok := hits[id]
				if ok != want {
					t.Errorf("advisory %s: affected = %v, want %v", id, ok, want)
				}
				if want {
					if f, ok := c.fixed[id]; ok && (len(r.Fixed) != 1 || r.Fixed[0] != f) {
						t.Errorf("advisory %s: fixed = %v, want [%s]", id, r.Fixed, f)
					}
				}
			}
			for id := range hits {
				if _, ok := c.want[id]; !ok {
					t.Errorf("unexpected advisory %s", id)
				}
			}
		})
	}
}

func TestGitRangesCounted(t *testing.T) {
	aff := advisory.Affected{Package: advisory.Package{Ecosystem: "Go", Name: "x"},
		Ranges: []advisory.Range{{Type: advisory.RangeGit, Repo: "https://example.com/x", Events: []advisory.Event{{Introduced: "abc"}}}}}
	hit, _, st, err := Affects(aff, "v1.0.0")
	if hit || err != nil || st.GitRangesSkipped != 1 {
		t.Fatalf("hit=%v err=%v stats=%+v", hit, err, st)
	}
}

func TestParseEcosystem(t *testing.T) {
	for in, want := range map[string]Ecosystem{
		"Go":                                    {Base: "Go"},
		"Debian:12":                             {Base: "Debian", Release: "12"},
		"Ubuntu:22.04:LTS":                      {Base: "Ubuntu", Release: "22.04", Variant: "LTS"},
		"Ubuntu:Pro:18.04:LTS":                  {Base: "Ubuntu", Release: "18.04", Variant: "Pro:LTS"},
		"Alpine:v3.19":                          {Base: "Alpine", Release: "3.19"},
		"Red Hat:enterprise_linux:8::appstream": {Base: "Red Hat", Release: "8", Variant: "appstream"},
		"Red Hat:rhel_eus:8.6::baseos":          {Base: "Red Hat", Release: "8", Variant: "baseos"},
		"AlmaLinux:8":                           {Base: "AlmaLinux", Release: "8"},
	} {
		if got := ParseEcosystem(in); got != want {
			t.Errorf("ParseEcosystem(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestCheckAdvisory(t *testing.T) {
	good := adv("A", "Go", "x", rng(advisory.RangeSemver, "introduced", "0", "fixed", "1.2.3"))
	if err := CheckAdvisory(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []advisory.Advisory{
		adv("B", "Go", "x", rng(advisory.RangeSemver, "introduced", "0", "fixed", "not a version")),
		adv("C", "npm", "x", rng(advisory.RangeSemver, "introduced", "banana!!")),
	} {
		if err := CheckAdvisory(bad); err == nil {
			t.Errorf("%s accepted: %+v", bad.ID, bad.Affected[0].Ranges)
		}
	}
	// No ordering for the ecosystem: nothing to check.
	if err := CheckAdvisory(adv("E", "Linux", "x", rng(advisory.RangeEcosystem, "introduced", "v5.10-rc1"))); err != nil {
		t.Fatal(err)
	}
}
