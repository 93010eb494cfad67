package api

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/workflows"
)

// queryTimeout bounds a live-state query (liveState): without a worker a
// query waits, and the ledger answers just as well meanwhile.
const queryTimeout = 5 * time.Second

// liveState asks the workflow workflowID for its state (workflows.QueryState),
// for at most queryTimeout. When it cannot answer (no worker polls, the
// run is gone), live is false and the caller answers from the ledger,
// which holds every change before the workflow takes it; the log says so,
// naming the subject as kind and id. Only the caller's own end is an
// error, and a state that does not decode.
func liveState[S any](ctx context.Context, tc client.Client, log *zap.Logger, kind, id, workflowID string) (st S, live bool, err error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	resp, err := tc.QueryWorkflow(qctx, workflowID, "", workflows.QueryState)
	if err != nil {
		if ctx.Err() != nil {
			return st, false, ctx.Err()
		}
		logging.Ctx(ctx, log).Warn("live state unavailable, using the ledger's", zap.String(kind, id), zap.Error(err))
		return st, false, nil
	}
	if err := resp.Get(&st); err != nil {
		return st, false, fmt.Errorf("decoding state of %s: %w", workflowID, err)
	}
	return st, true, nil
}
