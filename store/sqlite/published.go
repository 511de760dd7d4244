package sqlite

import (
	"context"
	"strings"
	"time"
)

// AdvisoriesPublished returns when each named advisory was published (as
// its record says); advisories without a date are absent from the map.
func (s *Store) AdvisoriesPublished(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		part := ids[:n]
		ids = ids[n:]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, `SELECT id, published FROM advisories WHERE published <> '' AND id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, p string
			if err := rows.Scan(&id, &p); err != nil {
				rows.Close()
				return nil, err
			}
			if t := parseTime(p); !t.IsZero() {
				out[id] = t
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
