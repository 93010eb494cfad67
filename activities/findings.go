package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
)

// RecordFindingInput writes a new finding's ledger row (stage FOUND) and its
// "record" event, and assigns the ledger number.
type RecordFindingInput struct {
	Finding  casework.Finding `json:"finding"`
	EventKey string           `json:"event_key"`
	// InspectionStages, when set, are the stages of the inspection in which
	// a finding may be recorded; the ledger checks it as the row is written
	// (ledger.Store.RecordFinding).
	InspectionStages []string `json:"inspection_stages,omitempty"`
	// Listed, when set, lists the finding as it is numbered, in the same
	// transaction (ledger.Store.RecordListedFinding): the row is LISTED at
	// version 2, its "list" event written.
	Listed bool `json:"listed,omitempty"`
}

// RecordFindingResult carries the ledger number assigned (the same on a
// retry).
type RecordFindingResult struct {
	LedgerNumber string `json:"ledger_number"`
}

// RecordFinding inserts the row (idempotent by ID), assigns the ledger number
// "<year>-<unit code>-<4-digit sequence>" (year of CreatedAt in
// Asia/Shanghai; sequence per year and unit) unless the row already has one,
// and appends the "record" event (idempotent by event key), in one
// transaction; with Listed, the "list" event too. An inspection missing
// from the ledger (NOT_FOUND) or a workflow ID taken by another finding
// (ALREADY_EXISTS) is a non-retryable refusal.
func (a *Activities) RecordFinding(ctx context.Context, in RecordFindingInput) (RecordFindingResult, error) {
	record := a.Ledger.RecordFinding
	if in.Listed {
		record = a.Ledger.RecordListedFinding
	}
	number, err := record(ctx, in.Finding, in.EventKey, in.InspectionStages...)
	if err != nil {
		return RecordFindingResult{}, a.ledgerError(ctx, fmt.Sprintf("recording finding %q", in.Finding.ID), err)
	}
	a.Metrics.Transition(casework.SubjectFinding, "record", in.Finding.Stage)
	if in.Listed {
		a.Metrics.Transition(casework.SubjectFinding, "list", "LISTED")
	}
	a.log(ctx).Info("ledger: finding recorded", zap.String("finding", in.Finding.ID),
		zap.String("inspection", in.Finding.InspectionID), zap.String("ledger_number", number))
	return RecordFindingResult{LedgerNumber: number}, nil
}

// FindingChangeInput applies one change: the row becomes Finding (if its
// Version is above the stored one) and Event is appended (if its key is new),
// in one transaction.
type FindingChangeInput struct {
	Finding casework.Finding `json:"finding"`
	Event   casework.Event   `json:"event"`
}

// ApplyFindingChange writes one change of a finding.
func (a *Activities) ApplyFindingChange(ctx context.Context, in FindingChangeInput) error {
	_, err := a.applyFindingChange(ctx, in)
	return err
}

// applyFindingChange is ApplyFindingChange saying whether the row moved
// (ledger.Store.ApplyFindingChangeMoved).
func (a *Activities) applyFindingChange(ctx context.Context, in FindingChangeInput) (moved bool, _ error) {
	moved, err := a.Ledger.ApplyFindingChangeMoved(ctx, in.Finding, in.Event)
	if err != nil {
		return false, a.ledgerError(ctx, fmt.Sprintf("applying %s to finding %q", in.Event.Action, in.Finding.ID), err)
	}
	a.transition(casework.SubjectFinding, in.Event, in.Finding.Stage)
	a.log(ctx).Info("ledger: finding changed", zap.String("finding", in.Finding.ID), zap.String("action", in.Event.Action),
		zap.String("stage", in.Finding.Stage), zap.Int("version", in.Finding.Version))
	return moved, nil
}

// EscalateInput records one escalation step: the escalation row (unique by
// subject, deadline sequence and step), the finding's new row and the event,
// in one transaction.
type EscalateInput struct {
	Escalation casework.Escalation `json:"escalation"`
	Finding    casework.Finding    `json:"finding"`
	Event      casework.Event      `json:"event"`
}

// EscalateResult is the escalation as stored (its ID is stable across
// retries).
type EscalateResult struct {
	Escalation casework.Escalation `json:"escalation"`
}

// Escalate records an escalation step of a finding.
func (a *Activities) Escalate(ctx context.Context, in EscalateInput) (EscalateResult, error) {
	esc, err := a.Ledger.RecordEscalation(ctx, in.Escalation, in.Finding, in.Event)
	return a.escalated(ctx, in.Escalation, esc, err)
}

// escalated answers the recording of step, an escalation step of any
// lifecycle: esc as the ledger stored it, or the ledger's err.
func (a *Activities) escalated(ctx context.Context, step, esc casework.Escalation, err error) (EscalateResult, error) {
	if err != nil {
		return EscalateResult{}, a.ledgerError(ctx, fmt.Sprintf("recording escalation %s of %s", step.Step, step.Subject), err)
	}
	a.log(ctx).Info("ledger: escalation recorded", zap.String("subject", esc.Subject), zap.String("step", esc.Step),
		zap.Int("deadline_seq", esc.DeadlineSeq), zap.String("escalation", esc.ID))
	return EscalateResult{Escalation: esc}, nil
}

// SubscribersInput asks which webhooks want an event type.
type SubscribersInput struct {
	EventType string `json:"event_type"`
}

// SubscribersResult lists webhook IDs.
type SubscribersResult struct {
	WebhookIDs []string `json:"webhook_ids"`
}

// Subscribers lists the active webhooks subscribed to an event type (those
// with no event types listed receive all).
func (a *Activities) Subscribers(ctx context.Context, in SubscribersInput) (SubscribersResult, error) {
	hooks, err := a.Ledger.WebhooksFor(ctx, in.EventType)
	if err != nil {
		return SubscribersResult{}, a.ledgerError(ctx, "listing the webhooks of "+in.EventType, err)
	}
	ids := make([]string, 0, len(hooks))
	for _, w := range hooks {
		ids = append(ids, w.ID)
	}
	return SubscribersResult{WebhookIDs: ids}, nil
}

// DeliverWebhookInput is one event for one subscriber.
type DeliverWebhookInput struct {
	WebhookID string `json:"webhook_id"`
	// DeliveryID is stable across retries (receivers deduplicate by it).
	DeliveryID string          `json:"delivery_id"`
	EventType  string          `json:"event_type"`
	Payload    json.RawMessage `json:"payload"`
}

// DeliverWebhookResult says how a delivery ended well.
type DeliverWebhookResult struct {
	// Skipped is true when the webhook was deleted: nothing was sent.
	Skipped bool `json:"skipped,omitempty"`
	// StatusCode is the receiver's 2xx answer.
	StatusCode int `json:"status_code,omitempty"`
}

// DeliverWebhook POSTs the payload, signed with the webhook's secret
// (X-Xuncha-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">), logs
// the attempt in the ledger, and fails on a non-2xx answer so that the
// activity's retry policy retries with backoff. A deleted webhook is skipped.
//
// A missing webhook, a payload that is not JSON or a receiver address the
// policy refuses (ErrTypeWebhookRefused; checked on the address dialled, so
// a name that now resolves to a private address is refused) is a
// non-retryable refusal; a failed attempt is a retryable error of type
// ErrTypeWebhookDelivery. Receivers verify with VerifyWebhookSignature and
// deduplicate by X-Xuncha-Delivery.
func (a *Activities) DeliverWebhook(ctx context.Context, in DeliverWebhookInput) (DeliverWebhookResult, error) {
	res, err := a.attemptDelivery(ctx, in, int(activity.GetInfo(ctx).Attempt))
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, egress.ErrRefused):
		return DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWebhookRefused, nil)
	case errors.As(err, new(receiverError)):
		return DeliverWebhookResult{}, temporal.NewApplicationError(err.Error(), ErrTypeWebhookDelivery)
	default:
		return DeliverWebhookResult{}, a.ledgerError(ctx, "webhook "+in.WebhookID, err)
	}
}

// receiverError is a delivery attempt the receiver did not answer 2xx (or
// at all): the next attempt may do better.
type receiverError struct{ error }

func (e receiverError) Unwrap() error { return e.error }

// attemptDelivery makes one attempt at a delivery, numbered attempt, and
// records it in the ledger. Its errors say whether another attempt can do
// better: a receiverError (no answer, or not 2xx) or a ledger
// failure can; a refused address (egress.ErrRefused), a missing webhook
// (derrors.ErrNotFound) or a payload that is not JSON
// (derrors.ErrInvalidArgument) cannot. A deleted webhook is skipped.
func (a *Activities) attemptDelivery(ctx context.Context, in DeliverWebhookInput, attempt int) (DeliverWebhookResult, error) {
	w, err := a.Ledger.GetWebhook(ctx, in.WebhookID)
	if err != nil {
		return DeliverWebhookResult{}, fmt.Errorf("delivering %s %q: %w", in.EventType, in.DeliveryID, err)
	}
	log := a.log(ctx).With(zap.String("webhook", w.ID), zap.String("event_type", in.EventType),
		zap.String("delivery", in.DeliveryID))
	if w.DeletedAt != nil {
		log.Info("webhook: deleted, delivery skipped", zap.Time("deleted_at", *w.DeletedAt))
		return DeliverWebhookResult{Skipped: true}, nil
	}
	body := []byte(in.Payload)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return DeliverWebhookResult{}, derrors.Invalid("payload", "must be JSON")
	}
	sentAt := time.Now()
	status, deliverErr := postWebhook(ctx, a.Egress, w, in, body, sentAt)

	rec := casework.WebhookDelivery{
		DeliveryID: in.DeliveryID,
		WebhookID:  w.ID,
		EventType:  in.EventType,
		Attempt:    attempt,
		StatusCode: status,
		Payload:    body,
		AttemptAt:  sentAt,
	}
	if deliverErr != nil {
		// The receiver's words (a status line, a transport error quoting
		// it) are recorded as text PostgreSQL takes, and bounded.
		rec.Error = printable([]byte(deliverErr.Error()))
		if r := []rune(rec.Error); len(r) > maxDeliveryError {
			rec.Error = string(r[:maxDeliveryError]) + "…"
		}
	}
	// The attempt is recorded even when the context has ended (a timeout
	// is an attempt too), within a bound of its own.
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordDeliveryTimeout)
	defer cancel()
	if err := a.Ledger.RecordDelivery(recCtx, rec); err != nil {
		// Retried: the receiver deduplicates a repeated delivery by its ID.
		return DeliverWebhookResult{}, fmt.Errorf("delivering %s %q: %w", in.EventType, in.DeliveryID, err)
	}
	if errors.Is(deliverErr, egress.ErrRefused) {
		log.Warn("webhook: receiver address refused, delivery abandoned", zap.Int("attempt", attempt), zap.Error(deliverErr))
		return DeliverWebhookResult{}, fmt.Errorf("delivering %s %q to webhook %q: %w", in.EventType, in.DeliveryID, w.ID, deliverErr)
	}
	if deliverErr != nil {
		log.Warn("webhook: delivery attempt failed", zap.Int("attempt", attempt), zap.Int("status", status), zap.Error(deliverErr))
		return DeliverWebhookResult{}, fmt.Errorf("delivering %s %q to webhook %q: %w", in.EventType, in.DeliveryID, w.ID, receiverError{deliverErr})
	}
	log.Info("webhook: delivered", zap.Int("attempt", attempt), zap.Int("status", status))
	return DeliverWebhookResult{StatusCode: status}, nil
}

// ErrTypeWebhookDelivery is the (retryable) application error type of a
// failed webhook delivery attempt.
const ErrTypeWebhookDelivery = "WEBHOOK_DELIVERY_FAILED"

// ErrTypeWebhookRefused is the non-retryable application error type of a
// delivery whose receiver address the policy refuses (Activities.Egress):
// the attempt is recorded with the rule, and no retry follows.
const ErrTypeWebhookRefused = "WEBHOOK_ADDRESS_REFUSED"

// Webhook delivery bounds.
const (
	// webhookTimeout bounds one POST, connection to answer.
	webhookTimeout = 10 * time.Second
	// recordDeliveryTimeout bounds recording an attempt in the ledger.
	recordDeliveryTimeout = 5 * time.Second
	// webhookErrorBody is how much of a refusing answer's body is recorded.
	webhookErrorBody = 512
)

// postWebhook sends one signed POST through policy and returns the answer's
// status code (0 when none came) and an error unless it was 2xx; an address
// the policy refuses is an error matching egress.ErrRefused.
func postWebhook(ctx context.Context, policy *egress.Policy, w casework.Webhook, in DeliverWebhookInput, body []byte, now time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xuncha-webhook/1")
	req.Header.Set(HeaderWebhookEvent, in.EventType)
	req.Header.Set(HeaderWebhookDelivery, in.DeliveryID)
	req.Header.Set(HeaderWebhookSignature, SignWebhook(w.Secret, now, body))
	// The client connects only where the address policy allows and
	// follows no redirect: a redirect would turn the POST into a GET and
	// move the signed body elsewhere, so a 3xx answer is a failed attempt.
	resp, err := policy.HTTPClient(webhookTimeout).Do(req)
	if err != nil {
		return 0, withoutQuery(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, webhookErrorBody))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		status := printable([]byte(resp.Status))
		if r := []rune(status); len(r) > maxStatusLine {
			status = string(r[:maxStatusLine]) + "…"
		}
		msg := fmt.Sprintf("answered HTTP %s", status)
		if text := printable(snippet); text != "" {
			msg += ": " + text
		}
		return resp.StatusCode, fmt.Errorf("%s", msg)
	}
	return resp.StatusCode, nil
}

// withoutQuery is err with the address it names (a *url.Error's) cut to
// its scheme, host and path: robots' addresses carry their token in the
// query (DingTalk's and WeCom's access_token, key), and a failed attempt's
// error goes to the log and the delivery's record.
func withoutQuery(err error) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err
	}
	if u, perr := url.Parse(uerr.URL); perr == nil {
		if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			u.RawQuery, u.User, u.Fragment = "", nil, ""
			uerr.URL = u.String() + "?…"
		}
	} else {
		uerr.URL = "(the webhook's address)"
	}
	return err
}

// maxStatusLine bounds the receiver's status line quoted in a failed
// attempt's error, in characters (a reason phrase is a few words).
const maxStatusLine = 100

// maxDeliveryError bounds the error recorded of a failed attempt, in
// characters: the status line and the snippet of the body the receiver
// answered.
const maxDeliveryError = 600

// printable makes an answer's body safe to record as text: valid UTF-8,
// no NUL bytes (PostgreSQL text refuses them), trimmed.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimSpace(s)
}

// OpenDeadlinesResult lists the workflows with a running deadline.
type OpenDeadlinesResult struct {
	WorkflowIDs []string `json:"workflow_ids"`
}

// OpenDeadlines lists the workflow IDs of findings, inspections,
// interviews and invitations whose deadline is running, for re-dating
// after a calendar change (ledger.OpenDeadlineWorkflows,
// OpenInterviewDeadlines).
func (a *Activities) OpenDeadlines(ctx context.Context) (OpenDeadlinesResult, error) {
	ids, err := a.Ledger.OpenDeadlineWorkflows(ctx)
	if err != nil {
		return OpenDeadlinesResult{}, a.ledgerError(ctx, "listing running deadlines", err)
	}
	interviews, err := a.Ledger.OpenInterviewDeadlines(ctx)
	if err != nil {
		return OpenDeadlinesResult{}, a.ledgerError(ctx, "listing running interview deadlines", err)
	}
	ids = append(ids, interviews...)
	slices.Sort(ids)
	if ids == nil {
		ids = []string{}
	}
	return OpenDeadlinesResult{WorkflowIDs: ids}, nil
}
