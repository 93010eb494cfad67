package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// auditFixture is a ledger with two finding chains (f-1: five events, f-2:
// three), a tip read in the access log, and an anchor over all of it.
type auditFixture struct {
	fixture
	// f1 and f2 map a chain's seq to its event's ID.
	f1, f2 map[int64]int64
	anchor ledger.Anchor
}

func setupAudit(t *testing.T) auditFixture {
	t.Helper()
	fx := auditFixture{fixture: setup(t)}
	ctx := t.Context()
	at := time.Date(2026, 11, 30, 9, 0, 0, 123456789, time.UTC)
	for i := range 5 {
		require.NoError(t, fx.store.AppendEvent(ctx, casework.Event{
			SubjectType: casework.SubjectFinding, SubjectID: "f-1", Key: fmt.Sprintf("step/%d", i+1), Action: "diagnose",
			StageBefore: "LISTED", StageAfter: "DIAGNOSED", Actor: member, Note: fmt.Sprintf("第%d步：\"核查\"\t<记录>", i+1),
			// Numbers, key order and escapes as a client might send them:
			// the hash is over what jsonb keeps.
			Evidence:   json.RawMessage(`[{"id":"ev-1"}]`),
			Data:       json.RawMessage(`{"z": 1.50, "a": [1e2, -0.0, 3], "\u00e9": "\u4e2d\n", "n": null}`),
			OccurredAt: at.Add(time.Duration(i) * time.Minute),
		}))
	}
	for i := range 3 {
		require.NoError(t, fx.store.AppendEvent(ctx, casework.Event{
			SubjectType: casework.SubjectFinding, SubjectID: "f-2", Key: fmt.Sprintf("step/%d", i+1), Action: "refer",
			Actor: office, OccurredAt: at,
		}))
	}
	require.NoError(t, fx.store.RecordAccess(ctx, ledger.AccessRecord{
		Actor: office, Action: "/xuncha.v1.TipService/GetTip", Resource: "tips/tip-1", Outcome: ledger.AccessRead,
	}))
	fx.f1, fx.f2 = fx.chainIDs(t, "f-1"), fx.chainIDs(t, "f-2")
	var err error
	fx.anchor, err = fx.store.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: casework.AnchorByCommand})
	require.NoError(t, err)
	return fx
}

// chainIDs maps the seqs of finding id's chain to event IDs.
func (fx fixture) chainIDs(t *testing.T, id string) map[int64]int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	ids := map[int64]int64{}
	rows, err := conn.Query(t.Context(), "SELECT seq, id FROM events WHERE subject_type = 'finding' AND subject_id = $1", id)
	require.NoError(t, err)
	for rows.Next() {
		var seq, eid int64
		require.NoError(t, rows.Scan(&seq, &eid))
		ids[seq] = eid
	}
	require.NoError(t, rows.Err())
	return ids
}

// tamper runs statements as a superuser who switched the append-only
// triggers off (session_replication_role = replica), in one transaction.
func (fx fixture) tamper(t *testing.T, statements ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	require.NoError(t, pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		for _, s := range statements {
			if _, err := tx.Exec(t.Context(), s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}))
}

func (fx fixture) verify(t *testing.T, opts ledger.VerifyOptions) ledger.AuditReport {
	t.Helper()
	r, err := fx.store.VerifyAudit(t.Context(), opts)
	require.NoError(t, err)
	return r
}

// requireFirstProblem checks the first problem a report names.
func requireFirstProblem(t *testing.T, r ledger.AuditReport, want ledger.AuditProblem) {
	t.Helper()
	require.False(t, r.OK(), "verification passed")
	got := r.Problems[0]
	t.Logf("found: %s", got)
	require.Equal(t, want.Kind, got.Kind, "%s", got)
	require.Equal(t, want.Table, got.Table, "%s", got)
	require.Equal(t, want.RowID, got.RowID, "%s", got)
	require.Equal(t, want.Chain, got.Chain, "%s", got)
	require.Equal(t, want.Seq, got.Seq, "%s", got)
}

func TestVerifyAuditPassesUntouchedData(t *testing.T) {
	t.Parallel()
	fx := setupAudit(t)
	r := fx.verify(t, ledger.VerifyOptions{})
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 3, r.Chains, "two finding chains and a day of one caller's access records")
	require.EqualValues(t, 8, r.Events)
	require.EqualValues(t, 1, r.AccessRecords)
	require.EqualValues(t, 1, r.Anchors)
	require.NotNil(t, r.LatestAnchor)
	require.Equal(t, fx.anchor.Hash, r.LatestAnchor.Hash)
	require.EqualValues(t, 3, fx.anchor.HeadsCount)
	require.EqualValues(t, 3, fx.anchor.EntriesCount)

	// More writes after the anchor, and a second anchor listing only the
	// chain that moved.
	require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{
		SubjectType: casework.SubjectFinding, SubjectID: "f-2", Key: "step/4", Action: "verify", Actor: office, OccurredAt: time.Now(),
	}))
	require.True(t, fx.verify(t, ledger.VerifyOptions{}).OK())
	second, err := fx.store.WriteAnchor(t.Context(), ledger.AnchorOptions{TakenBy: casework.AnchorBySchedule})
	require.NoError(t, err)
	require.EqualValues(t, 2, second.Seq)
	require.Equal(t, fx.anchor.Hash, second.PrevHash)
	require.EqualValues(t, 3, second.HeadsCount)
	require.EqualValues(t, 1, second.EntriesCount)
	r = fx.verify(t, ledger.VerifyOptions{ExpectAnchor: &ledger.AnchorRef{Seq: 1, Hash: fx.anchor.Hash}})
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 2, r.Anchors)

	// One chain by its full name or its ID, and only recent chains.
	r = fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-1"})
	require.True(t, r.OK())
	require.EqualValues(t, 1, r.Chains)
	require.EqualValues(t, 5, r.Events)
	require.EqualValues(t, 0, r.AccessRecords)
	r = fx.verify(t, ledger.VerifyOptions{Subject: "f-2"})
	require.True(t, r.OK())
	require.EqualValues(t, 4, r.Events)
	r = fx.verify(t, ledger.VerifyOptions{Since: time.Now().Add(time.Hour)})
	require.True(t, r.OK())
	require.EqualValues(t, 0, r.Chains)
}

// TestVerifyAuditCatchesTampering tampers with the ledger as a superuser in
// every way issue 11 names, and checks that verification names the first
// broken row and what differs.
func TestVerifyAuditCatchesTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, fx auditFixture) ledger.AuditProblem
	}{
		{"edit a row's content", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, fmt.Sprintf("UPDATE events SET note = '已整改' WHERE id = %d", fx.f1[3]))
			return ledger.AuditProblem{Kind: ledger.ProblemHashMismatch, Table: "events", RowID: fx.f1[3], Chain: "finding/f-1", Seq: 3}
		}},
		{"edit a row's JSON", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, fmt.Sprintf(`UPDATE events SET data = jsonb_set(data, '{z}', '2') WHERE id = %d`, fx.f2[1]))
			return ledger.AuditProblem{Kind: ledger.ProblemHashMismatch, Table: "events", RowID: fx.f2[1], Chain: "finding/f-2", Seq: 1}
		}},
		{"edit a row and recompute its hash", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, fmt.Sprintf("UPDATE events SET actor = '{\"name\":\"无名\",\"role\":\"office\",\"organisation\":\"\"}' WHERE id = %d", fx.f1[2]))
			sum, err := fx.store.RehashEvent(t.Context(), fx.f1[2])
			require.NoError(t, err)
			fx.tamper(t, fmt.Sprintf(`UPDATE events SET hash = '\x%x' WHERE id = %d`, sum, fx.f1[2]))
			return ledger.AuditProblem{Kind: ledger.ProblemBrokenLink, Table: "events", RowID: fx.f1[3], Chain: "finding/f-1", Seq: 3}
		}},
		{"delete a middle row", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, fmt.Sprintf("DELETE FROM events WHERE id = %d", fx.f1[3]))
			return ledger.AuditProblem{Kind: ledger.ProblemSeqGap, Table: "events", RowID: fx.f1[4], Chain: "finding/f-1", Seq: 4}
		}},
		{"reorder two rows by swapping their seq", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t,
				fmt.Sprintf("UPDATE events SET seq = 1000 WHERE id = %d", fx.f1[2]),
				fmt.Sprintf("UPDATE events SET seq = 2 WHERE id = %d", fx.f1[3]),
				fmt.Sprintf("UPDATE events SET seq = 3 WHERE id = %d", fx.f1[2]))
			// Seq 2 is now the third event, whose link names the second.
			return ledger.AuditProblem{Kind: ledger.ProblemBrokenLink, Table: "events", RowID: fx.f1[3], Chain: "finding/f-1", Seq: 2}
		}},
		{"reorder two rows by swapping their content", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			cols := "event_key, action, stage_before, stage_after, actor, note, evidence, data, occurred_at, recorded_at, seq, prev_hash, hash, hash_alg"
			a, b := fx.f1[2], fx.f1[3]
			fx.tamper(t,
				"CREATE TEMP TABLE swap AS SELECT id, "+cols+" FROM events WHERE id IN ("+fmt.Sprint(a, ", ", b)+")",
				fmt.Sprintf("UPDATE events SET event_key = 'tmp', seq = 1000 WHERE id = %d", a),
				fmt.Sprintf("UPDATE events e SET (%s) = (SELECT %s FROM swap WHERE id = %d) WHERE e.id = %d", cols, cols, a, b),
				fmt.Sprintf("UPDATE events e SET (%s) = (SELECT %s FROM swap WHERE id = %d) WHERE e.id = %d", cols, cols, b, a))
			// Row b now holds seq 2 with a's hash and link: its own ID
			// does not give that hash.
			return ledger.AuditProblem{Kind: ledger.ProblemHashMismatch, Table: "events", RowID: b, Chain: "finding/f-1", Seq: 2}
		}},
		{"remove a chain's tail", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, fmt.Sprintf("DELETE FROM events WHERE id = %d", fx.f1[5]))
			return ledger.AuditProblem{Kind: ledger.ProblemMissingTail, Table: "events", RowID: fx.f1[4], Chain: "finding/f-1", Seq: 4}
		}},
		{"remove a chain's tail and rewrite its head row", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t,
				fmt.Sprintf("DELETE FROM events WHERE id IN (%d, %d)", fx.f1[4], fx.f1[5]),
				fmt.Sprintf(`UPDATE audit_chain_heads SET seq = 3, hash = (SELECT hash FROM events WHERE id = %d)
				             WHERE subject_type = 'finding' AND subject_id = 'f-1'`, fx.f1[3]))
			// The head agrees with the rows; the anchor saw seq 5.
			return ledger.AuditProblem{Kind: ledger.ProblemMissingTail, Table: "events", RowID: fx.f1[3], Chain: "finding/f-1", Seq: 3}
		}},
		{"remove a whole chain and its head row", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t,
				"DELETE FROM events WHERE subject_type = 'finding' AND subject_id = 'f-2'",
				"DELETE FROM audit_chain_heads WHERE subject_type = 'finding' AND subject_id = 'f-2'")
			return ledger.AuditProblem{Kind: ledger.ProblemMissingTail, Table: "events", Chain: "finding/f-2"}
		}},
		{"edit a head row", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, `UPDATE audit_chain_heads SET hash = '\x00' WHERE subject_type = 'finding' AND subject_id = 'f-2'`)
			return ledger.AuditProblem{Kind: ledger.ProblemHeadMismatch, Table: "events", RowID: fx.f2[3], Chain: "finding/f-2", Seq: 3}
		}},
		{"edit an access record", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, "UPDATE access_log SET resource = 'tips/tip-2'")
			id := int64(fx.count(t, "SELECT id FROM access_log"))
			day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
			return ledger.AuditProblem{Kind: ledger.ProblemHashMismatch, Table: "access_log", RowID: id,
				Chain: "access/" + day + "/name:" + office.Name, Seq: 1}
		}},
		{"remove an anchor's entry", func(t *testing.T, fx auditFixture) ledger.AuditProblem {
			fx.tamper(t, "DELETE FROM audit_anchor_entries WHERE subject_id = 'f-2'")
			id := int64(fx.count(t, "SELECT id FROM audit_anchors"))
			return ledger.AuditProblem{Kind: ledger.ProblemAnchorMismatch, Table: "audit_anchors", RowID: id, Seq: 1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := setupAudit(t)
			require.True(t, fx.verify(t, ledger.VerifyOptions{}).OK(), "untouched")
			want := tt.tamper(t, fx)
			requireFirstProblem(t, fx.verify(t, ledger.VerifyOptions{}), want)
		})
	}
}

func TestVerifyAuditNamesTheChainChecked(t *testing.T) {
	t.Parallel()
	fx := setupAudit(t)
	fx.tamper(t, fmt.Sprintf("UPDATE events SET note = '改' WHERE id = %d", fx.f1[1]))
	require.True(t, fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-2"}).OK(), "f-2 is intact")
	requireFirstProblem(t, fx.verify(t, ledger.VerifyOptions{Subject: "f-1"}),
		ledger.AuditProblem{Kind: ledger.ProblemHashMismatch, Table: "events", RowID: fx.f1[1], Chain: "finding/f-1", Seq: 1})
	// An anchor's hash kept outside the database: a rewritten anchor chain
	// differs from it.
	ref := ledger.AnchorRef{Seq: fx.anchor.Seq, Hash: make([]byte, 32)}
	r := fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-2", ExpectAnchor: &ref})
	require.False(t, r.OK())
	require.Equal(t, ledger.ProblemAnchorMismatch, r.Problems[0].Kind)
}

// TestVerifyAuditOfASubjectChecksIt: a subject of every chain type is
// checked by its type, the pool's too (a tampered line-up's chain was
// reported intact, its type missing from the list); a subject that names
// no chain is an error, not a report that nothing was found wrong.
func TestVerifyAuditOfASubjectChecksIt(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for i := range 3 {
		require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{SubjectType: casework.SubjectLineup, SubjectID: "l-1",
			Key: fmt.Sprintf("k/%d", i), Action: "swap", Actor: office, Note: "n", OccurredAt: time.Now()}))
	}
	fx.tamper(t, "UPDATE events SET note = 'forged' WHERE subject_type = 'lineup' AND subject_id = 'l-1' AND seq = 2")
	r := fx.verify(t, ledger.VerifyOptions{Subject: "lineup/l-1"})
	require.False(t, r.OK())
	require.Equal(t, ledger.ProblemHashMismatch, r.Problems[0].Kind)
	for _, subject := range []string{"finding/l-1", "invitation/l-1", "lineup/l-9", "l-9", "access/2026-13-01/x"} {
		_, err := fx.store.VerifyAudit(t.Context(), ledger.VerifyOptions{Subject: subject})
		require.ErrorIs(t, err, derrors.ErrNotFound, subject)
		require.ErrorContains(t, err, "names no audit chain", subject)
	}
}

// TestAppendEventKeepsTheChainOnRetry: a retried write (same event key) adds
// no row and leaves the head where it was.
func TestAppendEventKeepsTheChainOnRetry(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	e := casework.Event{SubjectType: casework.SubjectInspection, SubjectID: "ins-1", Key: "create/r1", Action: "create", Actor: office,
		OccurredAt: time.Now()}
	for range 3 {
		require.NoError(t, fx.store.AppendEvent(t.Context(), e))
	}
	require.Equal(t, 1, fx.count(t, "SELECT count(*) FROM events"))
	require.Equal(t, 1, fx.count(t, "SELECT seq FROM audit_chain_heads WHERE subject_id = 'ins-1'"))
	require.True(t, fx.verify(t, ledger.VerifyOptions{}).OK())
}

// TestAuditHashSM3 writes a chain that changes from SHA-256 to SM3 midway;
// each row records its algorithm and verifies with it.
func TestAuditHashSM3(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for i, alg := range []ledger.HashAlg{ledger.HashSHA256, ledger.HashSM3, ledger.HashSM3} {
		fx.store.AuditHash = alg
		require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{SubjectType: ledger.SubjectTip, SubjectID: "tip-1",
			Key: fmt.Sprint(i), Action: "receive", Actor: office, OccurredAt: time.Now()}))
	}
	require.NoError(t, fx.store.RecordAccess(t.Context(), ledger.AccessRecord{Actor: office, Action: "decode", Resource: "finding/f-1", Outcome: ledger.AccessRead}))
	a, err := fx.store.WriteAnchor(t.Context(), ledger.AnchorOptions{TakenBy: casework.AnchorByCommand})
	require.NoError(t, err)
	require.Equal(t, ledger.HashSM3, a.HashAlg)
	require.Equal(t, 2, fx.count(t, "SELECT count(*) FROM events WHERE hash_alg = 'sm3'"))
	require.Equal(t, 1, fx.count(t, "SELECT count(*) FROM access_log WHERE hash_alg = 'sm3'"))
	require.True(t, fx.verify(t, ledger.VerifyOptions{}).OK())
	fx.tamper(t, "UPDATE events SET action = 'dismiss' WHERE hash_alg = 'sm3' AND seq = 3")
	r := fx.verify(t, ledger.VerifyOptions{})
	require.False(t, r.OK())
	require.Equal(t, ledger.ProblemHashMismatch, r.Problems[0].Kind)

	_, err = ledger.ParseHashAlg("md5")
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
}

// TestSealAuditChains is the upgrade: events written before migration 008
// (or by an older binary) have no hash until sealed, in ID order, after the
// rows a new binary chained already.
func TestSealAuditChains(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	old := func(subject, key string) {
		require.NoError(t, fx.exec(t, `INSERT INTO events (subject_type, subject_id, event_key, action, actor, data, occurred_at)
			VALUES ('finding', $1, $2, 'record', '{"name":"旧","role":"office","organisation":""}', '{"x": 1.0}', now())`, subject, key))
	}
	old("f-1", "a")
	old("f-1", "b")
	old("f-2", "a")
	require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{SubjectType: casework.SubjectFinding, SubjectID: "f-2", Key: "b",
		Action: "diagnose", Actor: office, OccurredAt: time.Now()}))
	old("f-2", "c") // an older binary still running
	r := fx.verify(t, ledger.VerifyOptions{})
	require.False(t, r.OK())
	require.Equal(t, ledger.ProblemUnsealed, r.Problems[0].Kind)

	// The trigger lets sealing through, and nothing else.
	require.ErrorContains(t, fx.exec(t, "UPDATE events SET note = 'x' WHERE event_key = 'a'"), "append-only")
	// The application role may not write them: sealing is the owner's
	// (`xuncha migrate`).
	_, err := fx.store.SealAuditChains(t.Context())
	require.True(t, ledger.PermissionDenied(err), "%v", err)
	owner, err := ledger.Open(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	t.Cleanup(owner.Close)
	n, err := owner.SealAuditChains(t.Context())
	require.NoError(t, err)
	require.Equal(t, 4, n)
	n, err = owner.SealAuditChains(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to seal")
	require.ErrorContains(t, fx.exec(t, `UPDATE events SET hash = '\x00' WHERE event_key = 'a'`), "append-only")
	require.ErrorContains(t, fx.exec(t, "DELETE FROM events WHERE event_key = 'a'"), "append-only")
	r = fx.verify(t, ledger.VerifyOptions{})
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 5, r.Events)
	require.Equal(t, 3, fx.count(t, "SELECT seq FROM events WHERE subject_id = 'f-2' AND event_key = 'c'"),
		"sealed after the chained row")
}

// TestAccessLogRetention: whole days older than the retention are pruned
// by the anchor, which records it, and the chains still verify; younger
// days cannot be deleted, and a retention under six months is refused.
func TestAccessLogRetention(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	now := time.Now()
	for _, age := range []int{400, 400, 200, 179, 0} {
		require.NoError(t, fx.store.RecordAccessAt(ctx, ledger.AccessRecord{
			Actor: office, Action: "GET /v1/evidence/{id}/content", Resource: "evidence/ev-1", Outcome: ledger.AccessRead,
		}, now.AddDate(0, 0, -age)))
	}
	require.NoError(t, fx.store.RecordAccessAt(ctx, ledger.AccessRecord{
		Action: "/xuncha.v1.TipService/GetTip", Resource: "tips/tip-1", Outcome: ledger.AccessUnauthenticated,
		Reason: "no bearer token", Remote: "203.0.113.7:5555",
	}, now.AddDate(0, 0, -400)))
	_, err := fx.store.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: casework.AnchorByCommand})
	require.NoError(t, err)
	require.True(t, fx.verify(t, ledger.VerifyOptions{}).OK())

	_, err = fx.store.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: casework.AnchorByCommand, AccessLogRetentionDays: 179})
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	require.ErrorIs(t, ledger.CheckAccessLogRetention(30), derrors.ErrInvalidArgument)
	require.ErrorContains(t, fx.exec(t, "DELETE FROM access_log WHERE at > now() - interval '1 day'"), "at least 180 days")
	require.ErrorContains(t, fx.exec(t, "UPDATE access_log SET reason = 'x'"), "at least 180 days")

	a, err := fx.store.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: casework.AnchorBySchedule, AccessLogRetentionDays: 180})
	require.NoError(t, err)
	require.EqualValues(t, 4, a.AccessPrunedRows, "the two days 400 and 200 days ago")
	require.NotNil(t, a.AccessPrunedBefore)
	require.Equal(t, 2, fx.count(t, "SELECT count(*) FROM access_log"))
	r := fx.verify(t, ledger.VerifyOptions{})
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 2, r.AccessRecords)

	// Removing a kept day is still found.
	fx.tamper(t, "DELETE FROM access_log", "DELETE FROM audit_chain_heads WHERE subject_type = 'access'")
	r = fx.verify(t, ledger.VerifyOptions{})
	require.False(t, r.OK())
	require.Equal(t, ledger.ProblemMissingTail, r.Problems[0].Kind)
	require.Equal(t, "access_log", r.Problems[0].Table)
}

// TestConfigurationChangesAreChained: the escalation ladder and webhook
// subscriptions leave events on their own chains.
func TestConfigurationChangesAreChained(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	_, err := fx.store.SetEscalationPolicy(ctx, "p-1", casework.DefaultEscalationPolicy().Steps, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	_, _, err = fx.store.CreateWebhook(ctx, casework.Webhook{ID: "w-1", RequestID: "w-1", URL: "https://example.org/hook",
		Secret: "s3cret-s3cret-s3cret", CreatedBy: office})
	require.NoError(t, err)
	require.NoError(t, fx.store.DeleteWebhook(ctx, "w-1", office))
	events, err := fx.store.Events(ctx, casework.SubjectWebhook, "w-1")
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, "create_webhook", events[0].Action)
	require.NotContains(t, string(events[0].Data), "s3cret")
	require.Equal(t, "delete_webhook", events[1].Action)
	events, err = fx.store.Events(ctx, casework.SubjectEscalationPolicy, casework.EscalationPolicySubjectID)
	require.NoError(t, err)
	require.Len(t, events, 1)
	r := fx.verify(t, ledger.VerifyOptions{})
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 2, r.Chains)
}

// TestLaterAnchorsDoNotLaunderATruncatedTail: a chain's tail removed and
// its head row made to match is found (the anchor recorded more), and the
// next anchor refuses to record the shortened chain rather than make it
// the truth; verification keeps finding it.
func TestLaterAnchorsDoNotLaunderATruncatedTail(t *testing.T) {
	t.Parallel()
	fx := setupAudit(t)
	fx.tamper(t,
		fmt.Sprintf("DELETE FROM events WHERE id IN (%d, %d)", fx.f1[4], fx.f1[5]),
		`UPDATE audit_chain_heads h SET seq = 3, hash = e.hash FROM events e
		   WHERE h.subject_type = 'finding' AND h.subject_id = 'f-1' AND e.subject_type = 'finding' AND e.subject_id = 'f-1' AND e.seq = 3`)
	requireFirstProblem(t, fx.verify(t, ledger.VerifyOptions{}), ledger.AuditProblem{
		Kind: ledger.ProblemMissingTail, Table: "events", RowID: fx.f1[3], Chain: "finding/f-1", Seq: 3})

	_, err := fx.store.WriteAnchor(t.Context(), ledger.AnchorOptions{TakenBy: casework.AnchorBySchedule})
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
	require.ErrorContains(t, err, "finding/f-1: its head is at seq 3, behind seq 5")
	r := fx.verify(t, ledger.VerifyOptions{ExpectAnchor: &ledger.AnchorRef{Seq: fx.anchor.Seq, Hash: fx.anchor.Hash}})
	require.False(t, r.OK())
	require.EqualValues(t, 1, r.Anchors, "nothing was anchored")
}

// TestLaterAnchorsDoNotLaunderARewrittenTail: a tail removed and written
// anew past where the anchor left it (so the head moved on, as for any
// change) is anchored by the next anchor; verification still compares
// every position any anchor recorded, and finds the rows the first anchor
// saw gone or changed.
func TestLaterAnchorsDoNotLaunderARewrittenTail(t *testing.T) {
	t.Parallel()
	fx := setupAudit(t)
	fx.tamper(t,
		fmt.Sprintf("DELETE FROM events WHERE id IN (%d, %d, %d)", fx.f1[3], fx.f1[4], fx.f1[5]),
		`UPDATE audit_chain_heads h SET seq = 2, hash = e.hash FROM events e
		   WHERE h.subject_type = 'finding' AND h.subject_id = 'f-1' AND e.subject_type = 'finding' AND e.subject_id = 'f-1' AND e.seq = 2`)
	for i := range 4 {
		require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{
			SubjectType: casework.SubjectFinding, SubjectID: "f-1", Key: fmt.Sprintf("rewritten/%d", i), Action: "withdraw",
			Actor: office, OccurredAt: fx.anchor.TakenAt,
		}))
	}
	_, err := fx.store.WriteAnchor(t.Context(), ledger.AnchorOptions{TakenBy: casework.AnchorBySchedule})
	require.NoError(t, err, "the head moved on: nothing tells the anchor it was rewritten")
	r := fx.verify(t, ledger.VerifyOptions{ExpectAnchor: &ledger.AnchorRef{Seq: fx.anchor.Seq, Hash: fx.anchor.Hash}})
	requireFirstProblem(t, r, ledger.AuditProblem{
		Kind: ledger.ProblemAnchorMismatch, Table: "events", RowID: fx.chainIDs(t, "f-1")[5], Chain: "finding/f-1", Seq: 5})
	require.Contains(t, r.Problems[0].Detail, "anchor 1 recorded hash")
	require.Len(t, r.Problems, 1, "%v", r.Problems)
	// The same for that subject alone, and for the chains written since
	// the first anchor.
	r = fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-1"})
	require.Len(t, r.Problems, 1, "%v", r.Problems)
	require.True(t, fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-2"}).OK())
	r = fx.verify(t, ledger.VerifyOptions{Since: fx.anchor.TakenAt})
	require.Len(t, r.Problems, 1, "%v", r.Problems)
	require.Equal(t, "finding/f-1", r.Problems[0].Chain)
}

// TestVerifySubjectSinceNothingChanged: a subject whose chain was not
// written to since the instant is not "no chain": nothing to check; a
// subject that names no chain is NOT_FOUND, since or not.
func TestVerifySubjectSinceNothingChanged(t *testing.T) {
	t.Parallel()
	fx := setupAudit(t)
	later := time.Now().Add(time.Hour)
	r := fx.verify(t, ledger.VerifyOptions{Subject: "finding/f-1", Since: later})
	require.True(t, r.OK(), "%v", r.Problems)
	require.Zero(t, r.Chains)
	_, err := fx.store.VerifyAudit(t.Context(), ledger.VerifyOptions{Subject: "finding/nope", Since: later})
	require.ErrorIs(t, err, derrors.ErrNotFound)
}
