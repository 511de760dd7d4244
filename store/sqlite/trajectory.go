package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// Trajectory returns an SBOM's open findings by severity over time: one
// point per moment the counts changed, with the causes of the change. It is
// derived from the matches' first_seen/resolved_at and their causes, so it
// needs no snapshots and is exact for any past moment.
func (s *Store) Trajectory(ctx context.Context, sbomID int64) ([]store.TrajectoryPoint, error) {
	var ingested string
	err := s.db.QueryRowContext(ctx, `SELECT ingested_at FROM sboms WHERE id = ?`, sbomID).Scan(&ingested)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	fs, err := s.Findings(ctx, store.FindingFilter{SBOMIDs: []int64{sbomID}, IncludeResolved: true})
	if err != nil {
		return nil, err
	}
	causes, err := s.matchCauses(ctx, sbomID)
	if err != nil {
		return nil, err
	}
	type change struct {
		at    time.Time
		delta int
		sev   string
		kev   bool
		cause string
	}
	sbomAt := parseTime(ingested)
	var changes []change
	for _, f := range fs {
		sev := string(f.Severity)
		if sev == "" {
			sev = "unknown"
		}
		c := causes[matchKey{f.PackageID, f.AdvisoryID}]
		open := c[0]
		if !f.FirstSeen.After(sbomAt) {
			open = store.CauseNewImage // present when the image arrived
		}
		changes = append(changes, change{f.FirstSeen, 1, sev, f.KEV, open})
		if f.ResolvedAt != nil {
			changes = append(changes, change{*f.ResolvedAt, -1, sev, f.KEV, c[1]})
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].at.Before(changes[j].at) })
	out := []store.TrajectoryPoint{{At: sbomAt, BySeverity: map[string]int{}, Changes: map[string]int{}}}
	for _, c := range changes {
		last := &out[len(out)-1]
		if c.at.After(last.At) {
			next := store.TrajectoryPoint{At: c.at, BySeverity: map[string]int{}, Changes: map[string]int{}, Total: last.Total, KEV: last.KEV}
			for k, v := range last.BySeverity {
				next.BySeverity[k] = v
			}
			out = append(out, next)
			last = &out[len(out)-1]
		}
		last.BySeverity[c.sev] += c.delta
		if last.BySeverity[c.sev] == 0 {
			delete(last.BySeverity, c.sev)
		}
		last.Total += c.delta
		if c.kev {
			last.KEV += c.delta
		}
		cause := c.cause
		if cause == "" {
			cause = store.CauseRematch
		}
		last.Changes[cause] += c.delta
	}
	return out, nil
}

type matchKey struct {
	pkg int64
	adv string
}

// matchCauses returns (opened, resolved) causes of every match of an SBOM's
// packages. Grouped findings carry the primary advisory's causes.
func (s *Store) matchCauses(ctx context.Context, sbomID int64) (map[matchKey][2]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.package_id, m.advisory_id, m.opened_cause, m.resolved_cause FROM matches m
		JOIN sbom_packages sp ON sp.package_id = m.package_id WHERE sp.sbom_id = ?`, sbomID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[matchKey][2]string{}
	for rows.Next() {
		var k matchKey
		var o, r string
		if err := rows.Scan(&k.pkg, &k.adv, &o, &r); err != nil {
			return nil, err
		}
		out[k] = [2]string{o, r}
	}
	return out, rows.Err()
}
