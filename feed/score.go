package feed

import (
	"encoding/json"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/safeguard-dev/safeguard/advisory"
)

// Sources reported in Scored.Source when no CVSS vector could be used.
const (
	SourceDatabaseSpecific  = "database_specific.severity"           // GHSA and others
	SourceUbuntu            = "Ubuntu"                               // severity type "Ubuntu"
	SourceEcosystemSpecific = "affected.ecosystem_specific.severity" // per-package rating
	SourceAffectedSeverity  = "affected.severity"                    // other per-package rating types
)

// Score derives an advisory's severity. The best CVSS vector wins — newest
// version first (v4.0 > v3.1 > v3.0 > v2), then the highest base score —
// because a newer vector is the more considered assessment; vectors are read
// from the record's severity and from each affected entry's severity, and
// one that does not parse is ignored rather than trusted. Without a usable
// vector the ecosystem's own rating is used, in this order: the record's
// database_specific.severity (GHSA CRITICAL/HIGH/MODERATE/LOW), an "Ubuntu"
// severity entry, affected[].ecosystem_specific.severity, then any other
// affected[].severity entry; within one source the highest rating wins.
// Records with none of these (the Go vulndb) get RatingUnknown.
func Score(a advisory.Advisory) advisory.Scored {
	if s, ok := bestCVSS(a); ok {
		return s
	}
	if r := rawRating(a.DatabaseSpecific); r != advisory.RatingUnknown {
		return advisory.Scored{Rating: r, Source: SourceDatabaseSpecific}
	}
	var best advisory.Rating
	for _, sev := range allSeverities(a) {
		if sev.Type == SourceUbuntu {
			best = maxRating(best, ratingWord(sev.Score))
		}
	}
	if best != advisory.RatingUnknown {
		return advisory.Scored{Rating: best, Source: SourceUbuntu}
	}
	for _, af := range a.Affected {
		best = maxRating(best, rawRating(af.EcosystemSpecific))
	}
	if best != advisory.RatingUnknown {
		return advisory.Scored{Rating: best, Source: SourceEcosystemSpecific}
	}
	for _, af := range a.Affected {
		for _, sev := range af.Severity {
			if !strings.HasPrefix(sev.Type, "CVSS_") {
				best = maxRating(best, ratingWord(sev.Score))
			}
		}
	}
	if best != advisory.RatingUnknown {
		return advisory.Scored{Rating: best, Source: SourceAffectedSeverity}
	}
	return advisory.Scored{Rating: advisory.RatingUnknown}
}

func allSeverities(a advisory.Advisory) []advisory.Severity {
	out := append([]advisory.Severity(nil), a.Severity...)
	for _, af := range a.Affected {
		out = append(out, af.Severity...)
	}
	return out
}

func bestCVSS(a advisory.Advisory) (advisory.Scored, bool) {
	var best advisory.Scored
	bestRank := 0
	for _, sev := range allSeverities(a) {
		if !strings.HasPrefix(sev.Type, "CVSS_") {
			continue
		}
		s, rank, ok := ScoreVector(sev.Score)
		if !ok {
			continue
		}
		if rank > bestRank || (rank == bestRank && s.Score > best.Score) {
			best, bestRank = s, rank
		}
	}
	return best, bestRank > 0
}

// ScoreVector parses one CVSS vector (v2, v3.0, v3.1 or v4.0, told apart by
// its prefix rather than by the OSV severity type, which lumps 3.0 and 3.1
// together) into a base score and rating. rank orders versions: 4 for v4.0
// down to 1 for v2; ok is false if the vector does not parse.
func ScoreVector(vector string) (s advisory.Scored, rank int, ok bool) {
	vector = strings.TrimSpace(vector)
	var (
		score  float64
		rating string
		err    error
	)
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		var v *gocvss40.CVSS40
		if v, err = gocvss40.ParseVector(vector); err == nil {
			score = v.Score()
			rating, err = gocvss40.Rating(score)
		}
		s.Source, rank = "CVSS_V4", 4
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		var v *gocvss31.CVSS31
		if v, err = gocvss31.ParseVector(vector); err == nil {
			score = v.BaseScore()
			rating, err = gocvss31.Rating(score)
		}
		s.Source, rank = "CVSS_V3", 3
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		var v *gocvss30.CVSS30
		if v, err = gocvss30.ParseVector(vector); err == nil {
			score = v.BaseScore()
			rating, err = gocvss30.Rating(score)
		}
		s.Source, rank = "CVSS_V3", 2
	case strings.HasPrefix(vector, "CVSS:"):
		return advisory.Scored{}, 0, false
	default:
		// CVSS v2 has no version prefix; some feeds wrap it in parentheses.
		v2 := strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")")
		var v *gocvss20.CVSS20
		if v, err = gocvss20.ParseVector(v2); err == nil {
			score = v.BaseScore()
			rating = v2Rating(score)
		}
		s.Source, rank = "CVSS_V2", 1
	}
	if err != nil {
		return advisory.Scored{}, 0, false
	}
	s.Score, s.Vector, s.Rating = score, vector, ratingWord(rating)
	return s, rank, true
}

// v2Rating applies NVD's CVSS v2 bands; the v2 specification itself
// defines no qualitative rating.
func v2Rating(score float64) string {
	switch {
	case score >= 7:
		return "high"
	case score >= 4:
		return "medium"
	}
	return "low"
}

// rawRating reads a "severity" string field from a database_specific or
// ecosystem_specific object; anything else yields RatingUnknown.
func rawRating(raw json.RawMessage) advisory.Rating {
	if len(raw) == 0 {
		return advisory.RatingUnknown
	}
	var obj struct {
		Severity json.RawMessage `json:"severity"`
	}
	if json.Unmarshal(raw, &obj) != nil || len(obj.Severity) == 0 {
		return advisory.RatingUnknown
	}
	var word string
	if json.Unmarshal(obj.Severity, &word) != nil {
		return advisory.RatingUnknown
	}
	return ratingWord(word)
}

// ratingWord maps the rating vocabularies in use (CVSS, GHSA, Ubuntu
// priorities, Red Hat impacts, Debian urgencies) onto advisory.Rating.
// "negligible" and "unimportant" map to low, not none: the issue is real but
// judged harmless in practice, and "none" is reserved for CVSS 0.0.
// Placeholders such as "untriaged" or "unknown" give RatingUnknown.
func ratingWord(w string) advisory.Rating {
	switch strings.ToLower(strings.TrimSpace(w)) {
	case "critical":
		return advisory.RatingCritical
	case "high", "important":
		return advisory.RatingHigh
	case "medium", "moderate":
		return advisory.RatingMedium
	case "low", "negligible", "unimportant":
		return advisory.RatingLow
	case "none":
		return advisory.RatingNone
	}
	return advisory.RatingUnknown
}

func maxRating(a, b advisory.Rating) advisory.Rating {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}
