package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/vex"
)

// ImportVEX stores VEX statements and bumps the VEX generation, in one
// transaction.
func (s *Store) ImportVEX(ctx context.Context, in store.VEXImport) (store.VEXResult, error) {
	var r store.VEXResult
	imported := fmtTime(in.At)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO vex_statements (vulnerability, product_key, image_digest, status, justification, source, at, imported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, st := range in.Statements {
			if st.Vulnerability == "" || st.ProductKey == "" || st.Status == "" {
				return fmt.Errorf("vex statement %+v: vulnerability, product and status are required", st)
			}
			at := imported
			if !st.At.IsZero() {
				at = fmtTime(st.At)
			}
			names := append([]string{st.Vulnerability}, st.Aliases...)
			seen := map[string]bool{}
			for _, name := range names {
				if seen[name] {
					continue
				}
				seen[name] = true
				if _, err := stmt.ExecContext(ctx, name, st.ProductKey, st.ImageDigest, st.Status, st.Justification, in.Source, at, imported); err != nil {
					return err
				}
				r.Rows++
			}
			r.Statements++
		}
		_, err = tx.ExecContext(ctx, `UPDATE vex_generation SET gen = gen + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return store.VEXResult{}, err
	}
	return r, nil
}

// VEXGeneration is bumped by every VEX import.
func (s *Store) VEXGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, `SELECT gen FROM vex_generation WHERE id = 1`).Scan(&gen)
	return gen, err
}

// VEXStates returns, by index into fs, the status of the latest VEX
// statement that applies to each finding: one naming the finding's
// advisory id or an alias, for its package (vex.ProductKey of its purl),
// and either unscoped or scoped to the image digest of the finding's SBOM
// (or the index that image belongs to).
// Findings no statement applies to are absent.
func (s *Store) VEXStates(ctx context.Context, fs []store.Finding) (map[int]string, error) {
	out := map[int]string{}
	keys := make([]string, len(fs))
	var list []any
	seenKey := map[string]bool{}
	sbomSet := map[int64]bool{}
	var sbomIDs []any
	for i, f := range fs {
		k, err := vex.ProductKey(f.Package.PURL)
		if err != nil {
			continue // no purl with a version: no statement can name it
		}
		keys[i] = k
		if !seenKey[k] {
			seenKey[k] = true
			list = append(list, k)
		}
		if !sbomSet[f.SBOMID] {
			sbomSet[f.SBOMID] = true
			sbomIDs = append(sbomIDs, f.SBOMID)
		}
	}
	if len(list) == 0 {
		return out, nil
	}
	type row struct {
		digest, status, at string
		id                 int64
	}
	type vk struct{ vuln, product string }
	rowsBy := map[vk][]row{}
	for _, chunk := range chunks(list, 400) {
		rows, err := s.db.QueryContext(ctx, `SELECT vulnerability, product_key, image_digest, status, at, id FROM vex_statements WHERE product_key IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k vk
			var r row
			if err := rows.Scan(&k.vuln, &k.product, &r.digest, &r.status, &r.at, &r.id); err != nil {
				rows.Close()
				return nil, err
			}
			rowsBy[k] = append(rowsBy[k], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(rowsBy) == 0 {
		return out, nil
	}
	// The digests an SBOM's findings are in: its image's, and the index
	// that image is a platform of (a statement about a multi-arch image
	// names the index digest people pull).
	type scope struct{ image, index string }
	digests := map[int64]scope{}
	for _, chunk := range chunks(sbomIDs, 400) {
		rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.image_digest, COALESCE(i.index_digest, '') FROM sboms s
			LEFT JOIN images i ON i.digest = s.image_digest AND s.image_digest <> '' WHERE s.id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var d scope
			if err := rows.Scan(&id, &d.image, &d.index); err != nil {
				rows.Close()
				return nil, err
			}
			digests[id] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for i, f := range fs {
		if keys[i] == "" {
			continue
		}
		var best *row
		for _, name := range append([]string{f.AdvisoryID}, f.Aliases...) {
			for j, r := range rowsBy[vk{name, keys[i]}] {
				if d := digests[f.SBOMID]; r.digest != "" && r.digest != d.image && r.digest != d.index {
					continue
				}
				if best == nil || r.at > best.at || (r.at == best.at && r.id > best.id) {
					best = &rowsBy[vk{name, keys[i]}][j]
				}
			}
		}
		if best != nil {
			out[i] = best.status
		}
	}
	return out, nil
}
