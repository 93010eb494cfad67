package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// evidenceFromRow is the Evidence a row holds.
func evidenceFromRow(r dbsqlc.Evidence) (casework.Evidence, error) {
	e := casework.Evidence{
		ID: r.ID, Kind: r.Kind, SHA256: r.SHA256, Size: r.Size, Location: r.Location, FileName: r.FileName,
		ContentType: r.ContentType, CapturedAt: r.CapturedAt, CapturedBy: r.CapturedBy, UploadedAt: r.UploadedAt,
	}
	if err := json.Unmarshal(r.UploadedBy, &e.UploadedBy); err != nil {
		return casework.Evidence{}, fmt.Errorf("decoding uploaded_by of evidence %q: %w", e.ID, err)
	}
	return e, nil
}

// InsertEvidence records an uploaded blob's metadata (a zero UploadedAt means
// now) and its uploader. Retrying it, or uploading the same content again,
// keeps the first metadata and adds the uploader; the same ID with
// different content (SHA-256 or size) is derrors.ErrAlreadyExists.
func (s *Store) InsertEvidence(ctx context.Context, e casework.Evidence) error {
	uploadedBy, err := json.Marshal(e.UploadedBy)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	var uploadedAt *time.Time
	if !e.UploadedAt.IsZero() {
		uploadedAt = &e.UploadedAt
	}
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.InsertEvidence(ctx, dbsqlc.InsertEvidenceParams{
			ID: e.ID, Kind: e.Kind, SHA256: e.SHA256, Size: e.Size, Location: e.Location, FileName: e.FileName,
			ContentType: e.ContentType, CapturedAt: e.CapturedAt, CapturedBy: e.CapturedBy, UploadedBy: uploadedBy,
			UploadedAt: uploadedAt,
		})
		if err != nil {
			return fmt.Errorf("inserting evidence %q: %w", e.ID, err)
		}
		if n == 0 {
			r, err := q.GetEvidence(ctx, e.ID)
			if err != nil {
				return fmt.Errorf("reading evidence %q: %w", e.ID, err)
			}
			if r.SHA256 != e.SHA256 || r.Size != e.Size {
				// Not saying what the other content is: the caller may
				// not be one who may read it.
				return derrors.New(derrors.ErrAlreadyExists, "evidence %s already names other content: the first 16 digits of their SHA-256 are the same", e.ID)
			}
		}
		// Every uploader holds the content: each may read and name it.
		if e.UploadedBy.Subject == "" {
			return nil
		}
		var capturedAt *time.Time
		if !e.CapturedAt.IsZero() {
			capturedAt = &e.CapturedAt
		}
		if err := q.AddEvidenceUploader(ctx, dbsqlc.AddEvidenceUploaderParams{
			EvidenceID: e.ID, Subject: e.UploadedBy.Subject,
			FileName: e.FileName, CapturedAt: capturedAt, CapturedBy: e.CapturedBy,
		}); err != nil {
			return fmt.Errorf("recording the uploader of evidence %q: %w", e.ID, err)
		}
		return nil
	})
}

// EvidenceUploadedBy says whether the caller with sign-in subject uploaded
// evidence id (first or again: InsertEvidence records each uploader).
func (s *Store) EvidenceUploadedBy(ctx context.Context, id, subject string) (bool, error) {
	_, found, err := s.EvidenceUploadOf(ctx, id, subject)
	return found, err
}

// EvidenceUpload is what one uploader said of its own upload of a piece of
// evidence, and when it uploaded it. Uploads recorded before migration 024
// have no file name, capture time or capturer (empty, zero).
type EvidenceUpload struct {
	FileName   string
	CapturedAt time.Time
	CapturedBy string
	UploadedAt time.Time
}

// EvidenceUploadOf is the upload of evidence id by the caller with sign-in
// subject; found is false when that caller never uploaded it (or has no
// subject).
func (s *Store) EvidenceUploadOf(ctx context.Context, id, subject string) (u EvidenceUpload, found bool, err error) {
	if subject == "" {
		return u, false, nil
	}
	r, found, err := optional(s.q.EvidenceUpload(ctx, dbsqlc.EvidenceUploadParams{EvidenceID: id, Subject: subject}))
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("reading the upload of evidence %q: %w", id, err)
		}
		return u, false, err
	}
	return EvidenceUpload{FileName: r.FileName, CapturedAt: orZero(r.CapturedAt), CapturedBy: r.CapturedBy, UploadedAt: r.UploadedAt}, true, nil
}

// GetEvidence returns the metadata of those of ids that exist, in the order
// of ids (each once); missing ones are left out (see MissingEvidence).
func (s *Store) GetEvidence(ctx context.Context, ids []string) ([]casework.Evidence, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.q.EvidenceOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading evidence: %w", err)
	}
	list, err := convertAll(rows, evidenceFromRow)
	if err != nil {
		return nil, fmt.Errorf("reading evidence: %w", err)
	}
	byID := make(map[string]casework.Evidence, len(list))
	for _, e := range list {
		byID[e.ID] = e
	}
	var out []casework.Evidence
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			out = append(out, e)
			delete(byID, id)
		}
	}
	return out, nil
}

// EvidenceNamed reports whether anything names the evidence but the
// changes of the person signed in as callerSubject: an event of someone
// else (every change that attaches evidence records it in its event), or
// an object EvidenceInReach knows. Evidence nothing names may be handed on;
// named evidence may be named again only by those who can read it, or who
// attached it themselves (api, unnameableEvidence).
func (s *Store) EvidenceNamed(ctx context.Context, id, callerSubject string) (bool, error) {
	named, err := s.q.EvidenceNamedByEvent(ctx, dbsqlc.EvidenceNamedByEventParams{ID: id, CallerSubject: callerSubject})
	if err != nil {
		return false, fmt.Errorf("reading the events that name evidence %q: %w", id, err)
	}
	if named {
		return true, nil
	}
	// Reach{} with no subject: whether any object names it.
	switch err := s.InReach(ctx, Reach{}, SubjectEvidence, id); {
	case err == nil:
		return true, nil
	case errors.Is(err, derrors.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// MissingEvidence returns those of ids that no evidence has, in the order of
// ids (each once); none missing is an empty result.
func (s *Store) MissingEvidence(ctx context.Context, ids []string) ([]string, error) {
	missing, _, err := s.EvidenceHeld(ctx, ids, "")
	return missing, err
}

// EvidenceHeld returns, in one read, those of ids that no evidence has
// (MissingEvidence's answer), and the set of the others whose first upload
// was the person signed in as callerSubject: evidence InReachToNameEvidence
// finds in their reach by its first rule, without a further read.
func (s *Store) EvidenceHeld(ctx context.Context, ids []string, callerSubject string) (missing []string, firstUploads map[string]bool, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	rows, err := s.q.EvidenceHeld(ctx, dbsqlc.EvidenceHeldParams{Ids: ids, CallerSubject: callerSubject})
	if err != nil {
		return nil, nil, fmt.Errorf("checking evidence: %w", err)
	}
	firstUploads = map[string]bool{}
	seen := map[string]bool{}
	for _, row := range rows {
		switch {
		case seen[row.ID]:
		case !row.Held:
			missing = append(missing, row.ID)
		case row.FirstUploader:
			firstUploads[row.ID] = true
		}
		seen[row.ID] = true
	}
	return missing, firstUploads, nil
}
