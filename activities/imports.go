package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// DefaultImportStartConcurrency is how many finding workflows
// StartImportedFindings starts at a time unless told otherwise.
const DefaultImportStartConcurrency = 16

// importStartChunk is how many findings StartImportedFindings reads from
// the ledger at once, and how far it gets between two heartbeats.
const importStartChunk = 200

// StartImportedFindingsInput names the findings of a problem list's import
// whose workflows are to be started, in the file's order.
type StartImportedFindingsInput struct {
	InspectionID string   `json:"inspection_id"`
	FindingIDs   []string `json:"finding_ids"`
	// Concurrency is how many starts are under way at once (default
	// DefaultImportStartConcurrency).
	Concurrency int `json:"concurrency,omitempty"`
}

// StartImportedFindingsResult counts what StartImportedFindings did.
type StartImportedFindingsResult struct {
	// Started counts the findings whose workflow was started or already
	// existed (a start is idempotent: the same ID, the existing run kept).
	Started int `json:"started"`
	// Missing counts the IDs the ledger does not hold: rows of an import
	// whose transaction was refused, or never ended.
	Missing int `json:"missing"`
}

// importProgress is StartImportedFindings' heartbeat: how many of the IDs,
// from the first, are done, and what was counted of them.
type importProgress struct {
	Done int `json:"done"`
	StartImportedFindingsResult
}

// StartImportedFindings starts the workflow of each finding of an import
// that the ledger holds (AdoptFinding: the workflow adopts the row as it
// stands), Concurrency at a time, a chunk of IDs read from the ledger at
// once. It heartbeats how far it got after each chunk, so that an attempt
// after a crash (a worker stopped, the activity timed out) goes on from
// the last chunk done; a chunk done again starts nothing twice, since a
// finding's workflow ID is its own and an existing run is kept.
func (a *Activities) StartImportedFindings(ctx context.Context, in StartImportedFindingsInput) (StartImportedFindingsResult, error) {
	if a.AdoptFinding == nil {
		return StartImportedFindingsResult{}, temporal.NewNonRetryableApplicationError(
			"the worker cannot start findings' workflows: Activities.AdoptFinding is not set", "MISCONFIGURED", nil)
	}
	concurrency := in.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultImportStartConcurrency
	}
	var p importProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			a.log(ctx).Warn("import: the last progress is unreadable; starting over", zap.Error(err))
			p = importProgress{}
		}
	}
	if p.Done > 0 {
		a.log(ctx).Info("import: going on where the last attempt stopped", zap.String("inspection", in.InspectionID),
			zap.Int("done", p.Done), zap.Int("total", len(in.FindingIDs)))
	}
	for p.Done < len(in.FindingIDs) {
		ids := in.FindingIDs[p.Done:min(p.Done+importStartChunk, len(in.FindingIDs))]
		rows, err := a.Ledger.FindingsByID(ctx, ids)
		if err != nil {
			return p.StartImportedFindingsResult, a.ledgerError(ctx, "reading imported findings", err)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(concurrency)
		var mu sync.Mutex
		var firstErr error
		for _, f := range rows {
			g.Go(func() error {
				err := a.AdoptFinding(gctx, f)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("starting the workflow of finding %q: %w", f.ID, err))
					mu.Unlock()
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			if ctx.Err() != nil {
				return p.StartImportedFindingsResult, ctx.Err()
			}
			return p.StartImportedFindingsResult, firstErr
		}
		p.Done += len(ids)
		p.Started += len(rows)
		p.Missing += len(ids) - len(rows)
		activity.RecordHeartbeat(ctx, p)
	}
	a.log(ctx).Info("import: findings' workflows started", zap.String("inspection", in.InspectionID),
		zap.Int("started", p.Started), zap.Int("missing", p.Missing))
	return p.StartImportedFindingsResult, nil
}
