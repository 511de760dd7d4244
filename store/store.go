// Package store defines what Safeguard keeps: SBOMs and their packages,
// advisories with their affected ranges, KEV and EPSS entries, and the
// matches between packages and advisories from which findings are derived.
//
// Matches are stored once per (package, advisory) — packages are shared by
// every SBOM that contains them — and findings per (SBOM, package, advisory)
// are that match fanned out to the SBOMs holding the package. Reconciling a
// feed change therefore costs the number of distinct package versions, not
// the number of images.
//
// Backends live in sub-packages (store/sqlite) and all pass the conformance
// suite in store/storetest.
package store

import (
	"errors"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/sbom"
)

// ErrNotFound is returned when a named record does not exist.
var ErrNotFound = errors.New("not found")

// ErrStale is returned when matches computed from one state of the feeds
// are applied after a feed import changed them; the reconcile starts over.
var ErrStale = errors.New("advisories changed during the reconcile")

// SBOM is a stored SBOM document.
type SBOM struct {
	ID            int64     `json:"id"`
	Digest        string    `json:"digest"` // sha256 of the document bytes
	Source        string    `json:"source"` // file name or URL it came from
	Image         string    `json:"image,omitempty"`
	Format        string    `json:"format"`
	FormatVersion string    `json:"format_version"`
	Subject       string    `json:"subject,omitempty"`
	Distro        string    `json:"distro,omitempty"`
	IngestedAt    time.Time `json:"ingested_at"`
	Packages      int       `json:"packages"`
	Unidentified  int       `json:"unidentified"`
}

// IngestInput is one decoded SBOM to store.
type IngestInput struct {
	Document *sbom.Document
	Raw      []byte
	Source   string
	Image    string
	At       time.Time
}

// IngestResult reports what an ingest stored.
type IngestResult struct {
	SBOM SBOM
	// Existing is true when the same document (by digest) was stored before.
	Existing bool
	// PackageIDs are the ids of the SBOM's packages, for matching on arrival.
	PackageIDs []int64
}

// FeedData is one feed import, applied in one transaction.
type FeedData struct {
	Source     string
	Advisories []advisory.Advisory
	// Scores holds the derived severity per advisory id.
	Scores map[string]advisory.Scored
	// Hashes holds the content hash per advisory id, for change detection.
	Hashes map[string]string
	KEV    []advisory.KEV
	// KEVComplete replaces the whole catalog (a full KEV file), so entries
	// CISA removed disappear.
	KEVComplete bool
	EPSS        []advisory.EPSS
	At          time.Time
}

// FeedResult says what an import changed. Keys is the delta: the lookup keys
// (vuln.LookupKey) whose advisories changed, for a targeted re-match.
type FeedResult struct {
	Added, Changed, Withdrawn, Unchanged int
	// Causes maps each new, changed or withdrawn advisory id to its Cause*.
	Causes               map[string]string
	KEVAdded, KEVRemoved int
	EPSS                 int
	Keys                 []string
	KEVChanged           bool
}

// Finding is one advisory affecting one package of one SBOM.
type Finding struct {
	SBOMID     int64           `json:"-"`
	Source     string          `json:"source"`
	Image      string          `json:"image,omitempty"`
	PackageID  int64           `json:"-"`
	Package    sbom.Package    `json:"-"`
	AdvisoryID string          `json:"vulnerability"`
	Aliases    []string        `json:"aliases"`
	Summary    string          `json:"summary,omitempty"`
	Fixed      []string        `json:"fixed"`
	Via        string          `json:"via"`
	Severity   advisory.Rating `json:"severity"`
	// SeverityFrom names the advisory the severity came from when the
	// advisory itself has none (Go advisories carry no CVSS; their GHSA or
	// CVE alias does).
	SeverityFrom   string     `json:"severity_from,omitempty"`
	CVSSScore      float64    `json:"cvss_score"`
	CVSSVector     string     `json:"cvss_vector,omitempty"`
	KEV            bool       `json:"kev"`
	KEVDateAdded   string     `json:"kev_date_added,omitempty"`
	EPSS           *float64   `json:"epss"`
	EPSSPercentile *float64   `json:"epss_percentile,omitempty"`
	FirstSeen      time.Time  `json:"first_seen"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
}

// MaxPackageFilter bounds FindingFilter.Package: package names and purls
// are far shorter, and SQLite refuses very long LIKE patterns.
const MaxPackageFilter = 1024

// FindingFilter narrows a findings query; zero values mean "any".
type FindingFilter struct {
	SBOMIDs         []int64
	KEV             bool
	MinSeverity     advisory.Rating
	Package         string // package name (exact) or purl prefix
	IncludeResolved bool
}

// MatchTarget is a stored package ready for matching.
type MatchTarget struct {
	ID            int64
	Ecosystem     string
	Release       string
	Name          string
	Version       string
	SourceName    string
	SourceVersion string
}

// Scope selects which packages a reconcile re-matches. The zero Scope is
// everything.
type Scope struct {
	PackageIDs []int64  // exactly these packages
	Keys       []string // packages whose name or source name has these lookup keys
	// Cause says why matches opened or resolved in this reconcile (see the
	// Cause* constants); AdvisoryCauses overrides it per advisory id, so a
	// feed import can say which advisories were new, changed or withdrawn.
	Cause          string
	AdvisoryCauses map[string]string
}

// Causes of a change in an image's findings.
const (
	CauseNewImage          = "new_image"
	CauseNewAdvisory       = "new_advisory"
	CauseAdvisoryChanged   = "advisory_changed"
	CauseAdvisoryWithdrawn = "advisory_withdrawn"
	CauseRematch           = "rematch"
)

// CauseOf returns the cause recorded for a change involving advisory id.
func (s Scope) CauseOf(id string) string {
	if c, ok := s.AdvisoryCauses[id]; ok {
		return c
	}
	if s.Cause == "" {
		return CauseRematch
	}
	return s.Cause
}

// All reports whether the scope is unrestricted.
func (s Scope) All() bool { return s.PackageIDs == nil && s.Keys == nil }

// MatchRow is one (package, advisory) match to record.
type MatchRow struct {
	PackageID  int64
	AdvisoryID string
	Fixed      []string
	Via        string
}

// MatchChanges counts what applying matches changed.
type MatchChanges struct {
	Opened, Resolved, Unchanged, Updated int
}

// TrajectoryPoint is an image's open findings by severity from At on, and
// why the counts changed at that moment (cause → number of findings
// opened, negative for resolved).
type TrajectoryPoint struct {
	At         time.Time      `json:"at"`
	BySeverity map[string]int `json:"by_severity"`
	Total      int            `json:"total"`
	KEV        int            `json:"kev"`
	Changes    map[string]int `json:"changes"`
}

// Counts summarises the store's contents.
type Counts struct {
	SBOMs, Packages, Advisories, Withdrawn, KEV, EPSS, OpenMatches int
}
