package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// BenchmarkVerifyAudit verifies a ledger of 100,000 events: 10,000 findings
// of 10 events each, sealed and anchored, as `xuncha audit verify` does
// (README, "Audit verification benchmark", has the command and the figure
// measured; make bench-audit runs it).
func BenchmarkVerifyAudit(b *testing.B) {
	const findings, perFinding = 10_000, 10
	store, db := testenv.Ledger(b)
	url := db.OwnerURL
	ctx := b.Context()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(b, err)
	// Rows as an older binary writes them (no hash), then sealed in bulk:
	// far quicker to set up than 100,000 single appends.
	_, err = conn.Exec(ctx, `
		INSERT INTO events (subject_type, subject_id, event_key, action, stage_before, stage_after, actor, note, evidence, data, occurred_at)
		SELECT 'finding', 'f-' || f, 'step/' || s, 'diagnose', 'LISTED', 'DIAGNOSED',
		       '{"name":"王五","role":"team_member","organisation":"省第一巡查组","subject":"dev-team-member"}',
		       '二号厂房消防通道被成品堆放堵塞，已责令立即清理。',
		       '[{"id":"ev-0123456789abcdef"}]',
		       jsonb_build_object('cause', '管理制度落实不到位', 'risk_level', '较大', 'responsible_parties', jsonb_build_array('厂长', '安全员'), 'version', s),
		       now() - (f || ' minutes')::interval
		FROM generate_series(1, $1::int) f, generate_series(1, $2::int) s
		ORDER BY f, s`, findings, perFinding)
	require.NoError(b, err)
	require.NoError(b, conn.Close(context.WithoutCancel(ctx)))
	// Sealing is the owner's (`xuncha migrate`): the application role may
	// not write events' hashes.
	owner, err := ledger.Open(ctx, url)
	require.NoError(b, err)
	defer owner.Close()
	start := time.Now()
	n, err := owner.SealAuditChains(ctx)
	require.NoError(b, err)
	require.Equal(b, findings*perFinding, n)
	b.Logf("sealed %d events in %s", n, time.Since(start).Round(time.Millisecond))
	_, err = store.WriteAnchor(ctx, ledger.AnchorOptions{TakenBy: casework.AnchorByCommand})
	require.NoError(b, err)

	for b.Loop() {
		r, err := store.VerifyAudit(ctx, ledger.VerifyOptions{})
		require.NoError(b, err)
		require.True(b, r.OK(), "%v", r.Problems)
		require.EqualValues(b, findings*perFinding, r.Events)
	}
	b.ReportMetric(float64(findings*perFinding), "events/op")
}
