package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/safeguard-dev/safeguard/store"
)

// RecordSignatureMaterial stores attached signature layers once.
func (s *Store) RecordSignatureMaterial(ctx context.Context, ms []store.SignatureMaterial) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			// New material makes cached verdicts for the subject (and the
			// platform images of an index) stale: an image signed after its
			// first crawl must not stay "unsigned".
			if _, err := tx.ExecContext(ctx, `DELETE FROM signature_status WHERE digest = ? OR digest IN (SELECT digest FROM images WHERE index_digest = ?)`, m.Subject, m.Subject); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO signature_material (subject, referrer, idx, kind, artifact_type, media_type, annotations, body)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject, referrer, idx) DO NOTHING`,
				m.Subject, m.Referrer, m.Index, m.Kind, m.ArtifactType, m.MediaType, marshal(nonNilMap(m.Annotations)), m.Body); err != nil {
				return err
			}
		}
		return nil
	})
}

// SignatureMaterial returns what is attached to the given subjects.
func (s *Store) SignatureMaterial(ctx context.Context, subjects ...string) ([]store.SignatureMaterial, error) {
	if len(subjects) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT subject, referrer, idx, kind, artifact_type, media_type, annotations, body FROM signature_material
		WHERE subject IN (`+placeholders(len(subjects))+`) ORDER BY subject, referrer, idx`, stringsToAny(subjects)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SignatureMaterial
	for rows.Next() {
		var m store.SignatureMaterial
		var ann string
		if err := rows.Scan(&m.Subject, &m.Referrer, &m.Index, &m.Kind, &m.ArtifactType, &m.MediaType, &ann, &m.Body); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(ann), &m.Annotations)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PutSignatureStatus stores (or replaces) the verdict for a digest under a policy.
func (s *Store) PutSignatureStatus(ctx context.Context, st store.SignatureStatus) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO signature_status (digest, policy_hash, status, detail, verified_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (digest, policy_hash) DO UPDATE SET status = excluded.status, detail = excluded.detail, verified_at = excluded.verified_at`,
		st.Digest, st.PolicyHash, st.Status, string(st.Detail), fmtTime(st.VerifiedAt))
	return err
}

// SignatureStatus returns the cached verdict for a digest under a policy.
func (s *Store) SignatureStatus(ctx context.Context, digest, policyHash string) (store.SignatureStatus, error) {
	st := store.SignatureStatus{Digest: digest, PolicyHash: policyHash}
	var detail, at string
	err := s.db.QueryRowContext(ctx, `SELECT status, detail, verified_at FROM signature_status WHERE digest = ? AND policy_hash = ?`, digest, policyHash).Scan(&st.Status, &detail, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, store.ErrNotFound
	}
	st.Detail, st.VerifiedAt = []byte(detail), parseTime(at)
	return st, err
}

// Digests lists every stored image and index digest, with the index each
// platform image belongs to (empty for indexes and single images).
func (s *Store) Digests(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT digest, index_digest FROM images UNION SELECT digest, '' FROM indexes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var d, idx string
		if err := rows.Scan(&d, &idx); err != nil {
			return nil, err
		}
		out[d] = idx
	}
	return out, rows.Err()
}
