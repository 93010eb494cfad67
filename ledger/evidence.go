package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/internal/derrors"
)

const insertEvidence = `
INSERT INTO evidence (id, kind, sha256, size, location, file_name, content_type, captured_at, captured_by,
                      uploaded_by, uploaded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11::timestamptz, now()))
ON CONFLICT (id) DO NOTHING`

const selectEvidenceColumns = `
SELECT id, kind, sha256, size, location, file_name, content_type, captured_at, captured_by, uploaded_by,
       uploaded_at
FROM evidence`

func scanEvidence(row pgx.Row) (Evidence, error) {
	var e Evidence
	var uploadedBy []byte
	if err := row.Scan(&e.ID, &e.Kind, &e.SHA256, &e.Size, &e.Location, &e.FileName, &e.ContentType,
		&e.CapturedAt, &e.CapturedBy, &uploadedBy, &e.UploadedAt); err != nil {
		return Evidence{}, err
	}
	if err := json.Unmarshal(uploadedBy, &e.UploadedBy); err != nil {
		return Evidence{}, fmt.Errorf("decoding uploaded_by of evidence %q: %w", e.ID, err)
	}
	return e, nil
}

// InsertEvidence records an uploaded blob's metadata (a zero UploadedAt means
// now). Retrying it is a no-op; the same ID with different content (SHA-256
// or size) is derrors.ErrAlreadyExists.
func (s *Store) InsertEvidence(ctx context.Context, e Evidence) error {
	uploadedBy, err := json.Marshal(e.UploadedBy)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	var uploadedAt *time.Time
	if !e.UploadedAt.IsZero() {
		uploadedAt = &e.UploadedAt
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertEvidence, e.ID, e.Kind, e.SHA256, e.Size, e.Location, e.FileName,
			e.ContentType, e.CapturedAt, e.CapturedBy, uploadedBy, uploadedAt)
		if err != nil {
			return fmt.Errorf("inserting evidence %q: %w", e.ID, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		first, err := scanEvidence(tx.QueryRow(ctx, selectEvidenceColumns+` WHERE id = $1`, e.ID))
		if err != nil {
			return fmt.Errorf("reading evidence %q: %w", e.ID, err)
		}
		if first.SHA256 != e.SHA256 || first.Size != e.Size {
			return fmt.Errorf("evidence ID %q already names other content (sha256 %s): %w", e.ID, first.SHA256, derrors.ErrAlreadyExists)
		}
		return nil
	})
}

const getEvidence = selectEvidenceColumns + `
WHERE id = ANY($1::text[])`

// GetEvidence returns the metadata of those of ids that exist, in the order
// of ids (each once); missing ones are left out (see MissingEvidence).
func (s *Store) GetEvidence(ctx context.Context, ids []string) ([]Evidence, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, getEvidence, ids)
	if err != nil {
		return nil, fmt.Errorf("reading evidence: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Evidence, error) { return scanEvidence(r) })
	if err != nil {
		return nil, fmt.Errorf("reading evidence: %w", err)
	}
	byID := make(map[string]Evidence, len(list))
	for _, e := range list {
		byID[e.ID] = e
	}
	var out []Evidence
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			out = append(out, e)
			delete(byID, id)
		}
	}
	return out, nil
}

const missingEvidence = `
SELECT id FROM unnest($1::text[]) WITH ORDINALITY AS wanted (id, n)
WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = wanted.id)
ORDER BY n`

// MissingEvidence returns those of ids that no evidence has, in the order of
// ids (each once); none missing is an empty result.
func (s *Store) MissingEvidence(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, missingEvidence, ids)
	if err != nil {
		return nil, fmt.Errorf("checking evidence: %w", err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("checking evidence: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, id := range missing {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
