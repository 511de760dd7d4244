package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// RetainWorkloadsSeenBefore removes, in one transaction, the workloads of
// cluster that are not in running and were last recorded before before,
// and returns them. A workload recorded since is kept though the listing
// did not name it: admission records a workload before the API server
// stores it and before its Pods exist, so a listing taken then cannot
// show it, and removing it would lose it until its next update.
func (s *Store) RetainWorkloadsSeenBefore(ctx context.Context, cluster string, running []store.WorkloadKey, before time.Time) ([]store.WorkloadKey, error) {
	keep := make(map[store.WorkloadKey]bool, len(running))
	for _, k := range running {
		k.Cluster = cluster
		keep[k] = true
	}
	var gone []store.WorkloadKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		gone = gone[:0]
		rows, err := tx.QueryContext(ctx, `SELECT namespace, kind, workload, MAX(last_seen) FROM deployments WHERE cluster = ?
			GROUP BY namespace, kind, workload ORDER BY namespace, kind, workload`, cluster)
		if err != nil {
			return err
		}
		cutoff := fmtTime(before)
		for rows.Next() {
			k := store.WorkloadKey{Cluster: cluster}
			var last string
			if err := rows.Scan(&k.Namespace, &k.Kind, &k.Name, &last); err != nil {
				rows.Close()
				return err
			}
			if !keep[k] && last < cutoff { // one fixed-width UTC format: text order is time order
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
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("retain workloads of cluster %q: %w", cluster, err)
	}
	return gone, nil
}
