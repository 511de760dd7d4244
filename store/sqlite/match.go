package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vuln"
)

// MatchTargets returns the packages a reconcile of scope must re-match.
func (s *Store) MatchTargets(ctx context.Context, scope store.Scope) ([]store.MatchTarget, error) {
	if scope.All() {
		return s.queryTargets(ctx, ` ORDER BY id`)
	}
	var out []store.MatchTarget
	seen := map[int64]bool{}
	add := func(ts []store.MatchTarget) {
		for _, t := range ts {
			if !seen[t.ID] {
				seen[t.ID] = true
				out = append(out, t)
			}
		}
	}
	for _, chunk := range chunks(int64sToAny(scope.PackageIDs), 500) {
		ts, err := s.queryTargets(ctx, ` WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		add(ts)
	}
	// Lookup keys are "ecosystem\x00namekey"; packages match by name or by source name.
	byEco := map[string][]any{}
	for _, k := range scope.Keys {
		eco, name, _ := strings.Cut(k, "\x00")
		byEco[eco] = append(byEco[eco], name)
	}
	for eco, names := range byEco {
		for _, chunk := range chunks(names, 400) {
			ph := placeholders(len(chunk))
			args := append(append(append([]any{eco}, chunk...), eco), chunk...)
			ts, err := s.queryTargets(ctx, ` WHERE (ecosystem = ? AND name_key IN (`+ph+`)) OR (ecosystem = ? AND source_key IN (`+ph+`))`, args...)
			if err != nil {
				return nil, err
			}
			add(ts)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Store) queryTargets(ctx context.Context, where string, args ...any) ([]store.MatchTarget, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, ecosystem, release, name, version, source_name, source_version FROM packages`+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MatchTarget
	for rows.Next() {
		var t store.MatchTarget
		if err := rows.Scan(&t.ID, &t.Ecosystem, &t.Release, &t.Name, &t.Version, &t.SourceName, &t.SourceVersion); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Candidates returns the affected entries indexed under the given lookup keys.
func (s *Store) Candidates(ctx context.Context, keys []string) ([]vuln.Candidate, error) {
	var out []vuln.Candidate
	for _, chunk := range chunks(stringsToAny(keys), 500) {
		rows, err := s.db.QueryContext(ctx, `SELECT advisory_id, entry FROM affected WHERE lookup_key IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, entry string
			if err := rows.Scan(&id, &entry); err != nil {
				rows.Close()
				return nil, err
			}
			var aff advisory.Affected
			if err := json.Unmarshal([]byte(entry), &aff); err != nil {
				rows.Close()
				return nil, fmt.Errorf("advisory %s: stored entry: %w", id, err)
			}
			out = append(out, vuln.Candidate{AdvisoryID: id, Affected: aff})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ApplyMatches records the current matches of the evaluated packages: new
// ones open with first_seen = at, ones no longer present resolve at at, and
// a match that comes back re-opens.
func (s *Store) ApplyMatches(ctx context.Context, scope store.Scope, generation int64, evaluated []int64, rows []store.MatchRow, at time.Time) (store.MatchChanges, error) {
	var ch store.MatchChanges
	now := fmtTime(at)
	want := map[int64]map[string]store.MatchRow{}
	for _, r := range rows {
		if want[r.PackageID] == nil {
			want[r.PackageID] = map[string]store.MatchRow{}
		}
		want[r.PackageID][r.AdvisoryID] = r
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var gen int64
		if err := tx.QueryRowContext(ctx, `SELECT gen FROM feed_generation WHERE id = 1`).Scan(&gen); err != nil {
			return err
		}
		if gen != generation {
			return store.ErrStale
		}
		type existing struct {
			fixed, via string
			resolved   bool
		}
		have := map[int64]map[string]existing{}
		for _, chunk := range chunks(int64sToAny(evaluated), 500) {
			q, err := tx.QueryContext(ctx, `SELECT package_id, advisory_id, fixed, via, resolved_at FROM matches WHERE package_id IN (`+placeholders(len(chunk))+`)`, chunk...)
			if err != nil {
				return err
			}
			for q.Next() {
				var pid int64
				var aid, fixed, via, resolved string
				if err := q.Scan(&pid, &aid, &fixed, &via, &resolved); err != nil {
					q.Close()
					return err
				}
				if have[pid] == nil {
					have[pid] = map[string]existing{}
				}
				have[pid][aid] = existing{fixed, via, resolved != ""}
			}
			q.Close()
			if err := q.Err(); err != nil {
				return err
			}
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO matches (package_id, advisory_id, fixed, via, first_seen, resolved_at, opened_cause) VALUES (?, ?, ?, ?, ?, '', ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, `UPDATE matches SET fixed = ?, via = ?, resolved_at = '', resolved_cause = '', opened_cause = CASE WHEN resolved_at <> '' THEN ? ELSE opened_cause END WHERE package_id = ? AND advisory_id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		res, err := tx.PrepareContext(ctx, `UPDATE matches SET resolved_at = ?, resolved_cause = ? WHERE package_id = ? AND advisory_id = ?`)
		if err != nil {
			return err
		}
		defer res.Close()
		for _, pid := range evaluated {
			for aid, r := range want[pid] {
				fixed, _ := json.Marshal(nonNil(r.Fixed))
				old, ok := have[pid][aid]
				switch {
				case !ok:
					if _, err := ins.ExecContext(ctx, pid, aid, string(fixed), r.Via, now, scope.CauseOf(aid)); err != nil {
						return err
					}
					ch.Opened++
				case old.resolved || old.fixed != string(fixed) || old.via != r.Via:
					if _, err := upd.ExecContext(ctx, string(fixed), r.Via, scope.CauseOf(aid), pid, aid); err != nil {
						return err
					}
					if old.resolved {
						ch.Opened++
					} else {
						ch.Updated++
					}
				default:
					ch.Unchanged++
				}
			}
			for aid, old := range have[pid] {
				if _, still := want[pid][aid]; still || old.resolved {
					continue
				}
				if _, err := res.ExecContext(ctx, now, scope.CauseOf(aid), pid, aid); err != nil {
					return err
				}
				ch.Resolved++
			}
		}
		return nil
	})
	return ch, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func chunks(xs []any, size int) [][]any {
	var out [][]any
	for len(xs) > size {
		out = append(out, xs[:size])
		xs = xs[size:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

func int64sToAny(xs []int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func stringsToAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// PendingRematch returns what feed imports changed and no reconcile has
// cleared yet — including imports whose re-match was interrupted.
func (s *Store) PendingRematch(ctx context.Context) (store.Scope, error) {
	scope := store.Scope{Keys: []string{}, AdvisoryCauses: map[string]string{}}
	rows, err := s.db.QueryContext(ctx, `SELECT lookup_key FROM pending_rematch ORDER BY lookup_key`)
	if err != nil {
		return scope, err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return scope, err
		}
		scope.Keys = append(scope.Keys, k)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT advisory_id, cause FROM pending_causes`)
	if err != nil {
		return scope, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, c string
		if err := rows.Scan(&id, &c); err != nil {
			return scope, err
		}
		scope.AdvisoryCauses[id] = c
	}
	return scope, rows.Err()
}

// ClearPending removes a re-matched delta. Re-matching the same keys twice
// is harmless, so a kill between the re-match and this call only repeats work.
func (s *Store) ClearPending(ctx context.Context, scope store.Scope) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range scope.Keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pending_rematch WHERE lookup_key = ?`, k); err != nil {
				return err
			}
		}
		for id := range scope.AdvisoryCauses {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pending_causes WHERE advisory_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// FeedGeneration is bumped by every feed import (see ApplyMatches).
func (s *Store) FeedGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, `SELECT gen FROM feed_generation WHERE id = 1`).Scan(&gen)
	return gen, err
}
