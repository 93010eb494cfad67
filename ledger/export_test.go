package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// RecordAccessAt is RecordAccess at a given time: tests write records of
// past days with it.
func (s *Store) RecordAccessAt(ctx context.Context, r AccessRecord, at time.Time) error {
	return s.recordAccess(ctx, r, &at)
}

// FoldQueuedContributions folds every statistics contribution queued and
// committed, as a statistics question does before it reads.
func (s *Store) FoldQueuedContributions(ctx context.Context) (int, error) {
	return s.foldContributions(ctx, true)
}

// ExecInPipeline runs stmts in one pipelined transaction as a caller that
// goes on past a failed statement would, and then fails it: the
// transaction is rolled back. It returns each statement's error.
func (s *Store) ExecInPipeline(ctx context.Context, stmts ...string) []error {
	errs := make([]error, len(stmts))
	_ = s.inPipeline(ctx, func(p *pipeline) error {
		for i, stmt := range stmts {
			_, errs[i] = p.Exec(ctx, stmt)
		}
		return errors.New("failed on purpose")
	})
	return errs
}

// RehashEvent recomputes the hash of event id as it now stands, as an
// attacker who edited it would to hide the edit.
func (s *Store) RehashEvent(ctx context.Context, id int64) ([]byte, error) {
	rows, err := s.pool.Query(ctx, "SELECT * FROM events WHERE id = $1", id)
	if err != nil {
		return nil, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[dbsqlc.Event])
	if err != nil {
		return nil, fmt.Errorf("reading event %d: %w", id, err)
	}
	return contentOfEvent(r, *r.Seq, r.PrevHash).hash(HashAlg(*r.HashAlg))
}

// FindingListQuery exposes the finding list's statement builder to the
// tests of package ledger_test.
var FindingListQuery = findingListQuery

// PreparedLike counts the statements prepared on one of the Store's
// connections whose text is like pattern (pg_prepared_statements); with a
// pool of one connection, the connection that ran the Store's statements.
func (s *Store) PreparedLike(ctx context.Context, pattern string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1", pattern).Scan(&n)
	return n, err
}

// Setting is the value of a run-time setting on one of the Store's
// connections (SHOW name).
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// The stages an exposure of a rectification's result needs, for
// TestExposureStagesAreTheWorkflows.
var (
	RectifiedFindingStages    = rectifiedFindingStages
	RectifiedInspectionStages = rectifiedInspectionStages
)
