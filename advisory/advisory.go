// Package advisory holds the OSV vulnerability record model
// (https://ossf.github.io/osv-schema/) and the known-exploited (CISA KEV) and
// exploit-prediction (EPSS) entries joined to it through CVE aliases.
//
// An OSV record names, per affected package, an ecosystem ("Go", "npm",
// "Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.19", …), a package name in that
// ecosystem's namespace, and ranges of events (introduced, fixed,
// last_affected, limit) evaluated in the ecosystem's own version ordering.
package advisory

import (
	"encoding/json"
	"time"
)

// Advisory is one OSV record.
type Advisory struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         time.Time       `json:"modified"`
	Published        *time.Time      `json:"published,omitempty"`
	Withdrawn        *time.Time      `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Upstream         []string        `json:"upstream,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	References       []Reference     `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Severity is an OSV severity entry: a CVSS vector or an ecosystem rating.
type Severity struct {
	Type  string `json:"type"` // CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, …
	Score string `json:"score"`
}

// Affected names one package and the versions of it an advisory covers.
type Affected struct {
	Package           Package         `json:"package"`
	Severity          []Severity      `json:"severity,omitempty"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// Package identifies an affected package.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a list of events in one ordering (SEMVER, ECOSYSTEM or GIT).
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link attached to an advisory.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Range types.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Rating is a qualitative severity.
type Rating string

// Ratings, ordered from none to critical by Rank.
const (
	RatingUnknown  Rating = ""
	RatingNone     Rating = "none"
	RatingLow      Rating = "low"
	RatingMedium   Rating = "medium"
	RatingHigh     Rating = "high"
	RatingCritical Rating = "critical"
)

// Rank orders ratings: unknown 0, none 1, low 2, medium 3, high 4, critical 5.
func (r Rating) Rank() int {
	switch r {
	case RatingNone:
		return 1
	case RatingLow:
		return 2
	case RatingMedium:
		return 3
	case RatingHigh:
		return 4
	case RatingCritical:
		return 5
	}
	return 0
}

// Scored is the severity derived for an advisory: the best CVSS vector it
// carries (v4 over v3.x over v2) or, failing that, the ecosystem's rating.
type Scored struct {
	Rating Rating  `json:"rating"`
	Score  float64 `json:"score,omitempty"`
	Vector string  `json:"vector,omitempty"`
	Source string  `json:"source,omitempty"` // CVSS_V4, CVSS_V3, CVSS_V2, or the ecosystem rating's origin
}

// KEV is one entry of the CISA Known Exploited Vulnerabilities catalog.
type KEV struct {
	CVE                string `json:"cveID"`
	VendorProject      string `json:"vendorProject"`
	Product            string `json:"product"`
	Name               string `json:"vulnerabilityName"`
	DateAdded          string `json:"dateAdded"`
	DueDate            string `json:"dueDate"`
	RequiredAction     string `json:"requiredAction"`
	KnownRansomwareUse string `json:"knownRansomwareCampaignUse"`
}

// EPSS is one EPSS score row.
type EPSS struct {
	CVE          string  `json:"cve"`
	Score        float64 `json:"epss"`
	Percentile   float64 `json:"percentile"`
	ModelVersion string  `json:"model_version,omitempty"`
	ScoreDate    string  `json:"score_date,omitempty"`
}
