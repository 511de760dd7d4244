package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vuln"
)

// advisoryFacts are the facts joined to an advisory through its id and
// aliases: KEV, EPSS, and severity borrowed from an alias when it has none.
type advisoryFacts struct {
	aliases        []string
	severity       advisory.Rating
	severityFrom   string
	score          float64
	vector         string
	kev            bool
	kevAdded       string
	epss           *float64
	epssPercentile *float64
}

// Findings lists findings, most severe first.
func (s *Store) Findings(ctx context.Context, f store.FindingFilter) ([]store.Finding, error) {
	q := `SELECT f.sbom_id, s.source, s.image, p.id, p.purl, p.type, p.ecosystem, p.release, p.name, p.version, p.source_name, p.source_version,
		f.advisory_id, a.summary, f.fixed, f.via, a.severity, a.cvss_score, a.cvss_vector, f.first_seen, f.resolved_at
		FROM findings f JOIN sboms s ON s.id = f.sbom_id JOIN packages p ON p.id = f.package_id JOIN advisories a ON a.id = f.advisory_id WHERE 1 = 1`
	var args []any
	if !f.IncludeResolved {
		q += ` AND f.resolved_at = ''`
	}
	if len(f.SBOMIDs) > 0 {
		q += ` AND f.sbom_id IN (` + placeholders(len(f.SBOMIDs)) + `)`
		args = append(args, int64sToAny(f.SBOMIDs)...)
	}
	if len(f.Package) > store.MaxPackageFilter {
		return nil, fmt.Errorf("package filter longer than %d characters", store.MaxPackageFilter)
	}
	if f.Package != "" {
		q += ` AND (p.name = ? OR p.purl LIKE ? ESCAPE '\')`
		args = append(args, f.Package, likePrefix(f.Package))
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []store.Finding
	ids := map[string]bool{}
	for rows.Next() {
		var r store.Finding
		var fixed, sev, first, resolved string
		if err := rows.Scan(&r.SBOMID, &r.Source, &r.Image, &r.PackageID, &r.Package.PURL, &r.Package.Type, &r.Package.Ecosystem,
			&r.Package.Release, &r.Package.Name, &r.Package.Version, &r.Package.SourceName, &r.Package.SourceVersion,
			&r.AdvisoryID, &r.Summary, &fixed, &r.Via, &sev, &r.CVSSScore, &r.CVSSVector, &first, &resolved); err != nil {
			rows.Close()
			return nil, err
		}
		_ = json.Unmarshal([]byte(fixed), &r.Fixed)
		if r.Fixed == nil {
			r.Fixed = []string{}
		}
		r.Severity = advisory.Rating(sev)
		r.FirstSeen = parseTime(first)
		if resolved != "" {
			t := parseTime(resolved)
			r.ResolvedAt = &t
		}
		ids[r.AdvisoryID] = true
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	facts, err := s.facts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		r := &out[i]
		fa := facts[r.AdvisoryID]
		r.Aliases = fa.aliases
		if r.Aliases == nil {
			r.Aliases = []string{}
		}
		if r.Severity == advisory.RatingUnknown && fa.severity != advisory.RatingUnknown {
			r.Severity, r.SeverityFrom, r.CVSSScore, r.CVSSVector = fa.severity, fa.severityFrom, fa.score, fa.vector
		}
		r.KEV, r.KEVDateAdded, r.EPSS, r.EPSSPercentile = fa.kev, fa.kevAdded, fa.epss, fa.epssPercentile
	}
	// Filters apply to the merged vulnerability, so a KEV flag or a severity
	// carried by one member counts for the group.
	out = groupAliases(out)
	kept := out[:0]
	for _, r := range out {
		if f.KEV && !r.KEV {
			continue
		}
		if f.MinSeverity != advisory.RatingUnknown && r.Severity.Rank() < f.MinSeverity.Rank() {
			continue
		}
		kept = append(kept, r)
	}
	out = kept
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.KEV != b.KEV {
			return a.KEV
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.CVSSScore != b.CVSSScore {
			return a.CVSSScore > b.CVSSScore
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		return a.AdvisoryID < b.AdvisoryID
	})
	return out, nil
}

func likePrefix(s string) string { return likeEscape(s) + "%" }

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// facts joins aliases, KEV, EPSS and borrowed severity for advisories.
func (s *Store) facts(ctx context.Context, ids map[string]bool) (map[string]*advisoryFacts, error) {
	out := map[string]*advisoryFacts{}
	list := make([]any, 0, len(ids))
	for id := range ids {
		out[id] = &advisoryFacts{}
		list = append(list, id)
	}
	for _, chunk := range chunks(list, 400) {
		ph := placeholders(len(chunk))
		rows, err := s.db.QueryContext(ctx, `SELECT advisory_id, alias FROM advisory_aliases WHERE advisory_id IN (`+ph+`) AND alias <> advisory_id ORDER BY alias`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, alias string
			if err := rows.Scan(&id, &alias); err != nil {
				rows.Close()
				return nil, err
			}
			out[id].aliases = append(out[id].aliases, alias)
		}
		rows.Close()
		// KEV and EPSS are keyed by CVE: match the advisory id or any alias.
		rows, err = s.db.QueryContext(ctx, `SELECT x.advisory_id, k.date_added FROM advisory_aliases x JOIN kev k ON k.cve = x.alias WHERE x.advisory_id IN (`+ph+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, added string
			if err := rows.Scan(&id, &added); err != nil {
				rows.Close()
				return nil, err
			}
			fa := out[id]
			fa.kev = true
			if fa.kevAdded == "" || added < fa.kevAdded {
				fa.kevAdded = added
			}
		}
		rows.Close()
		rows, err = s.db.QueryContext(ctx, `SELECT x.advisory_id, e.score, e.percentile FROM advisory_aliases x JOIN epss e ON e.cve = x.alias WHERE x.advisory_id IN (`+ph+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var score, pct float64
			if err := rows.Scan(&id, &score, &pct); err != nil {
				rows.Close()
				return nil, err
			}
			fa := out[id]
			if fa.epss == nil || score > *fa.epss {
				fa.epss, fa.epssPercentile = &score, &pct
			}
		}
		rows.Close()
		// Severity borrowed from another advisory that shares an alias
		// (a GO- record and its GHSA/CVE), highest score first.
		rows, err = s.db.QueryContext(ctx, `SELECT x.advisory_id, a.id, a.severity, a.cvss_score, a.cvss_vector
			FROM advisory_aliases x JOIN advisory_aliases y ON y.alias = x.alias AND y.advisory_id <> x.advisory_id
			JOIN advisories a ON a.id = y.advisory_id
			WHERE x.advisory_id IN (`+ph+`) AND a.severity <> '' AND a.withdrawn = ''`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, from, sev, vector string
			var score float64
			if err := rows.Scan(&id, &from, &sev, &score, &vector); err != nil {
				rows.Close()
				return nil, err
			}
			fa := out[id]
			r := advisory.Rating(sev)
			if r.Rank() > fa.severity.Rank() || (r.Rank() == fa.severity.Rank() && score > fa.score) {
				fa.severity, fa.severityFrom, fa.score, fa.vector = r, from, score, vector
			}
		}
		rows.Close()
	}
	return out, nil
}

// Counts summarises the store.
func (s *Store) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM sboms), (SELECT COUNT(*) FROM packages),
		(SELECT COUNT(*) FROM advisories WHERE withdrawn = ''), (SELECT COUNT(*) FROM advisories WHERE withdrawn <> ''),
		(SELECT COUNT(*) FROM kev), (SELECT COUNT(*) FROM epss), (SELECT COUNT(*) FROM matches WHERE resolved_at = '')`).
		Scan(&c.SBOMs, &c.Packages, &c.Advisories, &c.Withdrawn, &c.KEV, &c.EPSS, &c.OpenMatches)
	return c, err
}

// CoveredEcosystems returns the ecosystems the stored advisories cover, as
// bases ("Go", "Debian") and, for distros, base:release ("Debian:12").
func (s *Store) CoveredEcosystems(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT ecosystem FROM affected`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		eco := vuln.ParseEcosystem(e)
		out[eco.Base] = true
		if eco.Release != "" {
			out[eco.Base+":"+eco.Release] = true
		}
	}
	return out, rows.Err()
}
