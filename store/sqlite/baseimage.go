package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// PutBaseChain replaces the stored base chain of an image digest. Links are
// stored in the order given; their Position is their index.
func (s *Store) PutBaseChain(ctx context.Context, digest string, links []store.BaseLink) error {
	return s.PutBaseChains(ctx, map[string][]store.BaseLink{digest: links})
}

// PutBaseChains replaces the chains of several images in one transaction:
// a re-attribution after a crawl is stored whole or not at all.
func (s *Store) PutBaseChains(ctx context.Context, chains map[string][]store.BaseLink) error {
	if len(chains) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		del, err := tx.PrepareContext(ctx, `DELETE FROM base_images WHERE digest = ?`)
		if err != nil {
			return fmt.Errorf("put base chains: %w", err)
		}
		defer del.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO base_images (`+baseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("put base chains: %w", err)
		}
		defer ins.Close()
		for digest, links := range chains {
			if _, err := del.ExecContext(ctx, digest); err != nil {
				return fmt.Errorf("put base chain %s: %w", digest, err)
			}
			for i, l := range links {
				at := l.ComputedAt
				if at.IsZero() {
					at = time.Now()
				}
				ident := 0
				if l.Identical {
					ident = 1
				}
				_, err := ins.ExecContext(ctx, digest, i, l.BaseRepository, l.BaseDigest, l.BaseIndexDigest, l.BaseTag, marshal(nonNil(l.BaseTags)), l.Method, l.Confidence, l.SharedLayers, ident,
					marshal(nonNil(l.Alternatives)), l.Note, fmtTime(at))
				if err != nil {
					return fmt.Errorf("put base chain %s: %w", digest, err)
				}
			}
		}
		return nil
	})
}

const baseColumns = `digest, position, base_repository, base_digest, base_index_digest, base_tag, base_tags, method, confidence, shared_layers, identical, alternatives, note, computed_at`

// BaseChain returns the stored base chain of an image digest, nearest base
// first; nil when none was stored.
func (s *Store) BaseChain(ctx context.Context, digest string) ([]store.BaseLink, error) {
	m, err := s.baseChains(ctx, ` WHERE digest = ?`, digest)
	return m[digest], err
}

// BaseChains returns every stored base chain by image digest, so a
// re-attribution after a crawl compares with one query.
func (s *Store) BaseChains(ctx context.Context) (map[string][]store.BaseLink, error) {
	return s.baseChains(ctx, "")
}

func (s *Store) baseChains(ctx context.Context, where string, args ...any) (map[string][]store.BaseLink, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+baseColumns+` FROM base_images`+where+` ORDER BY digest, position`, args...)
	if err != nil {
		return nil, fmt.Errorf("base chains: %w", err)
	}
	defer rows.Close()
	out := map[string][]store.BaseLink{}
	for rows.Next() {
		var l store.BaseLink
		var digest, tags, alts, at string
		var ident int
		if err := rows.Scan(&digest, &l.Position, &l.BaseRepository, &l.BaseDigest, &l.BaseIndexDigest, &l.BaseTag, &tags, &l.Method, &l.Confidence, &l.SharedLayers, &ident, &alts, &l.Note, &at); err != nil {
			return nil, fmt.Errorf("base chains: %w", err)
		}
		_ = json.Unmarshal([]byte(tags), &l.BaseTags)
		_ = json.Unmarshal([]byte(alts), &l.Alternatives)
		if len(l.BaseTags) == 0 {
			l.BaseTags = nil
		}
		if len(l.Alternatives) == 0 {
			l.Alternatives = nil
		}
		l.Identical, l.ComputedAt = ident == 1, parseTime(at)
		out[digest] = append(out[digest], l)
	}
	return out, rows.Err()
}

// ImagesWithBase returns the digests of images whose base chain contains
// baseRepository with baseTag (any tag when baseTag is empty) at any depth:
// "which images use node:latest as a base?". A tag matches when it was the
// shown tag or any other tag the base carried when the image was built.
// The repository is compared exactly as stored (host/path).
func (s *Store) ImagesWithBase(ctx context.Context, baseRepository, baseTag string) ([]string, error) {
	q := `SELECT DISTINCT digest FROM base_images WHERE base_repository = ?`
	args := []any{baseRepository}
	if baseTag != "" {
		q += ` AND (base_tag = ? OR base_tags LIKE ? ESCAPE '\')`
		args = append(args, baseTag, "%"+likeEscape(marshal(baseTag))+"%")
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY digest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
