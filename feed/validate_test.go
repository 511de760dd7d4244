package feed

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
)

func TestValidate(t *testing.T) {
	pkg := func(eco string) advisory.Package { return advisory.Package{Ecosystem: eco, Name: "p"} }
	semver := func(ev ...advisory.Event) []advisory.Range {
		return []advisory.Range{{Type: advisory.RangeSemver, Events: ev}}
	}
	intro := advisory.Event{Introduced: "0"}
	fixed := advisory.Event{Fixed: "1.0.0"}
	rec := func(af ...advisory.Affected) advisory.Advisory { return advisory.Advisory{ID: "X-1", Affected: af} }
	tests := []struct {
		name string
		a    advisory.Advisory
		want string // "" = valid; else a substring of the error
	}{
		{"minimal", advisory.Advisory{ID: "X-1"}, ""},
		{"missing id", advisory.Advisory{}, "missing id"},
		{"id with space", advisory.Advisory{ID: "X 1"}, "whitespace"},
		{"Go", rec(advisory.Affected{Package: pkg("Go"), Ranges: semver(intro, fixed)}), ""},
		{"Debian:12", rec(advisory.Affected{Package: pkg("Debian:12")}), ""},
		{"Debian bare", rec(advisory.Affected{Package: pkg("Debian")}), ""},
		{"Ubuntu:22.04:LTS", rec(advisory.Affected{Package: pkg("Ubuntu:22.04:LTS")}), ""},
		{"Ubuntu:Pro:18.04:LTS", rec(advisory.Affected{Package: pkg("Ubuntu:Pro:18.04:LTS")}), ""},
		{"Ubuntu bare", rec(advisory.Affected{Package: pkg("Ubuntu")}), "needs a release suffix"},
		{"Alpine:v3.19", rec(advisory.Affected{Package: pkg("Alpine:v3.19")}), ""},
		{"Alpine:3.19", rec(advisory.Affected{Package: pkg("Alpine:3.19")}), "does not match"},
		{"Red Hat stream", rec(advisory.Affected{Package: pkg("Red Hat:enterprise_linux:8::appstream")}), ""},
		{"Rocky Linux:8", rec(advisory.Affected{Package: pkg("Rocky Linux:8")}), ""},
		{"Maven repo", rec(advisory.Affected{Package: pkg("Maven:https://maven.google.com")}), ""},
		{"unknown", rec(advisory.Affected{Package: pkg("Gopher")}), `affected[0]: unknown ecosystem "Gopher"`},
		{"wrong case", rec(advisory.Affected{Package: pkg("pypi")}), `unknown ecosystem "pypi"`},
		{"suffix on Go", rec(advisory.Affected{Package: pkg("Go:1")}), "takes no release suffix"},
		{"empty suffix", rec(advisory.Affected{Package: pkg("Debian:")}), "empty release suffix"},
		{"no name", rec(advisory.Affected{Package: advisory.Package{Ecosystem: "npm"}}), "has no name"},
		{"no ecosystem", rec(advisory.Affected{Package: advisory.Package{Name: "x"}}), "has no ecosystem"},
		{"git only, no package", rec(advisory.Affected{Ranges: []advisory.Range{{Type: advisory.RangeGit, Repo: "https://example.invalid/r", Events: []advisory.Event{{Introduced: "abc"}}}}}), ""},
		{"empty affected", rec(advisory.Affected{}), "neither package"},
		{"unknown range type", rec(advisory.Affected{Package: pkg("npm"), Ranges: []advisory.Range{{Type: "SEMVAR", Events: []advisory.Event{intro}}}}), `ranges[0]: unknown range type "SEMVAR"`},
		{"no range type", rec(advisory.Affected{Package: pkg("npm"), Ranges: []advisory.Range{{Events: []advisory.Event{intro}}}}), "no type"},
		{"git without repo", rec(advisory.Affected{Package: pkg("npm"), Ranges: []advisory.Range{{Type: advisory.RangeGit, Events: []advisory.Event{intro}}}}), "without repo"},
		{"no events", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver()}), "no events"},
		{"no introduced", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver(fixed)}), "no introduced"},
		{"ecosystem no introduced", rec(advisory.Affected{Package: pkg("PyPI"), Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{LastAffected: "2"}}}}}), "no introduced"},
		{"two fields", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver(advisory.Event{Introduced: "0", Fixed: "1"})}), "events[0]: want exactly one"},
		{"empty event", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver(intro, advisory.Event{})}), "events[1]"},
		{"fixed and last_affected", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver(intro, fixed, advisory.Event{LastAffected: "2"})}), "mixes fixed and last_affected"},
		{"limit", rec(advisory.Affected{Package: pkg("npm"), Ranges: semver(intro, advisory.Event{Limit: "2"})}), ""},
		{"modified out of range", advisory.Advisory{ID: "X-1", Modified: time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -2*3600))}, "modified"},
		{"second affected", rec(advisory.Affected{Package: pkg("npm")}, advisory.Affected{Package: pkg("Gopher")}), "affected[1]"},
	}
	for _, tt := range tests {
		err := Validate(tt.a)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidRecord)):
			t.Errorf("%s: got %v, want ErrInvalidRecord containing %q", tt.name, err, tt.want)
		}
	}
}

func TestEcosystemTable(t *testing.T) {
	for base, rule := range ecosystems {
		eco := base
		if rule.suffix == suffixRequired {
			eco += ":v1.2"
			if rule.pattern == nil {
				eco = base + ":1"
			}
		}
		if !KnownEcosystem(eco) {
			t.Errorf("%q rejected", eco)
		}
	}
	if KnownEcosystem("") || KnownEcosystem(":12") {
		t.Error("empty base accepted")
	}
}
