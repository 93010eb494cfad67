package ledger

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The statistics are kept without a row that writers share. A write that
// changes a count (a finding, an escalation, an interview) only queues its
// contributions (finding_contributions_pending, migration 027);
// foldContributions sums them into the tallies, and every statistics
// question folds what is pending before it reads, so that it counts every
// change committed before it was asked.
//
// The statistics per round (finding_round_tallies, migration 019) are kept
// the same way one step further: each write appends what it changed to
// finding_round_tally_deltas, a read sums the rollup and the deltas still
// pending, and the compactor below folds the deltas into the rollup. Folding
// is an optimisation only: an answer is exact however many deltas are
// pending, it just reads more rows.

// DefaultStatisticsCompactEvery is how often the worker folds the
// statistics' pending changes (XUNCHA_STATISTICS_COMPACT_EVERY).
const DefaultStatisticsCompactEvery = 30 * time.Second

// DefaultStatisticsCompactAbove is how many pending changes a statistics
// question reads at most before it folds them first.
const DefaultStatisticsCompactAbove = 10_000

// compactBatch is how many deltas one compactor transaction folds: a
// backlog is folded in several, each short.
const compactBatch = 10_000

// CompactStatistics folds the statistics' pending changes — the queued
// contributions into the tallies, then the tallies per round's pending
// changes into their rollup — in transactions of up to compactBatch, and
// returns how many rows of either it folded. Only one compactor folds each
// at a time (a transaction-level advisory lock); when another is folding,
// CompactStatistics leaves that part at once, its work being done by the
// other. Writers never wait for it, nor it for them: what they have not
// committed yet is folded next time.
func (s *Store) CompactStatistics(ctx context.Context) (int, error) {
	contributions, err := s.foldContributions(ctx, false)
	if err != nil {
		return contributions, err
	}
	changes, err := foldInBatches("the statistics' pending changes", func() (int, error) {
		return s.q.FoldRoundTallyDeltas(ctx, compactBatch)
	})
	return contributions + changes, err
}

// foldContributions folds the queued contributions into the tallies, in
// transactions of up to compactBatch rows, and returns how many rows it
// folded. With wait, it waits for a fold under way and then folds what
// that one left, until nothing committed before it is pending; else it
// leaves at once when another is folding.
func (s *Store) foldContributions(ctx context.Context, wait bool) (int, error) {
	return foldInBatches("the statistics' queued contributions", func() (int, error) {
		return s.q.FoldFindingContributions(ctx, dbsqlc.FoldFindingContributionsParams{Batch: compactBatch, Wait: wait})
	})
}

// foldInBatches calls fold, which folds up to compactBatch of what (one
// transaction) and says how many, or -1 when another folder holds the
// lock, until it folds fewer, and returns how many it folded in all.
func foldInBatches(what string, fold func() (int, error)) (int, error) {
	total := 0
	for {
		folded, err := fold()
		if err != nil {
			return total, fmt.Errorf("folding %s: %w", what, err)
		}
		if folded < 0 {
			return total, nil // another compactor is at it
		}
		total += folded
		if folded < compactBatch {
			return total, nil
		}
	}
}

// PendingStatisticsChanges is at least how many changes of the statistics
// per round are waiting to be folded: the span of their IDs, which counts
// the IDs of rolled-back writes as well, so it may say more, never fewer.
func (s *Store) PendingStatisticsChanges(ctx context.Context) (int, error) {
	pending, err := s.q.PendingRoundTallyDeltas(ctx)
	if err != nil {
		return 0, fmt.Errorf("counting the statistics' pending changes: %w", err)
	}
	return int(pending), nil
}

// compactStatisticsIfBehind folds the pending changes when more of them
// than the Store's StatisticsCompactAbove wait, so that a question reads a
// bounded number of them even when no worker folds them.
func (s *Store) compactStatisticsIfBehind(ctx context.Context) error {
	above := s.StatisticsCompactAbove
	if above <= 0 {
		above = DefaultStatisticsCompactAbove
	}
	pending, err := s.PendingStatisticsChanges(ctx)
	if err != nil || pending <= above {
		return err
	}
	_, err = s.CompactStatistics(ctx)
	return err
}

// StatisticsCompactor folds the statistics' pending changes periodically
// (`xuncha worker` and `xuncha dev` run one).
type StatisticsCompactor struct {
	Store *Store
	// Every is the period (XUNCHA_STATISTICS_COMPACT_EVERY; default
	// DefaultStatisticsCompactEvery); it must be positive.
	Every time.Duration
	Log   *zap.Logger
}

// Run folds the pending changes at once and then every c.Every until ctx
// ends. A failed fold is logged and tried again at the next tick: the
// statistics stay exact meanwhile, and a question folds them itself when
// too many wait.
func (c *StatisticsCompactor) Run(ctx context.Context) error {
	if c.Every <= 0 {
		return fmt.Errorf("statistics compactor: the period must be positive, not %s", c.Every)
	}
	tick := time.NewTicker(c.Every)
	defer tick.Stop()
	for {
		folded, err := c.Store.CompactStatistics(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			c.Log.Warn("the statistics' pending changes were not folded; trying again later", zap.Error(err))
		case folded > 0:
			c.Log.Debug("folded the statistics' pending changes", zap.Int("changes", folded))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
