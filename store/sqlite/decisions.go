package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

const insertDecision = `INSERT INTO decisions (evaluated_at, reference, digest, verdict, incomplete, policy_hash, environment, namespace, cluster, source, latency_ms, repeats, last_at, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func decisionArgs(d store.DecisionRecord) []any {
	repeats, last := max(d.Repeats, 1), d.LastAt
	if last.IsZero() || last.Before(d.At) {
		last = d.At
	}
	return []any{fmtTime(d.At), d.Reference, d.Digest, d.Verdict, d.Incomplete, d.PolicyHash, d.Environment, d.Namespace, d.Cluster, d.Source, d.LatencyMS,
		repeats, fmtTime(last), string(d.Detail)}
}

// PutDecision appends a decision to the decision log and returns its id.
func (s *Store) PutDecision(ctx context.Context, d store.DecisionRecord) (int64, error) {
	if !json.Valid(d.Detail) {
		return 0, errors.New("put decision: detail is not JSON")
	}
	res, err := s.db.ExecContext(ctx, insertDecision, decisionArgs(d)...)
	if err != nil {
		return 0, fmt.Errorf("put decision: %w", err)
	}
	return res.LastInsertId()
}

// Decisions lists logged decisions, newest first.
func (s *Store) Decisions(ctx context.Context, f store.DecisionFilter) ([]store.DecisionRecord, error) {
	q := `SELECT id, evaluated_at, reference, digest, verdict, incomplete, policy_hash, environment, namespace, cluster, source, latency_ms, repeats, last_at, detail FROM decisions WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"digest", f.Digest}, {"reference", f.Reference}, {"verdict", f.Verdict}, {"environment", f.Environment}, {"namespace", f.Namespace}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		q += ` AND evaluated_at >= ?`
		args = append(args, fmtTime(f.Since))
	}
	limit := f.Limit
	if limit <= 0 || limit > store.MaxDecisions {
		limit = store.MaxDecisions
	}
	q += ` ORDER BY evaluated_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.DecisionRecord{}
	for rows.Next() {
		var d store.DecisionRecord
		var at, last, detail string
		if err := rows.Scan(&d.ID, &at, &d.Reference, &d.Digest, &d.Verdict, &d.Incomplete, &d.PolicyHash, &d.Environment, &d.Namespace, &d.Cluster, &d.Source, &d.LatencyMS,
			&d.Repeats, &last, &detail); err != nil {
			return nil, err
		}
		d.At, d.LastAt, d.Detail = parseTime(at), parseTime(last), json.RawMessage(detail)
		out = append(out, d)
	}
	return out, rows.Err()
}

// IndexChildren returns the platform manifests of a stored multi-arch
// index; store.ErrNotFound when the digest is not a stored index.
func (s *Store) IndexChildren(ctx context.Context, digest string) ([]string, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT children FROM indexes WHERE digest = ?`, digest).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("index %s: children: %w", digest, err)
	}
	return out, nil
}

// PutDecisions appends decisions in one transaction (a busy webhook's
// decisions, batched).
func (s *Store) PutDecisions(ctx context.Context, ds []store.DecisionRecord) error {
	for _, d := range ds {
		if !json.Valid(d.Detail) {
			return errors.New("put decisions: a detail is not JSON")
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, insertDecision)
		if err != nil {
			return fmt.Errorf("put decisions: %w", err)
		}
		defer st.Close()
		for _, d := range ds {
			if _, err := st.ExecContext(ctx, decisionArgs(d)...); err != nil {
				return fmt.Errorf("put decisions: %w", err)
			}
		}
		return nil
	})
}

// PruneDecisions removes the decision-log rows whose last decision was
// made before cutoff, and returns how many it removed.
func (s *Store) PruneDecisions(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM decisions WHERE last_at < ?`, fmtTime(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune decisions: %w", err)
	}
	return res.RowsAffected()
}
