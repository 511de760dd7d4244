// Package sqlite is the embedded Safeguard store: one SQLite file in WAL
// mode through the pure-Go modernc.org/sqlite driver, so the default set-up
// needs no server and no C toolchain. Migrations are embedded and applied on
// open; every write that must be atomic (an SBOM ingest, a feed import, a
// reconcile) runs in one transaction.
package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/safeguard-dev/safeguard/sbom"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vuln"
)

//go:embed migrations/*.sql
var migrations embed.FS

const timeFormat = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// Store is a SQLite-backed store.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One writer at a time is how SQLite works; a single connection also
	// keeps temp tables and pragmas on one session.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	// Switching a new file to WAL and the first migration take locks that
	// SQLite does not always wait for; several processes opening one new
	// store at once retry for a while instead of failing.
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		err = s.migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || wait > 5*time.Second {
			break
		}
		time.Sleep(wait)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		// The check and the migration share one immediate (write-locked)
		// transaction, so processes opening a new store at once serialise.
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, fmtTime(time.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Digest returns the content digest used to store a document once.
func Digest(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func packageIdent(p sbom.Package) string { return p.Key() + "\x00" + p.PURL }

func distroString(d *sbom.Distro) string {
	if d == nil {
		return ""
	}
	s := strings.Trim(d.ID+" "+d.VersionID, " ")
	if d.Variant != "" {
		s += " (" + d.Variant + ")" // debian 12 (distroless)
	}
	return s
}

// IngestSBOM stores a decoded SBOM, its document and its packages in one
// transaction. The same document for the same image is stored once.
func (s *Store) IngestSBOM(ctx context.Context, in store.IngestInput) (store.IngestResult, error) {
	doc := in.Document
	if doc == nil {
		return store.IngestResult{}, errors.New("ingest: no document")
	}
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	digest := Digest(in.Raw)
	rec := store.SBOM{
		Digest: digest, Source: in.Source, Image: in.Image, Format: doc.Format,
		FormatVersion: doc.FormatVersion, Subject: doc.Subject, Distro: distroString(doc.Distro),
		IngestedAt: at.UTC(), Packages: len(doc.Packages), Unidentified: len(doc.Unidentified),
	}
	ids := make([]int64, 0, len(doc.Packages))
	var existing *store.SBOM
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Checked inside the write-locked transaction: two processes ingesting
		// the same document both succeed, the second finds the first's row.
		if r, err := scanSBOM(tx.QueryRowContext(ctx, `SELECT `+sbomColumns+` FROM sboms WHERE digest = ? AND image = ?`, digest, in.Image)); err == nil {
			existing = &r
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO documents (digest, body) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`, digest, in.Raw); err != nil {
			return fmt.Errorf("store document: %w", err)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO sboms (digest, source, image, image_digest, format, format_version, subject, distro, ingested_at, package_count, unidentified_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			rec.Digest, rec.Source, rec.Image, imageDigest(rec.Image), rec.Format, rec.FormatVersion, rec.Subject, rec.Distro, fmtTime(at), rec.Packages, rec.Unidentified).Scan(&rec.ID)
		if err != nil {
			return fmt.Errorf("store sbom: %w", err)
		}
		upsert, err := tx.PrepareContext(ctx, `INSERT INTO packages (ident, purl, type, ecosystem, release, name, name_key, version, source_name, source_key, source_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ident) DO UPDATE SET ident = excluded.ident RETURNING id`)
		if err != nil {
			return err
		}
		defer upsert.Close()
		link, err := tx.PrepareContext(ctx, `INSERT INTO sbom_packages (sbom_id, package_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer link.Close()
		for _, p := range doc.Packages {
			var id int64
			if err := upsert.QueryRowContext(ctx, packageIdent(p), p.PURL, p.Type, p.Ecosystem, p.Release, p.Name,
				vuln.NameKey(p.Ecosystem, p.Name), p.Version, p.SourceName, vuln.NameKey(p.Ecosystem, p.SourceName), p.SourceVersion).Scan(&id); err != nil {
				return fmt.Errorf("store package %s: %w", p.PURL, err)
			}
			if _, err := link.ExecContext(ctx, rec.ID, id); err != nil {
				return fmt.Errorf("link package %s: %w", p.PURL, err)
			}
			ids = append(ids, id)
		}
		for _, u := range doc.Unidentified {
			if _, err := tx.ExecContext(ctx, `INSERT INTO unidentified (sbom_id, name, version, purl, reason) VALUES (?, ?, ?, ?, ?)`,
				rec.ID, u.Name, u.Version, u.PURL, u.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.IngestResult{}, fmt.Errorf("ingest %s: %w", in.Source, err)
	}
	if existing != nil {
		ids, err := s.sbomPackageIDs(ctx, existing.ID)
		return store.IngestResult{SBOM: *existing, Existing: true, PackageIDs: ids}, err
	}
	return store.IngestResult{SBOM: rec, PackageIDs: ids}, nil
}

func (s *Store) sbomPackageIDs(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT package_id FROM sbom_packages WHERE sbom_id = ? ORDER BY package_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		ids = append(ids, v)
	}
	return ids, rows.Err()
}

const sbomColumns = `id, digest, source, image, format, format_version, subject, distro, ingested_at, package_count, unidentified_count`

func scanSBOM(sc interface{ Scan(...any) error }) (store.SBOM, error) {
	var r store.SBOM
	var at string
	err := sc.Scan(&r.ID, &r.Digest, &r.Source, &r.Image, &r.Format, &r.FormatVersion, &r.Subject, &r.Distro, &at, &r.Packages, &r.Unidentified)
	r.IngestedAt = parseTime(at)
	return r, err
}

func (s *Store) sbomBy(ctx context.Context, where string, args ...any) (store.SBOM, error) {
	r, err := scanSBOM(s.db.QueryRowContext(ctx, `SELECT `+sbomColumns+` FROM sboms WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

// SBOM returns one stored SBOM by id.
func (s *Store) SBOM(ctx context.Context, id int64) (store.SBOM, error) {
	return s.sbomBy(ctx, `id = ?`, id)
}

// SBOMs lists stored SBOMs, newest first.
func (s *Store) SBOMs(ctx context.Context) ([]store.SBOM, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sbomColumns+` FROM sboms ORDER BY id DESC`)
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

// Document returns the original bytes of a stored SBOM.
func (s *Store) Document(ctx context.Context, digest string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT body FROM documents WHERE digest = ?`, digest).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return b, err
}

// Packages returns the packages of one SBOM.
func (s *Store) Packages(ctx context.Context, sbomID int64) ([]sbom.Package, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.purl, p.type, p.ecosystem, p.release, p.name, p.version, p.source_name, p.source_version
		FROM sbom_packages sp JOIN packages p ON p.id = sp.package_id WHERE sp.sbom_id = ? ORDER BY p.ecosystem, p.name, p.version`, sbomID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sbom.Package
	for rows.Next() {
		var p sbom.Package
		if err := rows.Scan(&p.PURL, &p.Type, &p.Ecosystem, &p.Release, &p.Name, &p.Version, &p.SourceName, &p.SourceVersion); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ImportFeed applies one feed import in one transaction and returns the
// delta: which lookup keys changed.
func (s *Store) ImportFeed(ctx context.Context, in store.FeedData) (store.FeedResult, error) {
	var res store.FeedResult
	at := in.At
	if at.IsZero() {
		at = time.Now()
	}
	now := fmtTime(at)
	keys := map[string]bool{}
	res.Causes = map[string]string{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		getHash, err := tx.PrepareContext(ctx, `SELECT content_hash FROM advisories WHERE id = ?`)
		if err != nil {
			return err
		}
		defer getHash.Close()
		oldKeys, err := tx.PrepareContext(ctx, `SELECT lookup_key FROM affected WHERE advisory_id = ?`)
		if err != nil {
			return err
		}
		defer oldKeys.Close()
		upsert, err := tx.PrepareContext(ctx, `INSERT INTO advisories (id, content_hash, modified, published, withdrawn, summary, severity, cvss_score, cvss_vector, severity_source, record, source, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET content_hash = excluded.content_hash, modified = excluded.modified, published = excluded.published,
			withdrawn = excluded.withdrawn, summary = excluded.summary, severity = excluded.severity, cvss_score = excluded.cvss_score,
			cvss_vector = excluded.cvss_vector, severity_source = excluded.severity_source, record = excluded.record, source = excluded.source, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer upsert.Close()
		insAff, err := tx.PrepareContext(ctx, `INSERT INTO affected (advisory_id, idx, ecosystem, lookup_key, entry) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insAff.Close()
		insAlias, err := tx.PrepareContext(ctx, `INSERT INTO advisory_aliases (advisory_id, alias) VALUES (?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer insAlias.Close()

		for _, a := range in.Advisories {
			hash := in.Hashes[a.ID]
			if hash == "" {
				b, _ := json.Marshal(a)
				sum := sha256.Sum256(b)
				hash = hex.EncodeToString(sum[:])
			}
			var old string
			switch err := getHash.QueryRowContext(ctx, a.ID).Scan(&old); {
			case errors.Is(err, sql.ErrNoRows):
				if a.Withdrawn != nil {
					res.Withdrawn++
					res.Causes[a.ID] = store.CauseAdvisoryWithdrawn
				} else {
					res.Added++
					res.Causes[a.ID] = store.CauseNewAdvisory
				}
			case err != nil:
				return err
			case old == hash:
				res.Unchanged++
				continue
			default:
				if a.Withdrawn != nil {
					res.Withdrawn++
					res.Causes[a.ID] = store.CauseAdvisoryWithdrawn
				} else {
					res.Changed++
					res.Causes[a.ID] = store.CauseAdvisoryChanged
				}
				rows, err := oldKeys.QueryContext(ctx, a.ID)
				if err != nil {
					return err
				}
				for rows.Next() {
					var k string
					if err := rows.Scan(&k); err != nil {
						rows.Close()
						return err
					}
					keys[k] = true
				}
				rows.Close()
				for _, q := range []string{`DELETE FROM affected WHERE advisory_id = ?`, `DELETE FROM advisory_aliases WHERE advisory_id = ?`} {
					if _, err := tx.ExecContext(ctx, q, a.ID); err != nil {
						return err
					}
				}
			}
			record, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("advisory %s: %w", a.ID, err)
			}
			sc := in.Scores[a.ID]
			var published, withdrawn string
			if a.Published != nil {
				published = fmtTime(*a.Published)
			}
			if a.Withdrawn != nil {
				withdrawn = fmtTime(*a.Withdrawn)
			}
			if _, err := upsert.ExecContext(ctx, a.ID, hash, fmtTime(a.Modified), published, withdrawn, a.Summary,
				string(sc.Rating), sc.Score, sc.Vector, sc.Source, string(record), in.Source, now); err != nil {
				return fmt.Errorf("advisory %s: %w", a.ID, err)
			}
			for _, alias := range append([]string{a.ID}, a.Aliases...) {
				if _, err := insAlias.ExecContext(ctx, a.ID, alias); err != nil {
					return err
				}
			}
			if a.Withdrawn != nil {
				continue // withdrawn records keep their row but match nothing
			}
			for i, aff := range a.Affected {
				eco := vuln.ParseEcosystem(aff.Package.Ecosystem)
				k := vuln.LookupKey(eco.Base, aff.Package.Name)
				entry, err := json.Marshal(aff)
				if err != nil {
					return err
				}
				if _, err := insAff.ExecContext(ctx, a.ID, i, aff.Package.Ecosystem, k, string(entry)); err != nil {
					return fmt.Errorf("advisory %s affected[%d]: %w", a.ID, i, err)
				}
				keys[k] = true
			}
		}
		if err := s.importKEV(ctx, tx, in, &res); err != nil {
			return err
		}
		if len(in.EPSS) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO epss (cve, score, percentile, model_version, score_date) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (cve) DO UPDATE SET score = excluded.score, percentile = excluded.percentile, model_version = excluded.model_version, score_date = excluded.score_date`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, e := range in.EPSS {
				if _, err := st.ExecContext(ctx, e.CVE, e.Score, e.Percentile, e.ModelVersion, e.ScoreDate); err != nil {
					return fmt.Errorf("epss %s: %w", e.CVE, err)
				}
			}
			res.EPSS = len(in.EPSS)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feed_generation SET gen = gen + 1 WHERE id = 1`); err != nil {
			return err
		}
		for k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pending_rematch (lookup_key) VALUES (?) ON CONFLICT DO NOTHING`, k); err != nil {
				return err
			}
		}
		for id, c := range res.Causes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pending_causes (advisory_id, cause) VALUES (?, ?) ON CONFLICT (advisory_id) DO UPDATE SET cause = excluded.cause`, id, c); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO feed_imports (source, imported_at, added, changed, withdrawn, unchanged, kev, epss) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Source, now, res.Added, res.Changed, res.Withdrawn, res.Unchanged, len(in.KEV), len(in.EPSS))
		return err
	})
	if err != nil {
		return store.FeedResult{}, fmt.Errorf("import %s: %w", in.Source, err)
	}
	for k := range keys {
		res.Keys = append(res.Keys, k)
	}
	sort.Strings(res.Keys)
	return res, nil
}

func (s *Store) importKEV(ctx context.Context, tx *sql.Tx, in store.FeedData, res *store.FeedResult) error {
	if len(in.KEV) == 0 {
		return nil
	}
	before := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT cve FROM kev`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		before[c] = true
	}
	rows.Close()
	if in.KEVComplete {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kev`); err != nil {
			return err
		}
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO kev (cve, vendor_project, product, name, date_added, due_date, required_action, known_ransomware_use)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cve) DO UPDATE SET vendor_project = excluded.vendor_project, product = excluded.product,
		name = excluded.name, date_added = excluded.date_added, due_date = excluded.due_date, required_action = excluded.required_action,
		known_ransomware_use = excluded.known_ransomware_use`)
	if err != nil {
		return err
	}
	defer st.Close()
	after := map[string]bool{}
	for _, k := range in.KEV {
		if _, err := st.ExecContext(ctx, k.CVE, k.VendorProject, k.Product, k.Name, k.DateAdded, k.DueDate, k.RequiredAction, k.KnownRansomwareUse); err != nil {
			return fmt.Errorf("kev %s: %w", k.CVE, err)
		}
		after[k.CVE] = true
		if !before[k.CVE] {
			res.KEVAdded++
		}
	}
	if in.KEVComplete {
		for c := range before {
			if !after[c] {
				res.KEVRemoved++
			}
		}
	}
	res.KEVChanged = res.KEVAdded+res.KEVRemoved > 0
	return nil
}

// imageDigest is the digest an SBOM's image reference names: the part after
// '@' of repo@sha256:…, a bare digest itself, else "" (a tag or a name).
// Migration 0009 computes the same for SBOMs stored before it.
func imageDigest(image string) string {
	if i := strings.LastIndexByte(image, '@'); i >= 0 {
		return image[i+1:]
	}
	if strings.HasPrefix(image, "sha256:") {
		return image
	}
	return ""
}
