package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// Webhook secret rules: a caller's secret has at least minSecretLength
// characters; a generated one is secretBytes random bytes, hex-encoded.
const (
	minSecretLength = 16
	maxSecretLength = 256
	secretBytes     = 32
	maxURLLength    = 2048
)

// WebhookServer implements xuncha.v1.WebhookService.
type WebhookServer struct {
	xunchav1.UnimplementedWebhookServiceServer
	Ledger *ledger.Store
	// Egress is the webhook address policy URLs are checked against; nil
	// allows public addresses only.
	Egress *egress.Policy
	Log    *zap.Logger
}

// CreateWebhook subscribes a URL (office only). A retry with the same
// request_id returns the first answer, secret included; the secret is shown
// nowhere else.
func (s *WebhookServer) CreateWebhook(ctx context.Context, req *xunchav1.CreateWebhookRequest) (*xunchav1.Webhook, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if validateWebhookURL(&v, req.GetUrl()) {
		s.checkReceiver(ctx, &v, req.GetUrl())
	}
	for i, t := range req.GetEventTypes() {
		field := fmt.Sprintf("event_types[%d]", i)
		switch {
		case !slices.Contains(workflows.WebhookEventTypes, t):
			v.Add(field, "must be one of %s", strings.Join(workflows.WebhookEventTypes, ", "))
		case slices.Contains(req.GetEventTypes()[:i], t):
			v.Add(field, "%s is listed twice", t)
		}
	}
	secret := req.GetSecret()
	switch n := utf8.RuneCountInString(secret); {
	case secret == "":
	case n < minSecretLength:
		v.Add("secret", "must be at least %d characters, or empty to have one generated", minSecretLength)
	case n > maxSecretLength:
		v.Add("secret", "must be at most %d characters", maxSecretLength)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if secret == "" {
		if secret, err = newSecret(); err != nil {
			return nil, err
		}
	}
	wh, created, err := s.Ledger.CreateWebhook(ctx, casework.Webhook{
		ID:         generatedID("wh", "", req.GetRequestId()),
		RequestID:  req.GetRequestId(),
		URL:        req.GetUrl(),
		EventTypes: slices.Clone(req.GetEventTypes()),
		Secret:     secret,
		CreatedBy:  who,
		CreatedAt:  time.Now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	if created {
		logging.Ctx(ctx, s.Log).Info("webhook subscribed", zap.String("webhook", wh.ID), zap.Strings("event_types", wh.EventTypes))
	}
	out := webhookProto(wh)
	out.Secret = wh.Secret
	return out, nil
}

// validateWebhookURL accepts an absolute http or https URL without
// credentials (the receiver authenticates xuncha by the signature); it
// reports whether the URL passed.
func validateWebhookURL(v *derrors.Violations, raw string) bool {
	if strings.TrimSpace(raw) == "" {
		v.Add("url", "must not be empty")
		return false
	}
	if len(raw) > maxURLLength {
		v.Add("url", "must be at most %d characters", maxURLLength)
		return false
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		v.Add("url", "must be an absolute http:// or https:// URL")
	case u.User != nil:
		v.Add("url", "must not carry credentials: receivers check the X-Xuncha-Signature header instead")
	default:
		return true
	}
	return false
}

// checkReceiver applies the webhook address policy: a URL whose host is, or
// resolves to, a loopback, private, link-local or other non-public address
// is refused unless the allow-list names it. Deliveries check the address
// again when they connect.
func (s *WebhookServer) checkReceiver(ctx context.Context, v *derrors.Violations, raw string) {
	err := s.Egress.CheckURL(ctx, raw)
	var refused *egress.RefusedError
	switch {
	case err == nil:
	case errors.As(err, &refused):
		v.AddText("url", refused.Text())
	default:
		// The resolver's own words name the DNS server: logs only.
		logging.Ctx(ctx, s.Log).Info("webhook URL does not resolve", zap.String("url", raw), zap.Error(err))
		u, _ := url.Parse(raw)
		v.Add("url", "host %q does not resolve to an address", u.Hostname())
	}
}

// newSecret generates a signing secret.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a webhook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ListWebhooks lists the active subscriptions, without their secrets.
func (s *WebhookServer) ListWebhooks(ctx context.Context, _ *xunchav1.ListWebhooksRequest) (*xunchav1.ListWebhooksResponse, error) {
	hooks, err := s.Ledger.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListWebhooksResponse{}
	for _, wh := range hooks {
		out.Webhooks = append(out.Webhooks, webhookProto(wh))
	}
	return out, nil
}

// DeleteWebhook ends a subscription (office only); it stays on record.
func (s *WebhookServer) DeleteWebhook(ctx context.Context, req *xunchav1.DeleteWebhookRequest) (*xunchav1.DeleteWebhookResponse, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		return nil, derrors.Invalid("id", "must not be empty")
	}
	if err := s.Ledger.DeleteWebhook(ctx, req.GetId(), who); err != nil {
		return nil, err
	}
	logging.Ctx(ctx, s.Log).Info("webhook ended", zap.String("webhook", req.GetId()), zap.String("by", who.String()))
	return &xunchav1.DeleteWebhookResponse{}, nil
}

// webhookProto converts a subscription without its secret.
func webhookProto(wh casework.Webhook) *xunchav1.Webhook {
	out := &xunchav1.Webhook{
		Id: wh.ID, Url: wh.URL, EventTypes: slices.Clone(wh.EventTypes),
		CreatedBy: actorProto(wh.CreatedBy), CreateTime: instant(wh.CreatedAt),
	}
	return out
}
