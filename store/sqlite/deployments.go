package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// PutWorkload records an admitted workload, replacing what was recorded
// for its key: containers an update removed disappear, and a container
// keeps its first_seen while its image and digest stay the same.
func (s *Store) PutWorkload(ctx context.Context, w store.Workload) error {
	at := w.At
	if at.IsZero() {
		at = time.Now()
	}
	k := w.WorkloadKey
	return s.inTx(ctx, func(tx *sql.Tx) error {
		type prior struct{ image, digest, first string }
		had := map[string]prior{}
		rows, err := tx.QueryContext(ctx, `SELECT path, image, digest, first_seen FROM deployments WHERE cluster = ? AND namespace = ? AND kind = ? AND workload = ?`,
			k.Cluster, k.Namespace, k.Kind, k.Name)
		if err != nil {
			return fmt.Errorf("put workload %s/%s/%s: %w", k.Namespace, k.Kind, k.Name, err)
		}
		for rows.Next() {
			var path string
			var p prior
			if err := rows.Scan(&path, &p.image, &p.digest, &p.first); err != nil {
				rows.Close()
				return err
			}
			had[path] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE cluster = ? AND namespace = ? AND kind = ? AND workload = ?`,
			k.Cluster, k.Namespace, k.Kind, k.Name); err != nil {
			return fmt.Errorf("put workload %s/%s/%s: %w", k.Namespace, k.Kind, k.Name, err)
		}
		for _, c := range w.Containers {
			first := fmtTime(at)
			if p, ok := had[c.Path]; ok && p.image == c.Image && p.digest == c.Digest {
				first = p.first
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deployments (cluster, namespace, kind, workload, path, container, image, digest, environment, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				k.Cluster, k.Namespace, k.Kind, k.Name, c.Path, c.Name, c.Image, c.Digest, w.Environment, first, fmtTime(at)); err != nil {
				return fmt.Errorf("put workload %s/%s/%s: %w", k.Namespace, k.Kind, k.Name, err)
			}
		}
		return nil
	})
}

// DeleteWorkload removes a workload from the inventory.
func (s *Store) DeleteWorkload(ctx context.Context, k store.WorkloadKey) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM deployments WHERE cluster = ? AND namespace = ? AND kind = ? AND workload = ?`,
		k.Cluster, k.Namespace, k.Kind, k.Name)
	if err != nil {
		return fmt.Errorf("delete workload %s/%s/%s: %w", k.Namespace, k.Kind, k.Name, err)
	}
	return nil
}

// RetainWorkloads removes every workload of the cluster not in running —
// what a reconciliation against the cluster found no longer runs — and
// returns how many workloads it removed.
func (s *Store) RetainWorkloads(ctx context.Context, cluster string, running []store.WorkloadKey) (int, error) {
	keep := make(map[store.WorkloadKey]bool, len(running))
	for _, k := range running {
		k.Cluster = cluster
		keep[k] = true
	}
	removed := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT namespace, kind, workload FROM deployments WHERE cluster = ?`, cluster)
		if err != nil {
			return err
		}
		var gone []store.WorkloadKey
		for rows.Next() {
			k := store.WorkloadKey{Cluster: cluster}
			if err := rows.Scan(&k.Namespace, &k.Kind, &k.Name); err != nil {
				rows.Close()
				return err
			}
			if !keep[k] {
				gone = append(gone, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE cluster = ? AND namespace = ? AND kind = ? AND workload = ?`,
				k.Cluster, k.Namespace, k.Kind, k.Name); err != nil {
				return err
			}
		}
		removed = len(gone)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retain workloads of cluster %q: %w", cluster, err)
	}
	return removed, nil
}

// Deployments lists inventory rows matching the filter, ordered by
// cluster, namespace, kind, workload and container path.
func (s *Store) Deployments(ctx context.Context, f store.DeploymentFilter) ([]store.Deployment, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{
		{"cluster", f.Cluster}, {"namespace", f.Namespace}, {"environment", f.Environment},
		{"kind", f.Kind}, {"workload", f.Workload}, {"digest", f.Digest},
	} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	q := `SELECT cluster, namespace, kind, workload, path, container, image, digest, environment, first_seen, last_seen FROM deployments`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY cluster, namespace, kind, workload, path`, args...)
	if err != nil {
		return nil, fmt.Errorf("deployments: %w", err)
	}
	defer rows.Close()
	out := []store.Deployment{}
	for rows.Next() {
		var d store.Deployment
		var first, last string
		if err := rows.Scan(&d.Cluster, &d.Namespace, &d.Kind, &d.Workload, &d.Path, &d.Container, &d.Image, &d.Digest, &d.Environment, &first, &last); err != nil {
			return nil, err
		}
		d.FirstSeen, d.LastSeen = parseTime(first), parseTime(last)
		out = append(out, d)
	}
	return out, rows.Err()
}
