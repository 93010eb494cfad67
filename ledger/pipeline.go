package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// A pipelined transaction sends its statements to PostgreSQL in batches
// (pgx.Batch, the extended protocol's pipelining), each one round trip once
// the connection has prepared its statements, where a transaction used to
// spend one per statement and two more for BEGIN and COMMIT. BEGIN goes
// with the first statement; statements queued (queue) go together, and
// what is still queued when the transaction ends goes with COMMIT. A
// change of a lifecycle is written inside its workflow task (issue 9 item
// 5), and each round trip wakes the Go process and a PostgreSQL backend
// once more: a finding's change is two round trips so, five before.
//
// The statements stay dbsqlc's: queue calls a generated method twice, once
// with a connection that only notes its statement and arguments, and, once
// the batch has run, with one that hands it the statement's result, which
// the same generated code reads as it would have read it from the server.

// pipeline is one transaction on one connection, its statements queued
// until flush sends them.
type pipeline struct {
	// ctx is the transaction's: its statements run with it.
	ctx   context.Context
	conn  *pgx.Conn
	batch pgx.Batch
	// reads read the queued statements' results, in the batch's order.
	reads []func(pgx.BatchResults) error
	// began says BEGIN ran: the connection is in the transaction.
	began bool
}

// errQueued is what a generated method returns while its statement is
// only being noted (noteDB); queue discards it.
var errQueued = errors.New("ledger: statement queued, not yet run")

// noteDB notes a generated method's statement in a batch.
type noteDB struct{ batch *pgx.Batch }

func (n noteDB) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	n.batch.Queue(withoutName(sql), args...)
	return pgconn.CommandTag{}, errQueued
}

func (n noteDB) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	n.batch.Queue(withoutName(sql), args...)
	return nil, errQueued
}

func (n noteDB) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	n.batch.Queue(withoutName(sql), args...)
	return failedRow{errQueued}
}

// resultDB hands a generated method the next result of a batch that ran.
type resultDB struct{ results pgx.BatchResults }

func (r resultDB) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return r.results.Exec()
}

func (r resultDB) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return r.results.Query()
}

func (r resultDB) QueryRow(context.Context, string, ...any) pgx.Row { return r.results.QueryRow() }

// failedRow is a row whose Scan fails with err.
type failedRow struct{ err error }

func (e failedRow) Scan(...any) error { return e.err }

// queue adds a generated method's statement, method(q, ctx, arg), to the
// next batch; once flush has run it, *into holds its result (into may be
// nil to drop it). An error of the statement is flush's.
func queue[A, T any](p *pipeline, into *T, method func(*dbsqlc.Queries, context.Context, A) (T, error), arg A) {
	if _, err := method(dbsqlc.New(noteDB{&p.batch}), p.ctx, arg); !errors.Is(err, errQueued) {
		panic(fmt.Sprintf("ledger: a generated method queued in a pipeline returned %v before sending its statement", err))
	}
	p.reads = append(p.reads, func(results pgx.BatchResults) error {
		v, err := method(dbsqlc.New(resultDB{results}), p.ctx, arg)
		if into != nil {
			*into = v
		}
		return err
	})
}

// queueExec is queue for a generated method without a result (:exec);
// *failed, when failed is given, is its statement's error once flush has
// run it.
func queueExec[A any](p *pipeline, failed *error, method func(*dbsqlc.Queries, context.Context, A) error, arg A) {
	queue(p, nil, func(q *dbsqlc.Queries, ctx context.Context, arg A) (struct{}, error) {
		err := method(q, ctx, arg)
		if failed != nil && !errors.Is(err, errQueued) {
			*failed = err
		}
		return struct{}{}, err
	}, arg)
}

// commit queues COMMIT. A transaction that failed answers it with
// ROLLBACK, which is an error here.
func (p *pipeline) commit() {
	p.batch.Queue("COMMIT")
	p.reads = append(p.reads, func(results pgx.BatchResults) error {
		tag, err := results.Exec()
		if err == nil && tag.String() != "COMMIT" {
			return fmt.Errorf("COMMIT answered %s: %w", tag, pgx.ErrTxCommitRollback)
		}
		return err
	})
}

// send sends what is queued as one batch, BEGIN before it while BEGIN has
// not run, and reads every result: with keepLast, every result but
// that of the statement queued last, which the caller reads from results
// and then closes them. It returns the first error, results closed;
// PostgreSQL skipped the statements after it.
func (p *pipeline) send(keepLast bool) (pgx.BatchResults, error) {
	if !p.began {
		// Not before BEGIN ran: pgx prepares a batch's new statements
		// first, and a statement PostgreSQL refuses to prepare fails the
		// batch before BEGIN is executed.
		queued, reads := p.batch.QueuedQueries, p.reads
		p.batch, p.reads = pgx.Batch{}, nil
		p.batch.Queue("BEGIN")
		p.reads = append(p.reads, func(results pgx.BatchResults) error {
			_, err := results.Exec()
			p.began = err == nil
			return err
		})
		p.batch.QueuedQueries = append(p.batch.QueuedQueries, queued...)
		p.reads = append(p.reads, reads...)
	}
	// The results read the batch sent: the pipeline queues in a new one.
	batch, reads := p.batch, p.reads
	p.batch, p.reads = pgx.Batch{}, nil
	results := p.conn.SendBatch(p.ctx, &batch)
	if keepLast {
		reads = reads[:len(reads)-1]
	}
	for _, read := range reads {
		if err := read(results); err != nil {
			_ = results.Close() // it answers with the same error
			return nil, err
		}
	}
	if !keepLast {
		return nil, results.Close()
	}
	return results, nil
}

// sendWith is send with one more statement queued last, whose result the
// caller reads from results and then closes them.
func (p *pipeline) sendWith(sql string, args []any) (pgx.BatchResults, error) {
	p.batch.Queue(sql, args...)
	p.reads = append(p.reads, nil) // the caller's
	return p.send(true)
}

// flush sends what is queued, BEGIN first while it has not run, and
// reads every result.
func (p *pipeline) flush() error {
	_, err := p.send(false)
	return err
}

// The pipeline is a dbsqlc.DBTX too: a statement a generated method runs
// at once, as inTx's do, goes with what is queued and, the first time,
// with BEGIN; later ones, with nothing queued, straight to the connection.

// immediate says whether a statement can go straight to the connection:
// nothing waits to be sent before it, or it asks for its own way of
// running (planPerCall), which a batch does not take.
func (p *pipeline) immediate(args []any) (bool, error) {
	if len(args) > 0 {
		if _, own := args[0].(pgx.QueryExecMode); own {
			return true, p.flush()
		}
	}
	return p.began && len(p.reads) == 0, nil
}

func (p *pipeline) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if now, err := p.immediate(args); err != nil || now {
		if err != nil {
			return pgconn.CommandTag{}, err
		}
		return p.conn.Exec(ctx, sql, args...)
	}
	results, err := p.sendWith(sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := results.Exec()
	return tag, firstError(err, results.Close())
}

func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if now, err := p.immediate(args); err != nil || now {
		if err != nil {
			return nil, err
		}
		return p.conn.Query(ctx, sql, args...)
	}
	results, err := p.sendWith(sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := results.Query()
	if err != nil {
		return nil, firstError(err, results.Close())
	}
	return closingRows{rows, results}, nil
}

func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if now, err := p.immediate(args); err != nil || now {
		if err != nil {
			return failedRow{err}
		}
		return p.conn.QueryRow(ctx, sql, args...)
	}
	results, err := p.sendWith(sql, args)
	if err != nil {
		return failedRow{err}
	}
	return closingRow{results.QueryRow(), results}
}

// closingRow closes the batch its row came from once it is scanned.
type closingRow struct {
	row     pgx.Row
	results pgx.BatchResults
}

func (r closingRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	return firstError(err, r.results.Close())
}

// closingRows closes the batch its rows came from with them.
type closingRows struct {
	pgx.Rows
	results pgx.BatchResults
}

func (r closingRows) Close() {
	r.Rows.Close()
	_ = r.results.Close() // the rows' error is theirs (Err)
}

// firstError is err, or else then's.
func firstError(err, then error) error {
	if err != nil {
		return err
	}
	return then
}

// q is the generated statements run on the pipeline.
func (p *pipeline) q() *dbsqlc.Queries { return queries(p) }

// rollbackTimeout bounds the ROLLBACK of a failed transaction, which runs
// even when the caller's context has ended.
const rollbackTimeout = 5 * time.Second

// inPipeline runs fn in one pipelined transaction: what fn queued and did
// not flush goes with COMMIT when fn returns nil; the transaction is rolled
// back when fn, or a batch, fails.
func (s *Store) inPipeline(ctx context.Context, fn func(p *pipeline) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring a connection: %w", err)
	}
	defer conn.Release()
	p := &pipeline{ctx: ctx, conn: conn.Conn()}
	if err = fn(p); err == nil {
		p.commit()
		err = p.flush()
	}
	if err != nil && p.conn.PgConn().TxStatus() != 'I' {
		// A connection still inside a transaction is not given back to the
		// pool (Release closes it), so a failed ROLLBACK loses nothing.
		rollback, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_, _ = p.conn.Exec(rollback, "ROLLBACK")
	}
	return err
}
