package api_test

import (
	"context"
	"os"
	"path/filepath"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/workflows"
)

// recordEnv, when set to 1, makes replayHistory also write the history to
// workflows/testdata/replay/<name>.json, where the workflows package's
// replay test keeps checking that code changes stay compatible with it.
const recordEnv = "XUNCHA_RECORD_HISTORIES"

// replayHistory fetches a workflow's history from the real server and
// replays it against the current workflow code: a nondeterministic workflow
// (map order, wall-clock time, I/O) fails here. The replayer decrypts the
// payloads with the stack's codec, as the workers do; a recorded history
// is written decrypted, so the workflows package replays it without a key.
func (s *stack) replayHistory(name, workflowID string) {
	s.t.Helper()
	ctx := context.Background()
	iter := s.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	history := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(s.t, err)
		history.Events = append(history.Events, e)
	}
	require.NotEmpty(s.t, history.Events)
	replayer, err := worker.NewWorkflowReplayerWithOptions(s.Codec.ReplayerOptions(worker.WorkflowReplayerOptions{}))
	require.NoError(s.t, err)
	workflows.RegisterWorkflows(replayer)
	require.NoError(s.t, replayer.ReplayWorkflowHistory(logging.Temporal(s.log), history), "replaying %s", workflowID)
	if os.Getenv(recordEnv) != "1" {
		return
	}
	require.NoError(s.t, s.Codec.DecodeMessage(ctx, history))
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
	require.NoError(s.t, err)
	dir := filepath.Join("..", "workflows", "testdata", "replay")
	require.NoError(s.t, os.MkdirAll(dir, 0o755))
	require.NoError(s.t, os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644))
	s.t.Logf("recorded %s into %s", workflowID, dir)
}
