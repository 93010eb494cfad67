package ledger

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// SubjectTip marks events of a tip. They never carry the reporter's
// identity.
const SubjectTip = "tip"

// Tip stages.
const (
	TipReceived  = "RECEIVED"
	TipFinding   = "FINDING"
	TipDismissed = "DISMISSED"
)

// TipChannels lists how a tip may arrive.
var TipChannels = []string{"LETTER", "PHONE", "EMAIL", "HOTLINE", "VISIT"}

// Tip is a tip from the public as the ledger keeps it. The reporter's
// identity exists only sealed (internal/tipcrypt, additional data = ID) in
// ReporterCiphertext, which is never marshalled. Content is plaintext here;
// the table holds it sealed (Store.Secrets, additional data
// "tip-content:<ID>").
type Tip struct {
	ID           string `json:"id"`
	RequestID    string `json:"request_id"`
	InspectionID string `json:"inspection_id"`
	Channel      string `json:"channel"`
	// ReceivedOn is the day received, YYYY-MM-DD.
	ReceivedOn string `json:"received_on"`
	Content    string `json:"content"`
	// ReporterCiphertext is the sealed identity; nil when the reporter gave
	// none.
	ReporterCiphertext []byte      `json:"-"`
	Stage              string      `json:"stage"`
	FindingID          string      `json:"finding_id,omitempty"`
	DismissReason      string      `json:"dismiss_reason,omitempty"`
	ReceivedBy         actor.Actor `json:"received_by"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

// ReporterIdentified reports whether the reporter gave an identity.
func (t Tip) ReporterIdentified() bool { return len(t.ReporterCiphertext) > 0 }

// tipContentAD is the additional data a tip's content is sealed with: the
// tip and the field, so that sealed content copied onto another tip, or
// into the reporter's column, does not open.
func tipContentAD(id string) []byte { return []byte("tip-content:" + id) }

// tipFromRow is the Tip a row holds, its content opened: sealed, or (a row
// written before migration 009, which xuncha migrate seals) plaintext.
func (s *Store) tipFromRow(r dbsqlc.Tip) (Tip, error) {
	t := Tip{
		ID: r.ID, RequestID: r.RequestID, InspectionID: r.InspectionID, Channel: r.Channel,
		ReceivedOn: r.ReceivedOn.Format(time.DateOnly), ReporterCiphertext: r.ReporterCiphertext,
		Stage: r.Stage, FindingID: orZero(r.FindingID), DismissReason: r.DismissReason, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
	}
	if err := json.Unmarshal(r.ReceivedBy, &t.ReceivedBy); err != nil {
		return Tip{}, fmt.Errorf("decoding received_by of tip %q: %w", t.ID, err)
	}
	if r.ContentSealed == nil {
		t.Content = orZero(r.Content)
		return t, nil
	}
	sealer, err := s.sealer()
	if err != nil {
		return Tip{}, err
	}
	plain, err := sealer.Open(r.ContentSealed, tipContentAD(t.ID))
	if err != nil {
		return Tip{}, fmt.Errorf("opening the content of tip %q (was the server key changed?): %w", t.ID, err)
	}
	t.Content = string(plain)
	return t, nil
}

// ReceiveTip records a tip (stage RECEIVED) and its "receive" event, in one
// transaction. Its content is stored sealed with Secrets (the server key),
// never in plaintext. created is false when the ID was already recorded by the same
// request (a retry, answered with the first tip); the ID taken by another
// request is derrors.ErrAlreadyExists, an inspection missing from the ledger
// derrors.ErrNotFound. The event says whether the reporter gave an identity,
// never who. With inspectionStages, a new tip is refused unless its
// inspection is in one of them (checkTipWindow).
func (s *Store) ReceiveTip(ctx context.Context, t Tip, inspectionStages ...string) (stored Tip, created bool, err error) {
	if t.ID == "" || t.RequestID == "" {
		return Tip{}, false, fmt.Errorf("receiving a tip needs its ID and request ID: %w", derrors.ErrInvalidArgument)
	}
	d, err := calendar.ParseDate(t.ReceivedOn)
	if err != nil {
		return Tip{}, false, derrors.Invalid("received_on", "must be a date YYYY-MM-DD")
	}
	receivedOn := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	receivedBy, err := json.Marshal(t.ReceivedBy)
	if err != nil {
		return Tip{}, false, fmt.Errorf("encoding received_by: %w", err)
	}
	var ciphertext []byte
	if len(t.ReporterCiphertext) > 0 {
		ciphertext = t.ReporterCiphertext
	}
	sealer, err := s.sealer()
	if err != nil {
		return Tip{}, false, err
	}
	content, err := sealer.Seal([]byte(t.Content), tipContentAD(t.ID))
	if err != nil {
		return Tip{}, false, fmt.Errorf("sealing the content of tip %q: %w", t.ID, err)
	}
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if len(inspectionStages) > 0 {
			if err := checkTipWindow(ctx, q, t, inspectionStages); err != nil {
				return err
			}
		}
		n, err := q.InsertTip(ctx, dbsqlc.InsertTipParams{
			ID: t.ID, RequestID: t.RequestID, InspectionID: t.InspectionID, Channel: t.Channel, ReceivedOn: receivedOn,
			ContentSealed: content, ReporterCiphertext: ciphertext, Stage: TipReceived, ReceivedBy: receivedBy,
		})
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == pgForeignKeyViolation {
				return derrors.New(derrors.ErrNotFound, "inspection %q not found", t.InspectionID)
			}
			return fmt.Errorf("inserting tip %q: %w", t.ID, err)
		}
		created = n == 1
		r, found, err := optional(q.GetTip(ctx, t.ID))
		switch {
		case err != nil:
			return fmt.Errorf("reading tip %q: %w", t.ID, err)
		case !found:
			return derrors.New(derrors.ErrAlreadyExists, "request_id %q already recorded another tip", t.RequestID)
		}
		if stored, err = s.tipFromRow(r); err != nil {
			return fmt.Errorf("reading tip %q: %w", t.ID, err)
		}
		if !created {
			if stored.RequestID != t.RequestID || stored.InspectionID != t.InspectionID || stored.Channel != t.Channel ||
				stored.ReceivedOn != t.ReceivedOn || stored.Content != t.Content {
				return derrors.New(derrors.ErrAlreadyExists, "tip %q already exists with other content; use a new request_id", t.ID)
			}
			return nil
		}
		data, err := json.Marshal(map[string]any{
			"inspection_id": t.InspectionID, "channel": t.Channel, "received_on": t.ReceivedOn,
			"reporter_identified": ciphertext != nil,
		})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: SubjectTip, SubjectID: t.ID, Key: "receive/" + t.RequestID, Action: "receive",
			StageAfter: TipReceived, Actor: t.ReceivedBy, Data: data, OccurredAt: stored.CreatedAt,
		})
	})
	if err != nil {
		return Tip{}, false, err
	}
	return stored, created, nil
}

// GetTip reads one tip; a missing one is derrors.ErrNotFound.
func (s *Store) GetTip(ctx context.Context, id string) (Tip, error) {
	r, err := s.q.GetTip(ctx, id)
	if err != nil {
		return Tip{}, notFound(err, "tip", id)
	}
	return s.tipFromRow(r)
}

// TipPage is a page of tips and the token of the next (empty at the end).
type TipPage struct {
	Tips          []Tip
	NextPageToken string
}

// ListTips returns a page of an inspection's tips, oldest first.
func (s *Store) ListTips(ctx context.Context, inspectionID string, pageSize int, pageToken string) (TipPage, error) {
	list, next, err := listPage("tips", pageSize, pageToken,
		func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Tip, error) {
			return s.q.ListTips(ctx, dbsqlc.ListTipsParams{InspectionID: inspectionID, AfterAt: afterAt, AfterID: afterID, RowLimit: limit})
		},
		s.tipFromRow, func(t Tip) cursor { return cursor{At: t.CreatedAt, ID: t.ID} })
	if err != nil {
		return TipPage{}, fmt.Errorf("listing tips of inspection %q: %w", inspectionID, err)
	}
	return TipPage{Tips: list, NextPageToken: next}, nil
}

// TipTriage is the decision on a tip: a finding recorded from it, or its
// dismissal with a reason.
type TipTriage struct {
	// FindingID is the finding recorded; empty when dismissing.
	FindingID string
	// DismissReason is why it is dismissed; empty when a finding was
	// recorded.
	DismissReason string
	By            actor.Actor
	// EventKey makes a retried triage a no-op.
	EventKey string
	At       time.Time
}

// checkTipWindow refuses a new tip unless its inspection's stage, read and
// share-locked in q's transaction, is one of stages: a tip received after
// the team's report, which waits for every tip to be triaged
// (InspectionChangeOptions.TipsTriaged), could no longer become a finding.
// A tip dated before the notice that published where to send tips is
// refused too (received_on): it was taken dated 2001.
// A retry of a tip received is let through, to be answered as before; as
// in checkRecordingWindow, whether it is one is asked again before a
// refusal for the stage.
func checkTipWindow(ctx context.Context, q *dbsqlc.Queries, t Tip, stages []string) error {
	received := func() (bool, error) {
		_, found, err := optional(q.GetTip(ctx, t.ID))
		return found, err
	}
	if retry, err := received(); err != nil || retry {
		return err
	}
	in, err := q.InspectionStageForShare(ctx, t.InspectionID)
	if err != nil {
		return notFound(err, "inspection", t.InspectionID)
	}
	if slices.Contains(stages, in.Stage) {
		notified, errN := calendar.ParseDate(in.NotifiedOn)
		received, errR := calendar.ParseDate(t.ReceivedOn)
		if errN == nil && errR == nil && received.Before(notified) {
			return derrors.Invalid("received_on", "must not be before %s, the day inspection %s's notice was published: its tips come after it",
				in.NotifiedOn, t.InspectionID)
		}
		return nil
	}
	if retry, err := received(); err != nil || retry {
		return err
	}
	return derrors.StageError{
		Reason: "STAGE_NOT_ALLOWED", Subject: in.WorkflowID, Action: "receiveTip", Stage: in.Stage, Allowed: stages,
	}.Says("inspection %q is %s: its tips are received from its notice until the team reports (%s)",
		t.InspectionID, i18n.Term(i18n.InspectionStage, in.Stage), i18n.Terms(i18n.InspectionStage, ", ", stages...))
}

// TipFindingPrefix begins the request_id under which a tip's triage
// records the finding the tip becomes ("tip-<tip id>"); a client may not
// use it. By it the finding's record and the tip's dismissal take turns on
// the tip's row (checkTipNotDismissed, TriageTip): a dismissal that came
// between a triage's check of the tip and its finding's record left a
// finding that no tip pointed to, its triage answered that the tip was
// dismissed.
const TipFindingPrefix = "tip-"

// checkTipNotDismissed, in the transaction that records f, refuses the
// finding of a tip's triage (TipFindingPrefix) whose tip, locked, is
// DISMISSED, or is no tip of f's inspection.
func checkTipNotDismissed(ctx context.Context, q *dbsqlc.Queries, f casework.Finding) error {
	id, ok := strings.CutPrefix(f.RequestID, TipFindingPrefix)
	if !ok {
		return nil
	}
	r, err := q.LockTip(ctx, id)
	if err != nil || r.InspectionID != f.InspectionID {
		return notFound(cmp.Or(err, pgx.ErrNoRows), "tip", id)
	}
	if r.Stage == TipDismissed {
		return derrors.StageError{
			Reason: "STAGE_NOT_ALLOWED", Subject: "tip/" + id, Action: "triage", Stage: r.Stage,
		}.Says("tip %q is already %s: it was triaged before", id, i18n.Term(i18n.TipStage, r.Stage))
	}
	return nil
}

// TriageTip moves a RECEIVED tip to FINDING (with the finding's ID) or
// DISMISSED (with the reason) and appends the event, in one transaction. The
// same decision again is a retry: it changes nothing and returns the tip. A
// tip already decided otherwise is a *derrors.StageError; a missing tip
// derrors.ErrNotFound; a finding the ledger does not hold derrors.ErrNotFound.
func (s *Store) TriageTip(ctx context.Context, id string, tr TipTriage) (Tip, error) {
	stage, action := TipFinding, "recordFinding"
	if tr.FindingID == "" {
		stage, action = TipDismissed, "dismiss"
	}
	if (tr.FindingID == "") == (tr.DismissReason == "") || tr.EventKey == "" {
		return Tip{}, fmt.Errorf("a triage is a finding or a dismissal, with an event key: %w", derrors.ErrInvalidArgument)
	}
	if tr.At.IsZero() {
		tr.At = time.Now()
	}
	var out Tip
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		r, err := q.LockTip(ctx, id)
		if err != nil {
			return notFound(err, "tip", id)
		}
		t, err := s.tipFromRow(r)
		if err != nil {
			return fmt.Errorf("reading tip %q: %w", id, err)
		}
		switch {
		case t.Stage == stage && t.FindingID == tr.FindingID && t.DismissReason == tr.DismissReason:
			out = t
			return nil // a retry
		case t.Stage != TipReceived:
			return derrors.StageError{
				Reason: "STAGE_NOT_ALLOWED", Subject: "tip/" + id, Action: "triage", Stage: t.Stage,
			}.Says("tip %q is already %s: it was triaged before", id, i18n.Term(i18n.TipStage, t.Stage))
		}
		if tr.FindingID == "" {
			// A triage recorded the tip's finding and has not yet said so
			// (it does next, or its retry does): the tip is that finding.
			finding, err := q.FindingOfRequest(ctx, dbsqlc.FindingOfRequestParams{InspectionID: t.InspectionID, RequestID: TipFindingPrefix + id})
			switch {
			case err == nil:
				return derrors.StageError{
					Reason: "STAGE_NOT_ALLOWED", Subject: "tip/" + id, Action: "triage", Stage: t.Stage,
				}.Says("tip %q has become finding %q, recorded by a triage that did not finish: it is dismissed no more; send the triage with a finding again, which links the two without recording it twice (and withdraw the finding if it is unfounded)", id, finding)
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("reading the finding of tip %q: %w", id, err)
			}
		}
		if err := q.TriageTip(ctx, dbsqlc.TriageTipParams{
			ID: id, FromStage: TipReceived, Stage: stage, FindingID: tr.FindingID, DismissReason: tr.DismissReason,
			UpdatedAt: tr.At,
		}); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == pgForeignKeyViolation {
				return derrors.New(derrors.ErrNotFound, "finding %q not found", tr.FindingID)
			}
			return fmt.Errorf("triaging tip %q: %w", id, err)
		}
		data := map[string]any{}
		if tr.FindingID != "" {
			data["finding_id"] = tr.FindingID
		}
		dataJSON, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		if err := s.appendEvent(ctx, q, casework.Event{
			SubjectType: SubjectTip, SubjectID: id, Key: tr.EventKey, Action: action, StageBefore: TipReceived,
			StageAfter: stage, Actor: tr.By, Note: tr.DismissReason, Data: dataJSON, OccurredAt: tr.At,
		}); err != nil {
			return err
		}
		r, err = q.GetTip(ctx, id)
		if err == nil {
			out, err = s.tipFromRow(r)
		}
		if err != nil {
			return fmt.Errorf("reading tip %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Tip{}, err
	}
	return out, nil
}

// sealTipContent seals the content of the tips still stored in plaintext
// (written before migration 009, or by an older binary during a rolling
// upgrade) and empties the plaintext column, in one transaction, on conn,
// the owner's connection (the tips_received_unchanged trigger lets only the
// owner do so). It returns how many it sealed; without a sealer, any such
// tip is an error saying what to do.
func sealTipContent(ctx context.Context, conn *pgx.Conn, sealer SecretSealer) (int, error) {
	// Under another key than what is sealed already, the tips sealed now
	// could never be read with the ledger's key.
	if err := checkSecretsKey(ctx, queries(conn), sealer); err != nil {
		return 0, err
	}
	var n int
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		q := queries(tx)
		list, err := q.LockPlaintextTips(ctx)
		if err != nil {
			return fmt.Errorf("listing tips stored in plaintext: %w", err)
		}
		if len(list) > 0 && sealer == nil {
			return fmt.Errorf("%d tips hold their content in plaintext: xuncha migrate seals it with the server key: set XUNCHA_TIP_KEY (or --tip-key) and run it again", len(list))
		}
		for _, p := range list {
			// content IS NOT NULL is the query's condition.
			sealed, err := sealer.Seal([]byte(orZero(p.Content)), tipContentAD(p.ID))
			if err != nil {
				return fmt.Errorf("sealing the content of tip %q: %w", p.ID, err)
			}
			if err := q.SealTipContent(ctx, dbsqlc.SealTipContentParams{ID: p.ID, ContentSealed: sealed}); err != nil {
				return fmt.Errorf("sealing the content of tip %q: %w", p.ID, err)
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
