package ledger_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
)

var ledgerSystem = actor.System

func webhookOf(id, requestID, url string, eventTypes ...string) casework.Webhook {
	return casework.Webhook{ID: id, RequestID: requestID, URL: url, EventTypes: eventTypes, Secret: "s3cret-" + id, CreatedBy: office}
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	all := webhookOf("w-all", "req-all", "https://office.example/all")
	major := webhookOf("w-major", "req-major", "https://office.example/major", "finding.major")

	w, created, err := fx.store.CreateWebhook(t.Context(), all)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "s3cret-w-all", w.Secret)
	require.Empty(t, w.EventTypes)
	require.Nil(t, w.DeletedAt)
	again, created, err := fx.store.CreateWebhook(t.Context(), all)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, w, again)
	_, _, err = fx.store.CreateWebhook(t.Context(), major)
	require.NoError(t, err)

	conflicts := []struct {
		name string
		hook casework.Webhook
	}{
		{"same request, other url", webhookOf("w-all", "req-all", "https://elsewhere.example/")},
		{"same request, other types", webhookOf("w-all", "req-all", "https://office.example/all", "finding.major")},
		{"same id, other request", webhookOf("w-all", "req-other", "https://office.example/all")},
	}
	for _, tt := range conflicts {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := fx.store.CreateWebhook(t.Context(), tt.hook)
			require.ErrorIs(t, err, derrors.ErrAlreadyExists)
		})
	}

	list, err := fx.store.ListWebhooks(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"w-all", "w-major"}, webhookIDs(list))

	subs := []struct {
		eventType string
		want      []string
	}{
		{"finding.major", []string{"w-all", "w-major"}},
		{"finding.escalated", []string{"w-all"}},
	}
	for _, tt := range subs {
		got, err := fx.store.WebhooksFor(t.Context(), tt.eventType)
		require.NoError(t, err)
		require.Equal(t, tt.want, webhookIDs(got), tt.eventType)
	}

	require.NoError(t, fx.store.DeleteWebhook(t.Context(), "w-all", office))
	require.NoError(t, fx.store.DeleteWebhook(t.Context(), "w-all", office), "deleting twice is a no-op")
	require.ErrorIs(t, fx.store.DeleteWebhook(t.Context(), "w-none", office), derrors.ErrNotFound)
	deleted, err := fx.store.GetWebhook(t.Context(), "w-all")
	require.NoError(t, err)
	require.NotNil(t, deleted.DeletedAt)
	_, err = fx.store.GetWebhook(t.Context(), "w-none")
	require.ErrorIs(t, err, derrors.ErrNotFound)

	list, err = fx.store.ListWebhooks(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"w-major"}, webhookIDs(list))
	got, err := fx.store.WebhooksFor(t.Context(), "finding.escalated")
	require.NoError(t, err)
	require.Empty(t, got)
}

func webhookIDs(list []casework.Webhook) []string {
	var out []string
	for _, w := range list {
		out = append(out, w.ID)
	}
	return out
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, _, err := fx.store.CreateWebhook(t.Context(), webhookOf("w-1", "req-1", "https://office.example/"))
	require.NoError(t, err)
	payload := json.RawMessage(`{"finding_id":"f-1"}`)
	for i, status := range []int{500, 0, 204} {
		d := casework.WebhookDelivery{DeliveryID: "d-1", WebhookID: "w-1", EventType: "finding.major", Attempt: i + 1,
			StatusCode: status, Payload: payload}
		if status != 204 {
			d.Error = "failed"
		}
		require.NoError(t, fx.store.RecordDelivery(t.Context(), d))
	}
	require.NoError(t, fx.store.RecordDelivery(t.Context(), casework.WebhookDelivery{DeliveryID: "d-2", WebhookID: "w-1",
		EventType: "finding.major", Attempt: 1, StatusCode: 200, Payload: payload}))

	got, err := fx.store.Deliveries(t.Context(), "d-1")
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, d := range got {
		require.Equal(t, i+1, d.Attempt)
		require.JSONEq(t, string(payload), string(d.Payload))
		require.WithinDuration(t, time.Now(), d.AttemptAt, time.Minute)
	}
	require.Equal(t, []int{500, 0, 204}, []int{got[0].StatusCode, got[1].StatusCode, got[2].StatusCode})

	err = fx.store.RecordDelivery(t.Context(), casework.WebhookDelivery{DeliveryID: "d-3", WebhookID: "w-unknown", Attempt: 1})
	require.Error(t, err)
}

// sha is a valid-looking SHA-256 made of one hex digit.
func sha(c byte) string { return strings.Repeat(string(c), 64) }

func evidenceOf(id, sum string) casework.Evidence {
	return casework.Evidence{ID: id, Kind: "PHOTO", SHA256: sum, Size: 1024, Location: "local:sha256/" + sum,
		FileName: "现场.jpg", ContentType: "image/jpeg", CapturedAt: march, CapturedBy: "王五", UploadedBy: member}
}

func TestEvidence(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	a, b := evidenceOf("ev-a", sha('a')), evidenceOf("ev-b", sha('b'))
	require.NoError(t, fx.store.InsertEvidence(t.Context(), a))
	require.NoError(t, fx.store.InsertEvidence(t.Context(), a), "a retry is a no-op")
	require.NoError(t, fx.store.InsertEvidence(t.Context(), b))
	require.ErrorIs(t, fx.store.InsertEvidence(t.Context(), evidenceOf("ev-a", sha('c'))), derrors.ErrAlreadyExists)
	require.Equal(t, 2, fx.count(t, `SELECT count(*) FROM evidence`))

	got, err := fx.store.GetEvidence(t.Context(), []string{"ev-b", "ev-x", "ev-a", "ev-b"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "ev-b", got[0].ID)
	require.Equal(t, "ev-a", got[1].ID)
	require.Equal(t, member, got[1].UploadedBy)
	require.True(t, got[1].CapturedAt.Equal(march))
	require.WithinDuration(t, time.Now(), got[1].UploadedAt, time.Minute)

	tests := []struct {
		ids  []string
		want []string
	}{
		{nil, nil},
		{[]string{"ev-a", "ev-b"}, nil},
		{[]string{"ev-z", "ev-a", "ev-y", "ev-z"}, []string{"ev-z", "ev-y"}},
	}
	for _, tt := range tests {
		missing, err := fx.store.MissingEvidence(t.Context(), tt.ids)
		require.NoError(t, err)
		require.Equal(t, tt.want, missing, "%v", tt.ids)
	}

	// EvidenceHeld also says whose first upload each held ID was: the
	// caller's own may be named without EvidenceInReach's plan.
	for _, e := range []struct{ id, subject string }{{"ev-c", "member-7"}, {"ev-d", "member-8"}} {
		ev := evidenceOf(e.id, sha(e.id[3]))
		ev.UploadedBy.Subject = e.subject
		require.NoError(t, fx.store.InsertEvidence(t.Context(), ev))
	}
	held := []struct {
		subject string
		ids     []string
		missing []string
		own     map[string]bool
	}{
		{"member-7", []string{"ev-z", "ev-c", "ev-d", "ev-c", "ev-y", "ev-z"}, []string{"ev-z", "ev-y"}, map[string]bool{"ev-c": true}},
		{"member-8", []string{"ev-a", "ev-c", "ev-d"}, nil, map[string]bool{"ev-d": true}},
		// No subject is nobody's upload, also of evidence uploaded
		// without one (ev-a, ev-b).
		{"", []string{"ev-a", "ev-c"}, nil, map[string]bool{}},
		{"nobody", []string{"ev-b"}, nil, map[string]bool{}},
	}
	for _, tt := range held {
		missing, own, err := fx.store.EvidenceHeld(t.Context(), tt.ids, tt.subject)
		require.NoError(t, err)
		require.Equal(t, tt.missing, missing, "%q %v", tt.subject, tt.ids)
		require.Equal(t, tt.own, own, "%q %v", tt.subject, tt.ids)
	}
}

// rawWebhook is the webhooks row as PostgreSQL holds it, as JSON text.
func (fx fixture) rawWebhook(t *testing.T, id string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	var raw string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT row_to_json(w)::text FROM webhooks w WHERE id = $1`, id).Scan(&raw))
	return raw
}

// requireSecretAbsent checks that neither the secret nor its hex or base64
// form is in the raw row.
func requireSecretAbsent(t *testing.T, raw, secret string) {
	t.Helper()
	for _, form := range []string{secret, hex.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(secret))} {
		require.NotContains(t, raw, form)
	}
}

func TestWebhookSecretsSealed(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const secret = "the-signing-secret-of-w-sealed"
	hook := casework.Webhook{ID: "w-sealed", RequestID: "req-sealed", URL: "https://office.example/", Secret: secret, CreatedBy: office}
	created, _, err := fx.store.CreateWebhook(t.Context(), hook)
	require.NoError(t, err)
	require.Equal(t, secret, created.Secret)

	raw := fx.rawWebhook(t, "w-sealed")
	requireSecretAbsent(t, raw, secret)
	require.Contains(t, raw, `"secret":null`)
	require.Regexp(t, `"secret_sealed":"\\\\x[0-9a-f]{80,}"`, raw, "the row holds the ciphertext")

	got, err := fx.store.GetWebhook(t.Context(), "w-sealed")
	require.NoError(t, err)
	require.Equal(t, secret, got.Secret, "the secret opens for signing")
	again, created2, err := fx.store.CreateWebhook(t.Context(), hook)
	require.NoError(t, err)
	require.False(t, created2)
	require.Equal(t, secret, again.Secret, "a retried create answers with the secret")
	list, err := fx.store.ListWebhooks(t.Context())
	require.NoError(t, err)
	require.Empty(t, list[0].Secret, "lists do not open secrets")

	t.Run("another key does not open it", func(t *testing.T) {
		other, err := ledger.Open(t.Context(), fx.url)
		require.NoError(t, err)
		t.Cleanup(other.Close)
		other.Secrets = testenv.Sealer(t)
		_, err = other.GetWebhook(t.Context(), "w-sealed")
		require.ErrorIs(t, err, tipcrypt.ErrOpen)
		require.ErrorContains(t, err, "server key")
	})
	t.Run("no sealer, no webhooks", func(t *testing.T) {
		bare, err := ledger.Open(t.Context(), fx.url)
		require.NoError(t, err)
		t.Cleanup(bare.Close)
		_, _, err = bare.CreateWebhook(t.Context(), casework.Webhook{ID: "w-bare", RequestID: "req-bare", URL: "https://office.example/",
			Secret: secret, CreatedBy: office})
		require.ErrorContains(t, err, "XUNCHA_TIP_KEY")
	})
}

// TestSealWebhookSecrets checks the startup step that seals secrets stored
// in plaintext before migration 006.
func TestSealWebhookSecrets(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const legacy = "plaintext-secret-from-before"
	require.NoError(t, fx.exec(t, `INSERT INTO webhooks (id, request_id, url, secret, created_by)
		VALUES ('w-old', 'req-old', 'https://office.example/', $1, '{}')`, legacy))
	require.Contains(t, fx.rawWebhook(t, "w-old"), legacy)
	got, err := fx.store.GetWebhook(t.Context(), "w-old")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Secret, "an unsealed row still signs until it is sealed")

	n, err := fx.store.SealWebhookSecrets(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	requireSecretAbsent(t, fx.rawWebhook(t, "w-old"), legacy)
	got, err = fx.store.GetWebhook(t.Context(), "w-old")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Secret)

	n, err = fx.store.SealWebhookSecrets(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "sealing again changes nothing")
	require.Error(t, fx.exec(t, `UPDATE webhooks SET secret_sealed = NULL WHERE id = 'w-old'`),
		"a row keeps its secret in one form or the other")
}

func TestWebhookOutbox(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, _, err := fx.store.CreateWebhook(t.Context(), webhookOf("w-out", "req-out", "https://office.example/"))
	require.NoError(t, err)
	d := casework.OutboxDelivery{DeliveryID: "finding/f-1/major/w-out", WebhookID: "w-out", EventType: "finding.major",
		Payload: json.RawMessage(`{"type":"finding.major"}`)}

	queued, err := fx.store.QueueDelivery(t.Context(), d)
	require.NoError(t, err)
	require.True(t, queued)
	other := d
	other.Payload = json.RawMessage(`{"type":"changed"}`)
	queued, err = fx.store.QueueDelivery(t.Context(), other)
	require.NoError(t, err)
	require.False(t, queued, "the same delivery ID queues once")
	got, err := fx.store.QueuedDelivery(t.Context(), d.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, casework.DeliveryPending, got.Status)
	require.JSONEq(t, string(d.Payload), string(got.Payload), "the first payload stays")
	require.Nil(t, got.FinishedAt)

	require.NoError(t, fx.store.FinishDelivery(t.Context(), d.DeliveryID, casework.DeliveryFailed, "127.0.0.1 is a loopback address"))
	require.NoError(t, fx.store.FinishDelivery(t.Context(), d.DeliveryID, casework.DeliveryDelivered, ""), "a retry is a no-op")
	got, err = fx.store.QueuedDelivery(t.Context(), d.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, casework.DeliveryFailed, got.Status, "the first outcome stays")
	require.Equal(t, "127.0.0.1 is a loopback address", got.Error)
	require.NotNil(t, got.FinishedAt)

	require.ErrorIs(t, fx.store.FinishDelivery(t.Context(), "d-none", casework.DeliveryDelivered, ""), derrors.ErrNotFound)
	require.ErrorIs(t, fx.store.FinishDelivery(t.Context(), d.DeliveryID, "LOST", ""), derrors.ErrInvalidArgument)
	_, err = fx.store.QueueDelivery(t.Context(), casework.OutboxDelivery{DeliveryID: "d-bad", WebhookID: "w-out", EventType: "finding.major",
		Payload: json.RawMessage(`not json`)})
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	_, err = fx.store.QueueDelivery(t.Context(), casework.OutboxDelivery{DeliveryID: "d-orphan", WebhookID: "w-none", EventType: "finding.major",
		Payload: json.RawMessage(`{}`)})
	require.Error(t, err, "a delivery names an existing webhook")
	require.Error(t, fx.exec(t, `DELETE FROM webhook_outbox`), "the outbox is kept")
}

// TestEvidenceUploaders: every uploader of the same content reaches it as
// its own upload, and nobody else does; a row written without an uploaders
// row (by a binary from before migration 018, after it ran) is still its
// uploader's.
func TestEvidenceUploaders(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	first, second := member, member
	first.Subject, second.Subject = "sub-first", "sub-second"
	reach := func(subject string) ledger.Reach { return ledger.Reach{ByUnit: true, Subject: subject} }
	e := evidenceOf("ev-shared", sha('d'))
	e.UploadedBy = first
	require.NoError(t, fx.store.InsertEvidence(t.Context(), e))
	require.NoError(t, fx.store.InReach(t.Context(), reach("sub-first"), ledger.SubjectEvidence, "ev-shared"))
	require.ErrorIs(t, fx.store.InReach(t.Context(), reach("sub-second"), ledger.SubjectEvidence, "ev-shared"), derrors.ErrNotFound)
	uploaded, err := fx.store.EvidenceUploadedBy(t.Context(), "ev-shared", "sub-second")
	require.NoError(t, err)
	require.False(t, uploaded)

	e.UploadedBy = second
	require.NoError(t, fx.store.InsertEvidence(t.Context(), e), "the same content uploaded again")
	require.NoError(t, fx.store.InReach(t.Context(), reach("sub-second"), ledger.SubjectEvidence, "ev-shared"))
	uploaded, err = fx.store.EvidenceUploadedBy(t.Context(), "ev-shared", "sub-second")
	require.NoError(t, err)
	require.True(t, uploaded)
	got, err := fx.store.GetEvidence(t.Context(), []string{"ev-shared"})
	require.NoError(t, err)
	require.Equal(t, first, got[0].UploadedBy, "the first upload's metadata stays")
	require.ErrorIs(t, fx.store.InReach(t.Context(), reach("sub-third"), ledger.SubjectEvidence, "ev-shared"), derrors.ErrNotFound)

	require.NoError(t, fx.exec(t, `INSERT INTO evidence (id, kind, sha256, size, location, file_name, content_type, captured_at, captured_by, uploaded_by)
VALUES ('ev-legacy', 'PHOTO', $1, 1, 'local:sha256/' || $1, 'a.jpg', 'image/jpeg', now(), '王五', '{"subject":"sub-legacy"}')`, sha('e')))
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM evidence_uploaders WHERE evidence_id = 'ev-legacy'`))
	require.NoError(t, fx.store.InReach(t.Context(), reach("sub-legacy"), ledger.SubjectEvidence, "ev-legacy"))
}
