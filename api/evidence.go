package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
)

// DefaultMaxEvidenceBytes is the largest evidence upload accepted unless
// Server.MaxEvidenceBytes says otherwise: 100 MiB.
const DefaultMaxEvidenceBytes int64 = 100 << 20

// EvidenceKinds are the kinds of evidence an upload may declare; which media
// types each may hold is evidence.CheckType's table.
var EvidenceKinds = evidence.Kinds()

// Limits of the upload's descriptive fields.
const (
	maxFileNameLength   = 255
	maxCapturedByLength = 200
	// captureClockSkew is how far in the future captured_at may be: the
	// capturing device's clock may run ahead of the server's.
	captureClockSkew = 10 * time.Minute
)

// evidenceContentPolicy is the Content-Security-Policy of served evidence:
// should a browser render it after all, it runs in a sandbox (a unique
// origin, no script, no forms) and may load nothing.
const evidenceContentPolicy = "sandbox; default-src 'none'"

// emptySHA256 is the SHA-256 of no content: an empty upload is no evidence.
var emptySHA256 = hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }())

// evidenceHandler serves the evidence endpoints. They are plain HTTP beside
// the gateway, not gRPC, because they carry blobs:
//
//	POST /v1/evidence?kind=PHOTO&sha256=<hex>&captured_at=<RFC 3339>&captured_by=<text>&file_name=<text>
//	     body: the blob; its Content-Type is checked against the content
//	     and the kind (evidence.CheckType), and the checked type is kept
//	GET  /v1/evidence/{id}           metadata
//	GET  /v1/evidence/{id}/content   the blob, always as a download that is
//	     never rendered on the API's origin (see content)
type evidenceHandler struct {
	ledger   *ledger.Store
	store    *evidence.Store
	maxBytes int64
	guard
}

// evidenceBody is the JSON answer describing one piece of evidence.
type evidenceBody struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Location    string `json:"location"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	// CapturedAt and UploadedAt are left out when not known (a later
	// uploader's own upload recorded before migration 024).
	CapturedAt time.Time `json:"captured_at,omitzero"`
	CapturedBy string    `json:"captured_by"`
	UploadedBy actorBody `json:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at,omitzero"`
}

// actorBody is an actor as the gateway writes xuncha.v1.Actor.
type actorBody struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
}

func newEvidenceBody(e casework.Evidence) evidenceBody {
	return evidenceBody{
		ID: e.ID, Kind: e.Kind, SHA256: e.SHA256, Size: e.Size, Location: e.Location, FileName: e.FileName,
		ContentType: e.ContentType, CapturedAt: e.CapturedAt.UTC(), CapturedBy: e.CapturedBy,
		UploadedBy: actorBody{Name: e.UploadedBy.Name, Role: e.UploadedBy.Role, Organisation: e.UploadedBy.Organisation},
		UploadedAt: e.UploadedAt.UTC(),
	}
}

// EvidenceID is the ID of the evidence with the given SHA-256: the same blob
// uploaded twice is the same evidence.
func EvidenceID(sum string) string { return "ev-" + sum[:16] }

// register adds the endpoints to mux.
func (h *evidenceHandler) register(mux *http.ServeMux) {
	h.guard.register(mux, map[string]http.HandlerFunc{
		EvidenceUpload: h.upload, EvidenceMetadata: h.metadata, EvidenceContent: h.content,
	})
}

func (h *evidenceHandler) upload(w http.ResponseWriter, r *http.Request) {
	e, err := h.save(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, newEvidenceBody(e))
}

// save checks an upload, stores the blob (checked against its SHA-256) and
// records its metadata; an upload of stored content returns the first row.
func (h *evidenceHandler) save(r *http.Request) (casework.Evidence, error) {
	ctx := r.Context()
	who, err := actor.Require(ctx)
	if err != nil {
		return casework.Evidence{}, err
	}
	q := r.URL.Query()
	var v derrors.Violations
	kind := q.Get("kind")
	if !slices.Contains(EvidenceKinds, kind) {
		v.Add("kind", "must be one of %s", strings.Join(EvidenceKinds, ", "))
	}
	sum := strings.ToLower(strings.TrimSpace(q.Get("sha256")))
	switch {
	case !evidence.ValidSHA256(sum):
		v.Add("sha256", "must be the SHA-256 of the content as 64 hexadecimal digits")
	case sum == emptySHA256:
		v.Add("file", "must not be empty")
	}
	capturedAt, err := time.Parse(time.RFC3339, q.Get("captured_at"))
	switch {
	case err != nil:
		v.Add("captured_at", "must be an instant in RFC 3339, e.g. 2026-11-28T09:30:00+08:00")
	case capturedAt.Before(evidence.EarliestCapture()):
		v.Add("captured_at", "must not be before %s", evidence.EarliestCapture().Format(time.RFC3339))
	case capturedAt.After(time.Now().Add(captureClockSkew)):
		v.Add("captured_at", "must not be in the future (more than %d minutes ahead of the server's clock)", int(captureClockSkew.Minutes()))
	}
	capturedBy := strings.TrimSpace(q.Get("captured_by"))
	if capturedBy == "" {
		capturedBy = who.Name
	}
	// The query's texts keep the rule every request's lines keep (valid
	// UTF-8, no control or bidirectional formatting characters: a name
	// must not display as another).
	if rule := (stringRule{line, maxCapturedByLength}).check(capturedBy); rule.EN != "" {
		v.AddText("captured_by", rule)
	}
	fileName := q.Get("file_name")
	switch rule := (stringRule{line, maxFileNameLength}).check(fileName); {
	case rule.EN != "":
		v.AddText("file_name", rule)
	case strings.ContainsAny(fileName, `/\`):
		v.Add("file_name", "must be a plain file name, without path separators or control characters")
	case strings.HasSuffix(fileName, ".") || strings.TrimRightFunc(fileName, unicode.IsSpace) != fileName:
		// Saved on Windows, "photo.html." and "photo.html " lose the end
		// and open by the extension before it.
		v.Add("file_name", "must not end in a dot or a space")
	}
	// The content is read only when nothing already says the file is wrong.
	fileOK := sum != emptySHA256
	switch {
	case r.ContentLength == 0 && fileOK:
		v.Add("file", "must not be empty: send the content as the request body")
		fileOK = false
	case r.ContentLength > h.maxBytes:
		v.Add("file", "must be at most %d bytes", h.maxBytes)
		fileOK = false
	}
	// The declared type is checked against the content's first bytes, read
	// now, before anything is stored; the blob is their concatenation with
	// the rest of the body.
	var contentType string
	body := io.Reader(r.Body)
	if fileOK && slices.Contains(EvidenceKinds, kind) {
		head := make([]byte, evidence.SniffLen)
		n, err := io.ReadFull(r.Body, head)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return casework.Evidence{}, fmt.Errorf("receiving evidence: %w", err)
		}
		head = head[:n]
		body = io.MultiReader(bytes.NewReader(head), r.Body)
		contentType, err = evidence.CheckType(kind, r.Header.Get("Content-Type"), head)
		if err == nil {
			err = evidence.CheckFileName(fileName, contentType)
		}
		var invalid *derrors.InvalidError
		switch {
		case errors.As(err, &invalid):
			v = append(v, invalid.Violations...)
		case err != nil:
			return casework.Evidence{}, err
		}
	}
	if err := v.Err(); err != nil {
		return casework.Evidence{}, err
	}

	id := EvidenceID(sum)
	existing, clash, err := h.existing(ctx, id, sum)
	if err != nil {
		return casework.Evidence{}, err
	}
	if clash {
		// Refused only once the body proves the content: a caller who
		// guessed an ID's 16 digits (an ID in a sign-off they read, of
		// evidence they may not) learns no more than for an ID unused.
		if _, _, err := h.store.Put(ctx, body, sum, h.maxBytes); err != nil {
			return casework.Evidence{}, err
		}
		return casework.Evidence{}, errIDClash(id)
	}
	// The answer to an upload of content stored already is the stored
	// evidence for who may see what its first uploader said of it (sees),
	// and the caller's own upload for anyone else: never the first
	// uploader's name, the file's, or who captured it (a tip reporter's
	// name, say) to someone holding the same bytes.
	yours := func(e casework.Evidence) (casework.Evidence, error) {
		seen, err := h.sees(ctx, e)
		if err != nil || seen {
			return e, err
		}
		own, err := h.ownUpload(ctx, e)
		if err != nil {
			return casework.Evidence{}, err
		}
		if own.UploadedAt.IsZero() {
			// Not recorded as an uploader (no sign-in subject): what it sent.
			own.FileName, own.CapturedAt, own.CapturedBy, own.UploadedAt = fileName, capturedAt, capturedBy, time.Now().UTC()
		}
		own.Kind, own.ContentType = kind, contentType
		return own, nil
	}
	if existing != nil {
		// Stored already. A caller who did not upload it before becomes
		// one of its uploaders (who may read and name it) once its body
		// proves it holds the content: the blob is stored again, checked
		// against the SHA-256, below.
		uploaded, err := h.ledger.EvidenceUploadedBy(ctx, id, who.Subject)
		if err != nil {
			return casework.Evidence{}, err
		}
		if uploaded || who.Subject == "" {
			return yours(*existing)
		}
	}
	location, size, err := h.store.Put(ctx, body, sum, h.maxBytes)
	if err != nil {
		return casework.Evidence{}, err
	}
	err = h.ledger.InsertEvidence(ctx, casework.Evidence{
		ID: id, Kind: kind, SHA256: sum, Size: size, Location: location, FileName: fileName,
		ContentType: contentType, CapturedAt: capturedAt, CapturedBy: capturedBy, UploadedBy: who,
	})
	if err != nil {
		return casework.Evidence{}, err
	}
	// Read back what is stored: a concurrent upload of the same content may
	// have won.
	stored, clash, err := h.existing(ctx, id, sum)
	switch {
	case err != nil:
		return casework.Evidence{}, err
	case clash:
		return casework.Evidence{}, errIDClash(id)
	case stored == nil:
		return casework.Evidence{}, fmt.Errorf("evidence %q missing right after it was recorded", id)
	}
	logging.Ctx(ctx, h.log).Info("evidence stored", zap.String("evidence", id), zap.String("kind", kind), zap.Int64("size", size))
	return yours(*stored)
}

// existing returns the evidence recorded under id, or nil; clash is true
// when id names other content (the first 16 hex digits collide).
func (h *evidenceHandler) existing(ctx context.Context, id, sum string) (_ *casework.Evidence, clash bool, _ error) {
	rows, err := h.ledger.GetEvidence(ctx, []string{id})
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	if rows[0].SHA256 != sum {
		return nil, true, nil
	}
	return &rows[0], false, nil
}

// errIDClash refuses content whose ID (EvidenceID) other content holds,
// without saying what that content is.
func errIDClash(id string) error {
	return derrors.New(derrors.ErrAlreadyExists, "evidence %s already names other content: the first 16 digits of their SHA-256 are the same", id)
}

// get reads the metadata of the evidence named in the path; evidence out of
// the caller's reach (scope.go) is not found, as evidence that does not
// exist.
func (h *evidenceHandler) get(r *http.Request) (casework.Evidence, error) {
	id := r.PathValue("id")
	// The path's ID meets the rule of every ID of a request (the boundary's,
	// which these plain HTTP routes do not pass through).
	if rule := idRule.check(id); rule.EN != "" {
		var v derrors.Violations
		v.AddText("id", rule)
		return casework.Evidence{}, v.Err()
	}
	if err := inReach(r.Context(), h.ledger, ledger.SubjectEvidence, id); err != nil {
		return casework.Evidence{}, err
	}
	rows, err := h.ledger.GetEvidence(r.Context(), []string{id})
	if err != nil {
		return casework.Evidence{}, err
	}
	if len(rows) == 0 {
		return casework.Evidence{}, derrors.New(derrors.ErrNotFound, "evidence %q not found", id)
	}
	return h.view(r.Context(), rows[0])
}

// view is the evidence as the caller may see it. Who reaches it only as a
// later uploader of the same content sees the content's own facts (kind,
// type, size, digest) and its own upload (ownUpload): what the first
// uploader said of it (the file's name, who captured it and when, who they
// are, when they uploaded it) is for those who reach it through an object,
// or uploaded it first.
func (h *evidenceHandler) view(ctx context.Context, e casework.Evidence) (casework.Evidence, error) {
	seen, err := h.sees(ctx, e)
	if err != nil || seen {
		return e, err
	}
	return h.ownUpload(ctx, e)
}

// ownUpload is e with the caller's own upload of it in place of the first
// upload's: the file name, capturer and capture time it gave, itself as the
// uploader, and when it uploaded (Last-Modified of the content); blank
// where the ledger has none (an upload recorded before migration 024, or a
// caller without a sign-in subject: no time, so no Last-Modified, which
// ServeContent leaves out for the zero time).
func (h *evidenceHandler) ownUpload(ctx context.Context, e casework.Evidence) (casework.Evidence, error) {
	who, _ := actor.FromContext(ctx)
	own, _, err := h.ledger.EvidenceUploadOf(ctx, e.ID, who.Subject)
	if err != nil {
		return casework.Evidence{}, err
	}
	e.FileName, e.CapturedAt, e.CapturedBy, e.UploadedBy, e.UploadedAt = own.FileName, own.CapturedAt, own.CapturedBy, who, own.UploadedAt
	return e, nil
}

// sees reports whether the caller may see what the first uploader said of
// the evidence: the province, the first uploader, and who reaches it
// through an object that names it.
func (h *evidenceHandler) sees(ctx context.Context, e casework.Evidence) (bool, error) {
	who, _ := actor.FromContext(ctx)
	r := reachOf(ctx)
	if r.Province() || who.Subject != "" && e.UploadedBy.Subject == who.Subject {
		return true, nil
	}
	return h.ledger.EvidenceReachedByObject(ctx, r, e.ID)
}

func (h *evidenceHandler) metadata(w http.ResponseWriter, r *http.Request) {
	e, err := h.get(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, newEvidenceBody(e))
}

// content streams the blob, with range requests when the store allows. It
// is always a download that a browser does not render on the API's origin:
//
//   - Content-Disposition: attachment, with the stored file name (or the
//     evidence ID) safely encoded (evidence.ContentDisposition);
//   - Content-Type: the stored type, or application/octet-stream for active
//     content (evidence.ServedType says why);
//   - X-Content-Type-Options: nosniff, so the type is not guessed;
//   - Content-Security-Policy: sandbox, so nothing runs should it be shown.
//
// Every read is recorded in the access log first; one that cannot be
// recorded is not served.
func (h *evidenceHandler) content(w http.ResponseWriter, r *http.Request) {
	e, err := h.get(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Recorded before a byte leaves (api/access.go).
	if err := recordRead(r.Context(), h.ledger, EvidenceContent, "evidence/"+e.ID, r.RemoteAddr,
		map[string]string{"sha256": e.SHA256, "method": r.Method, "range": r.Header.Get("Range")}); err != nil {
		h.fail(w, r, err)
		return
	}
	blob, err := h.store.Open(e.Location)
	if err != nil {
		if errors.Is(err, derrors.ErrNotFound) || errors.Is(err, derrors.ErrInvalidArgument) {
			// The ledger names a blob the store cannot give: that is our
			// fault, not the caller's, so it is an internal error (logged).
			err = fmt.Errorf("evidence %s: the blob at %s cannot be opened: %s", e.ID, e.Location, err.Error())
		}
		h.fail(w, r, err)
		return
	}
	defer blob.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", evidence.ServedType(e.ContentType))
	hdr.Set("Content-Disposition", evidence.ContentDisposition(e.FileName, e.ID))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", evidenceContentPolicy)
	hdr.Set("ETag", strconv.Quote(e.SHA256))
	if rs, ok := blob.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", e.UploadedAt, rs)
		return
	}
	hdr.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	if _, err := io.Copy(w, blob); err != nil {
		logging.Ctx(r.Context(), h.log).Warn("streaming evidence", zap.String("evidence", e.ID), zap.Error(err))
	}
}

func (h *evidenceHandler) writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.log.Error("encoding evidence answer", zap.Error(err))
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}
