package authn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestRememberedTokens: a verified token is answered from memory for
// rememberFor, its exp and nbf still checked; the memory stays bounded.
func TestRememberedTokens(t *testing.T) {
	clock := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	v := &Verifier{cfg: Config{Now: func() time.Time { return clock }, Leeway: DefaultLeeway}}
	key := sha256.Sum256([]byte("token"))
	id := Identity{Subject: "s-1", ExpiresAt: clock.Add(90 * time.Second)}
	v.remember(key, id, time.Time{})

	got, _, ok := v.remembered(key)
	if !ok || got.Subject != "s-1" {
		t.Fatalf("remembered = %v, %v; want s-1", got, ok)
	}
	if _, _, ok := v.remembered(sha256.Sum256([]byte("tokeN"))); ok {
		t.Fatal("another token answered from memory")
	}
	clock = clock.Add(rememberFor + time.Second)
	if _, _, ok := v.remembered(key); ok {
		t.Fatal("remembered past rememberFor")
	}

	// Answered from memory, a token is still refused once expired.
	v.remember(key, id, time.Time{})
	clock = id.ExpiresAt.Add(DefaultLeeway + time.Second)
	if _, _, ok := v.remembered(key); !ok {
		t.Fatal("not remembered within rememberFor")
	}
	if err := v.checkTimes(id.ExpiresAt, time.Time{}); !errors.Is(err, ErrExpired) {
		t.Fatalf("checkTimes after exp = %v, want ErrExpired", err)
	}

	for i := range rememberMax + 10 {
		v.remember(sha256.Sum256(fmt.Appendf(nil, "t-%d", i)), id, time.Time{})
		if len(v.verified) > rememberMax {
			t.Fatalf("%d tokens remembered, more than %d", len(v.verified), rememberMax)
		}
	}
}
