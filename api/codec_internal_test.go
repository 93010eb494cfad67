package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
)

// TestCodecTakesBoundedBatches: a decode takes at most MaxCodecPayloads
// payloads, and a body of a million empty ones is refused before it is
// read into payloads (it held some 300 MiB), naming the field; a Web UI's
// batch is decoded.
func TestCodecTakesBoundedBatches(t *testing.T) {
	codec, err := payloadcrypt.New([]payloadcrypt.Key{{ID: "k", Cipher: payloadcrypt.AES256GCM, Secret: bytes.Repeat([]byte{1}, 32)}})
	require.NoError(t, err)
	h := &codecHandler{codec: codec, log: zap.NewNop(),
		authorize: func(*http.Request, string) (actor.Actor, bool, error) {
			return actor.Actor{Role: actor.RoleAuditor}, true, nil
		},
		fail: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}}
	decode := func(n int) *httptest.ResponseRecorder {
		body := `{"payloads":[` + strings.TrimSuffix(strings.Repeat(`{},`, n), ",") + `]}`
		rec := httptest.NewRecorder()
		h.decode(rec, httptest.NewRequest(http.MethodPost, "/codec/decode", strings.NewReader(body)))
		return rec
	}
	require.Equal(t, http.StatusOK, decode(50).Code)

	// Every slot taken: a decode waits while its request lasts, then is
	// sent back unread. Four slots, as the README says.
	require.Equal(t, 4, cap(codecSlots))
	for range cap(codecSlots) {
		codecSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	busy := httptest.NewRecorder()
	h.decode(busy, httptest.NewRequest(http.MethodPost, "/codec/decode", strings.NewReader(`{"payloads":[{}]}`)).WithContext(ctx))
	cancel()
	for range cap(codecSlots) {
		<-codecSlots
	}
	require.Contains(t, busy.Body.String(), "other payloads are being decoded")
	over := decode(MaxCodecPayloads + 1)
	require.Equal(t, http.StatusBadRequest, over.Code)
	require.Contains(t, over.Body.String(), "payloads: must hold at most 10000 payloads")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	flood := decode((MaxRequestBytes - 20) / 3)
	runtime.ReadMemStats(&after)
	require.Equal(t, http.StatusBadRequest, flood.Code, flood.Body.String())
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "refused before it was read into payloads")
}
