package workflows

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/internal/payloadcrypt"
)

// TestReplayWithPayloadCodec replays every recorded history with the
// converters a worker uses since payloads are encrypted: as recorded (in
// the clear, as histories written before encryption are: the codec lets
// them through), and encrypted with an old SM4 key k1, replayed by a
// worker whose ring is [k2, k1] after a rotation to an AES key k2. Without
// k1 the encrypted history does not replay.
func TestReplayWithPayloadCodec(t *testing.T) {
	t.Parallel()
	newKey := func(id, cipherName string, size int) payloadcrypt.Key {
		secret := make([]byte, size)
		_, _ = rand.Read(secret)
		return payloadcrypt.Key{ID: id, Cipher: cipherName, Secret: secret}
	}
	k1, k2 := newKey("k1", payloadcrypt.SM4GCM, 16), newKey("k2", payloadcrypt.AES256GCM, 32)
	codec := func(keys ...payloadcrypt.Key) *payloadcrypt.Codec {
		c, err := payloadcrypt.New(keys)
		require.NoError(t, err)
		return c
	}
	before, rotated, withoutOld := codec(k1), codec(k2, k1), codec(k2)
	replay := func(c *payloadcrypt.Codec, history *historypb.History) error {
		replayer, err := worker.NewWorkflowReplayerWithOptions(c.ReplayerOptions(worker.WorkflowReplayerOptions{}))
		require.NoError(t, err)
		RegisterWorkflows(replayer)
		return replayer.ReplayWorkflowHistory(nil, history)
	}

	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(file)
			require.NoError(t, err)
			history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, f.Close())
			require.NoError(t, err)

			require.NoError(t, replay(rotated, history), "the recorded plaintext history")

			encrypted := proto.Clone(history).(*historypb.History)
			require.NoError(t, before.EncodeMessage(t.Context(), encrypted))
			sealed := 0
			require.NoError(t, proxy.VisitPayloads(t.Context(), encrypted, proxy.VisitPayloadsOptions{
				SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, one := range p {
						require.True(t, payloadcrypt.Encrypted(one))
						sealed++
					}
					return p, nil
				},
			}))
			require.Positive(t, sealed)
			require.NoError(t, replay(rotated, encrypted), "the history as an old worker encrypted it, after the rotation")
			// The SDK reports the undecodable input or what follows from it.
			require.Error(t, replay(withoutOld, encrypted), "without the old key")
		})
	}
}
