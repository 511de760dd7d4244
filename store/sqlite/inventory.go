package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/store"
)

// CurrentTags returns tag → digest as last observed in a repository.
func (s *Store) CurrentTags(ctx context.Context, repository string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tag, digest FROM tag_history WHERE repository = ? AND current = 1`, repository)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var t, d string
		if err := rows.Scan(&t, &d); err != nil {
			return nil, err
		}
		out[t] = d
	}
	return out, rows.Err()
}

// HasImage reports whether a manifest or index digest is stored.
func (s *Store) HasImage(ctx context.Context, digest string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM images WHERE digest = ?) + (SELECT COUNT(*) FROM indexes WHERE digest = ?)`, digest, digest).Scan(&n)
	return n > 0, err
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// RecordImage stores a platform image once; it also records a new-image event.
func (s *Store) RecordImage(ctx context.Context, img store.Image) error {
	at := img.FirstSeen
	if at.IsZero() {
		at = time.Now()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO images (digest, repository, index_digest, media_type, config_digest, os, architecture, variant, created, labels, annotations, layers, diff_ids, size, first_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
			img.Digest, img.Repository, img.IndexDigest, img.MediaType, img.ConfigDigest, img.OS, img.Architecture, img.Variant,
			fmtTime(img.Created), marshal(nonNilMap(img.Labels)), marshal(nonNilMap(img.Annotations)), marshal(nonNil(img.Layers)), marshal(nonNil(img.DiffIDs)), img.Size, fmtTime(at))
		if err != nil {
			return fmt.Errorf("record image %s: %w", img.Digest, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return insertEvent(ctx, tx, store.Event{Kind: store.EventNewImage, Repository: img.Repository, Digest: img.Digest, At: at})
		}
		return nil
	})
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// RecordIndex notes an expanded multi-arch index and its children.
func (s *Store) RecordIndex(ctx context.Context, repository, digest, mediaType string, children []string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO indexes (digest, repository, media_type, children, first_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
		digest, repository, mediaType, marshal(nonNil(children)), fmtTime(time.Now()))
	return err
}

func insertEvent(ctx context.Context, tx *sql.Tx, e store.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (kind, repository, tag, digest, old_digest, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Kind, e.Repository, e.Tag, e.Digest, e.OldDigest, e.Detail, fmtTime(e.At))
	return err
}

// RecordTag appends an observation to the tag's history. An unchanged tag
// only extends its current stretch; a tag pointing elsewhere closes it and
// opens a new one, and that is a moved-tag event.
func (s *Store) RecordTag(ctx context.Context, obs store.TagObservation) (*store.Event, error) {
	at := obs.At
	if at.IsZero() {
		at = time.Now()
	}
	now := fmtTime(at)
	var ev *store.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var digest string
		err := tx.QueryRowContext(ctx, `SELECT id, digest FROM tag_history WHERE repository = ? AND tag = ? AND current = 1`, obs.Repository, obs.Tag).Scan(&id, &digest)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// A tag seen for the first time, or re-created after deletion.
			var prev string
			_ = tx.QueryRowContext(ctx, `SELECT digest FROM tag_history WHERE repository = ? AND tag = ? ORDER BY id DESC LIMIT 1`, obs.Repository, obs.Tag).Scan(&prev)
			_, err = tx.ExecContext(ctx, `INSERT INTO tag_history (repository, tag, digest, previous_digest, media_type, first_observed, last_observed, current) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
				obs.Repository, obs.Tag, obs.Digest, prev, obs.MediaType, now, now)
			if err == nil && prev != "" && prev != obs.Digest {
				ev = &store.Event{Kind: store.EventTagMoved, Repository: obs.Repository, Tag: obs.Tag, Digest: obs.Digest, OldDigest: prev, Detail: "tag re-created pointing at a different digest", At: at}
				err = insertEvent(ctx, tx, *ev)
			}
			return err
		case err != nil:
			return err
		case digest == obs.Digest:
			_, err = tx.ExecContext(ctx, `UPDATE tag_history SET last_observed = ? WHERE id = ?`, now, id)
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE tag_history SET current = 0 WHERE id = ?`, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tag_history (repository, tag, digest, previous_digest, media_type, first_observed, last_observed, current) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
				obs.Repository, obs.Tag, obs.Digest, digest, obs.MediaType, now, now); err != nil {
				return err
			}
			ev = &store.Event{Kind: store.EventTagMoved, Repository: obs.Repository, Tag: obs.Tag, Digest: obs.Digest, OldDigest: digest, At: at}
			return insertEvent(ctx, tx, *ev)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("record tag %s:%s: %w", obs.Repository, obs.Tag, err)
	}
	return ev, nil
}

// RemoveTagsExcept closes the history of tags no longer listed.
func (s *Store) RemoveTagsExcept(ctx context.Context, repository string, present []string, at time.Time) ([]store.Event, error) {
	keep := map[string]bool{}
	for _, t := range present {
		keep[t] = true
	}
	var evs []store.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, tag, digest FROM tag_history WHERE repository = ? AND current = 1`, repository)
		if err != nil {
			return err
		}
		type gone struct {
			id          int64
			tag, digest string
		}
		var gones []gone
		for rows.Next() {
			var g gone
			if err := rows.Scan(&g.id, &g.tag, &g.digest); err != nil {
				rows.Close()
				return err
			}
			if !keep[g.tag] {
				gones = append(gones, g)
			}
		}
		rows.Close()
		for _, g := range gones {
			if _, err := tx.ExecContext(ctx, `UPDATE tag_history SET current = 0 WHERE id = ?`, g.id); err != nil {
				return err
			}
			e := store.Event{Kind: store.EventTagDeleted, Repository: repository, Tag: g.tag, OldDigest: g.digest, At: at}
			if err := insertEvent(ctx, tx, e); err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	return evs, err
}

// RecordReferrer stores an attached artifact once.
func (s *Store) RecordReferrer(ctx context.Context, r store.Referrer) error {
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	var sbomID any
	if r.SBOMID != 0 {
		sbomID = r.SBOMID
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO referrers (subject, digest, repository, artifact_type, media_type, kind, found_via, annotations, size, sbom_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject, digest) DO UPDATE SET sbom_id = COALESCE(excluded.sbom_id, referrers.sbom_id)`,
		r.Subject, r.Digest, r.Repository, r.ArtifactType, r.MediaType, r.Kind, r.FoundVia, marshal(nonNilMap(r.Annotations)), r.Size, sbomID, fmtTime(at))
	return err
}

// HasReferrer reports whether an attached artifact is stored.
func (s *Store) HasReferrer(ctx context.Context, subject, digest string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM referrers WHERE subject = ? AND digest = ?`, subject, digest).Scan(&n)
	return n > 0, err
}

// TagHistory returns the history of one repository's tags (all tags when
// tag is empty), newest first.
func (s *Store) TagHistory(ctx context.Context, repository, tag string) ([]store.TagRecord, error) {
	q := `SELECT repository, tag, digest, previous_digest, first_observed, last_observed, current FROM tag_history WHERE repository = ?`
	args := []any{repository}
	if tag != "" {
		q += ` AND tag = ?`
		args = append(args, tag)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY tag, id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TagRecord
	for rows.Next() {
		var r store.TagRecord
		var first, last string
		var cur int
		if err := rows.Scan(&r.Repository, &r.Tag, &r.Digest, &r.PreviousDigest, &first, &last, &cur); err != nil {
			return nil, err
		}
		r.FirstObserved, r.LastObserved, r.Current = parseTime(first), parseTime(last), cur == 1
		out = append(out, r)
	}
	return out, rows.Err()
}

// Repositories lists the repositories with stored tags or images.
func (s *Store) Repositories(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT repository FROM tag_history UNION SELECT repository FROM images ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const imageColumns = `digest, repository, index_digest, media_type, config_digest, os, architecture, variant, created, labels, annotations, layers, diff_ids, size, first_seen`

func scanImage(sc interface{ Scan(...any) error }) (store.Image, error) {
	var img store.Image
	var created, labels, ann, layers, diffs, first string
	err := sc.Scan(&img.Digest, &img.Repository, &img.IndexDigest, &img.MediaType, &img.ConfigDigest, &img.OS, &img.Architecture, &img.Variant,
		&created, &labels, &ann, &layers, &diffs, &img.Size, &first)
	if err != nil {
		return img, err
	}
	img.Created, img.FirstSeen = parseTime(created), parseTime(first)
	_ = json.Unmarshal([]byte(labels), &img.Labels)
	_ = json.Unmarshal([]byte(ann), &img.Annotations)
	_ = json.Unmarshal([]byte(layers), &img.Layers)
	_ = json.Unmarshal([]byte(diffs), &img.DiffIDs)
	return img, nil
}

// Image returns one stored image by digest.
func (s *Store) Image(ctx context.Context, digest string) (store.Image, error) {
	img, err := scanImage(s.db.QueryRowContext(ctx, `SELECT `+imageColumns+` FROM images WHERE digest = ?`, digest))
	if errors.Is(err, sql.ErrNoRows) {
		return img, store.ErrNotFound
	}
	return img, err
}

// Images lists stored images, optionally of one repository.
func (s *Store) Images(ctx context.Context, repository string) ([]store.Image, error) {
	q := `SELECT ` + imageColumns + ` FROM images`
	var args []any
	if repository != "" {
		q += ` WHERE repository = ?`
		args = append(args, repository)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY repository, first_seen, digest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Image
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, rows.Err()
}

// Referrers returns what is attached to a subject digest.
func (s *Store) Referrers(ctx context.Context, subject string) ([]store.Referrer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject, digest, repository, artifact_type, media_type, kind, found_via, annotations, size, COALESCE(sbom_id, 0), at
		FROM referrers WHERE subject = ? ORDER BY at, digest`, subject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Referrer
	for rows.Next() {
		var r store.Referrer
		var ann, at string
		if err := rows.Scan(&r.Subject, &r.Digest, &r.Repository, &r.ArtifactType, &r.MediaType, &r.Kind, &r.FoundVia, &ann, &r.Size, &r.SBOMID, &at); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(ann), &r.Annotations)
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EventFilter narrows an events query.
type EventFilter struct {
	Kinds []string
	Since time.Time
	Limit int
}

// Events lists events, newest first.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]store.Event, error) {
	q := `SELECT id, kind, repository, tag, digest, old_digest, detail, at FROM events WHERE at >= ?`
	args := []any{fmtTime(f.Since)}
	if len(f.Kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(f.Kinds)) + `)`
		args = append(args, stringsToAny(f.Kinds)...)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at string
		if err := rows.Scan(&e.ID, &e.Kind, &e.Repository, &e.Tag, &e.Digest, &e.OldDigest, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Tags returns the current tags pointing at a digest (directly, or at the
// index it belongs to).
func (s *Store) Tags(ctx context.Context, digest string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT th.repository || ':' || th.tag FROM tag_history th
		WHERE th.current = 1 AND (th.digest = ? OR th.digest = (SELECT index_digest FROM images WHERE digest = ? AND index_digest <> ''))`, digest, digest)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// ImageSBOMs returns the SBOMs stored for an image digest (attached in the
// registry, or ingested with --image ref@digest).
func (s *Store) ImageSBOMs(ctx context.Context, digest string) ([]store.SBOM, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sbomColumns+` FROM sboms WHERE image_digest = ? ORDER BY id`, digest)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SBOM
	for rows.Next() {
		r, err := scanSBOM(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FeedImport is one recorded feed import.
type FeedImport struct {
	Source     string    `json:"source"`
	ImportedAt time.Time `json:"imported_at"`
	Added      int       `json:"added"`
	Changed    int       `json:"changed"`
	Withdrawn  int       `json:"withdrawn"`
	Unchanged  int       `json:"unchanged"`
	KEV        int       `json:"kev"`
	EPSS       int       `json:"epss"`
}

// FeedImports lists the latest import of each source, newest first.
func (s *Store) FeedImports(ctx context.Context) ([]FeedImport, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, imported_at, added, changed, withdrawn, unchanged, kev, epss FROM feed_imports f
		WHERE id = (SELECT MAX(id) FROM feed_imports g WHERE g.source = f.source) ORDER BY imported_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FeedImport
	for rows.Next() {
		var f FeedImport
		var at string
		if err := rows.Scan(&f.Source, &at, &f.Added, &f.Changed, &f.Withdrawn, &f.Unchanged, &f.KEV, &f.EPSS); err != nil {
			return nil, err
		}
		f.ImportedAt = parseTime(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RecordNewKEVEvents adds a new_kev_finding event for every open finding
// that is in the KEV catalog and has not been announced yet — whether the
// finding is new or the catalog just listed its CVE. It returns the events.
func (s *Store) RecordNewKEVEvents(ctx context.Context, at time.Time) ([]store.Event, error) {
	fs, err := s.Findings(ctx, store.FindingFilter{KEV: true})
	if err != nil {
		return nil, err
	}
	var out []store.Event
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for _, f := range fs {
			detail := fmt.Sprintf("sbom %d: %s %s: %s", f.SBOMID, f.Package.Name, f.Package.Version, f.AdvisoryID)
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE kind = ? AND detail = ?`, store.EventNewKEV, detail).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			// The SBOM's image is "host/repo@sha256:…" when it came from a
			// registry; events keep repository and digest apart.
			repo, digest, ok := strings.Cut(f.Image, "@")
			if !ok {
				repo, digest = f.Image, ""
			}
			e := store.Event{Kind: store.EventNewKEV, Repository: repo, Digest: digest, Detail: detail, At: at}
			if err := insertEvent(ctx, tx, e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
