package activities

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers.
const (
	// HeaderWebhookEvent carries the event type, e.g. "finding.escalated".
	HeaderWebhookEvent = "X-Xuncha-Event"
	// HeaderWebhookDelivery carries the delivery ID, the same on every retry
	// of one delivery: receivers deduplicate by it.
	HeaderWebhookDelivery = "X-Xuncha-Delivery"
	// HeaderWebhookSignature carries SignWebhook's value.
	HeaderWebhookSignature = "X-Xuncha-Signature"
)

// ErrWebhookSignature is matched (errors.Is) by every error of
// VerifyWebhookSignature.
var ErrWebhookSignature = errors.New("webhook signature is not valid")

// webhookMAC is the hex HMAC-SHA256 of "<unix seconds>.<body>" under secret.
func webhookMAC(secret string, unix int64, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(unix, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// SignWebhook returns the X-Xuncha-Signature value of a body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>".
// Including the time lets receivers refuse replays of old requests.
func SignWebhook(secret string, t time.Time, body []byte) string {
	unix := t.Unix()
	return fmt.Sprintf("t=%d,v1=%s", unix, webhookMAC(secret, unix, body))
}

// VerifyWebhookSignature checks an X-Xuncha-Signature header against the
// body as received: one of its v1 signatures must match (compared in
// constant time), and its time must be within tolerance of now (tolerance
// <= 0 skips the time check). Errors match ErrWebhookSignature.
func VerifyWebhookSignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var unix int64
	var haveTime bool
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch key {
		case "t":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: t=%q is not a Unix time", ErrWebhookSignature, value)
			}
			unix, haveTime = n, true
		case "v1":
			sigs = append(sigs, value)
		}
	}
	if !haveTime {
		return fmt.Errorf("%w: no t= timestamp", ErrWebhookSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1= signature", ErrWebhookSignature)
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(unix, 0))
		if age > tolerance || age < -tolerance {
			return fmt.Errorf("%w: signed at %s, more than %s from %s", ErrWebhookSignature,
				time.Unix(unix, 0).UTC().Format(time.RFC3339), tolerance, now.UTC().Format(time.RFC3339))
		}
	}
	want := webhookMAC(secret, unix, body)
	for _, sig := range sigs {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the body", ErrWebhookSignature)
}
