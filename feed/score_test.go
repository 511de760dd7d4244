package feed

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/safeguard-dev/safeguard/advisory"
)

func loadByID(t *testing.T, path string) map[string]advisory.Advisory {
	t.Helper()
	b, err := Load(filepath.Join(feeds, path), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]advisory.Advisory, len(b.Advisories))
	for _, a := range b.Advisories {
		m[a.ID] = a
	}
	return m
}

// Expected scores come from independent calculators: Debian's
// ruby-cvss-suite 3.1.0 for v2/v3 and npm ae-cvss-calculator 1.0.13 for v4.
func TestScoreReal(t *testing.T) {
	ghsa := loadByID(t, "ghsa-osv-356-records-maven-heavy.json")
	distro := loadByID(t, "osv-distro")
	tests := []struct {
		id     string
		recs   map[string]advisory.Advisory
		rating advisory.Rating
		score  float64
		source string
	}{
		// CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:H
		{"GHSA-vmq6-5m68-f53m", ghsa, advisory.RatingHigh, 7.1, "CVSS_V3"},
		// CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:H (GHSA says MODERATE too)
		{"GHSA-668q-qrv7-99fm", ghsa, advisory.RatingMedium, 6.6, "CVSS_V3"},
		// CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
		{"GHSA-vmfg-rjjm-rjrj", ghsa, advisory.RatingCritical, 9.8, "CVSS_V3"},
		// v3.1 6.5 MODERATE, but v4.0 AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N = 7.1 wins
		{"GHSA-mmwx-rj87-vfgr", ghsa, advisory.RatingHigh, 7.1, "CVSS_V4"},
		// v4.0 AV:N/AC:L/AT:P/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:L = 7.0
		{"GHSA-cfxw-4h78-h7fw", ghsa, advisory.RatingHigh, 7.0, "CVSS_V4"},
		// no vector: database_specific.severity HIGH
		{"GHSA-qmqc-x3r4-6v39", ghsa, advisory.RatingHigh, 0, SourceDatabaseSpecific},
		// Ubuntu priority only
		{"UBUNTU-CVE-2026-1403", distro, advisory.RatingMedium, 0, SourceUbuntu},
		// CVSS:3.0/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L = 4.0 beats "negligible"
		{"UBUNTU-CVE-2014-9913", distro, advisory.RatingMedium, 4.0, "CVSS_V3"},
		// CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:N/A:N
		{"RLSA-2021:3891", distro, advisory.RatingMedium, 6.8, "CVSS_V3"},
		// nothing to go on
		{"ALSA-2023:4520", distro, advisory.RatingUnknown, 0, ""},
	}
	for _, tt := range tests {
		a, ok := tt.recs[tt.id]
		if !ok {
			t.Fatalf("%s not loaded", tt.id)
		}
		s := Score(a)
		if s.Rating != tt.rating || s.Score != tt.score || s.Source != tt.source {
			t.Errorf("%s: %+v, want %s %.1f from %s", tt.id, s, tt.rating, tt.score, tt.source)
		}
	}
}

func TestScoreGoVulnDBUnknown(t *testing.T) {
	for id, a := range loadByID(t, "vulndb-data-osv.tar.gz") {
		if s := Score(a); s.Rating != advisory.RatingUnknown || s.Source != "" {
			t.Fatalf("%s: %+v; Go records carry no severity", id, s)
		}
	}
}

// TestScoreAllVectorsParse: every CVSS vector in the bundled feeds parses,
// so no real record silently falls back to a weaker source.
func TestScoreAllVectorsParse(t *testing.T) {
	n := 0
	for _, path := range []string{"ghsa-osv-356-records-maven-heavy.json", "osv-distro"} {
		for id, a := range loadByID(t, path) {
			for _, sev := range allSeverities(a) {
				if sev.Type == SourceUbuntu {
					continue
				}
				n++
				if _, _, ok := ScoreVector(sev.Score); !ok {
					t.Errorf("%s: %s %q does not parse", id, sev.Type, sev.Score)
				}
			}
		}
	}
	if n < 340 {
		t.Errorf("only %d vectors seen", n)
	}
}

func TestScoreSynthetic(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name   string
		a      advisory.Advisory
		rating advisory.Rating
		score  float64
		source string
	}{
		{"v2 vector", advisory.Advisory{Severity: []advisory.Severity{{Type: "CVSS_V2", Score: "AV:N/AC:L/Au:N/C:P/I:P/A:P"}}}, advisory.RatingHigh, 7.5, "CVSS_V2"},
		{"v3.1 beats v2 even when lower", advisory.Advisory{Severity: []advisory.Severity{
			{Type: "CVSS_V2", Score: "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},
		}}, advisory.RatingMedium, 6.5, "CVSS_V3"},
		{"same version: highest score", advisory.Advisory{Severity: []advisory.Severity{
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		}}, advisory.RatingCritical, 9.8, "CVSS_V3"},
		{"3.1 beats 3.0", advisory.Advisory{Severity: []advisory.Severity{
			{Type: "CVSS_V3", Score: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},
		}}, advisory.RatingMedium, 6.5, "CVSS_V3"},
		{"bad vector falls back", advisory.Advisory{
			Severity:         []advisory.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:X"}},
			DatabaseSpecific: raw(`{"severity":"LOW"}`),
		}, advisory.RatingLow, 0, SourceDatabaseSpecific},
		{"per-affected vector", advisory.Advisory{Affected: []advisory.Affected{{Severity: []advisory.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:H"}}}}}, advisory.RatingHigh, 7.1, "CVSS_V3"},
		{"ecosystem_specific", advisory.Advisory{Affected: []advisory.Affected{
			{EcosystemSpecific: raw(`{"severity":"moderate"}`)},
			{EcosystemSpecific: raw(`{"severity":"Important"}`)},
			{EcosystemSpecific: raw(`{"severity":3}`)},
		}}, advisory.RatingHigh, 0, SourceEcosystemSpecific},
		{"affected severity word", advisory.Advisory{Affected: []advisory.Affected{{Severity: []advisory.Severity{{Type: "Vendor", Score: "critical"}}}}}, advisory.RatingCritical, 0, SourceAffectedSeverity},
		{"negligible", advisory.Advisory{Severity: []advisory.Severity{{Type: "Ubuntu", Score: "negligible"}}}, advisory.RatingLow, 0, SourceUbuntu},
		{"untriaged", advisory.Advisory{Severity: []advisory.Severity{{Type: "Ubuntu", Score: "untriaged"}}}, advisory.RatingUnknown, 0, ""},
		{"database_specific not an object", advisory.Advisory{DatabaseSpecific: raw(`[1,2]`)}, advisory.RatingUnknown, 0, ""},
		{"zero v3", advisory.Advisory{Severity: []advisory.Severity{{Type: "CVSS_V3", Score: "CVSS:3.0/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}}}, advisory.RatingNone, 0, "CVSS_V3"},
	}
	for _, tt := range tests {
		s := Score(tt.a)
		if s.Rating != tt.rating || s.Score != tt.score || s.Source != tt.source {
			t.Errorf("%s: %+v, want %q %.1f from %q", tt.name, s, tt.rating, tt.score, tt.source)
		}
	}
}
