package ledger

import (
	"context"
	"fmt"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// IdempotencyKey is a request_id in its scope (method and target) with the
// fingerprint of the first request that used it.
type IdempotencyKey struct {
	// Method is the full gRPC method, e.g. "/xuncha.v1.FindingService/ReferFinding".
	Method string
	// Target names what the request changes, e.g. "findings/f-1", or the
	// collection it creates in, e.g. "inspections/ins-1/findings".
	Target string
	// RequestID is the client's key.
	RequestID string
	// Fingerprint is the SHA-256 of the request's canonical body.
	Fingerprint []byte
}

// ClaimIdempotencyKey records k unless its scope already holds a key; it
// returns the fingerprint stored for the scope (k's own when claimed is true).
func (s *Store) ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) (stored []byte, claimed bool, err error) {
	for range 2 {
		n, err := s.q.InsertIdempotencyKey(ctx, dbsqlc.InsertIdempotencyKeyParams{
			Method: k.Method, Target: k.Target, RequestID: k.RequestID, Fingerprint: k.Fingerprint,
		})
		if err != nil {
			return nil, false, fmt.Errorf("recording request_id %q: %w", k.RequestID, err)
		}
		if n == 1 {
			return k.Fingerprint, true, nil
		}
		stored, found, err := optional(s.q.IdempotencyFingerprint(ctx, dbsqlc.IdempotencyFingerprintParams{
			Method: k.Method, Target: k.Target, RequestID: k.RequestID,
		}))
		if err != nil {
			return nil, false, fmt.Errorf("reading request_id %q: %w", k.RequestID, err)
		}
		if !found {
			continue // released between the insert and the read: try again
		}
		return stored, false, nil
	}
	return nil, false, fmt.Errorf("request_id %q: claimed and released concurrently twice", k.RequestID)
}

// IdempotencyKeyHolder reads the fingerprint stored with k's key (method,
// target, request_id): the request that holds it; found is false when none
// does. It writes nothing.
func (s *Store) IdempotencyKeyHolder(ctx context.Context, k IdempotencyKey) (fingerprint []byte, found bool, err error) {
	fingerprint, found, err = optional(s.q.IdempotencyFingerprint(ctx, dbsqlc.IdempotencyFingerprintParams{
		Method: k.Method, Target: k.Target, RequestID: k.RequestID,
	}))
	if err != nil {
		return nil, false, fmt.Errorf("reading request_id %q: %w", k.RequestID, err)
	}
	return fingerprint, found, nil
}

// ReleaseIdempotencyKey forgets k, if it still holds k's fingerprint: the
// request that claimed it was refused and changed nothing, so the key is
// free for a corrected request.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, k IdempotencyKey) error {
	err := s.q.DeleteIdempotencyKey(ctx, dbsqlc.DeleteIdempotencyKeyParams{
		Method: k.Method, Target: k.Target, RequestID: k.RequestID, Fingerprint: k.Fingerprint,
	})
	if err != nil {
		return fmt.Errorf("releasing request_id %q: %w", k.RequestID, err)
	}
	return nil
}
