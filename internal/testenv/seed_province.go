package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SeedFindingsPerInspection is how many findings SeedLedger gives each
// inspection.
const SeedFindingsPerInspection = 500

// seedSQL writes a province's ledger of $1 findings, in SQL, for the
// benchmarks: inspections of 100 units (14 cities with six districts
// each, and two provincial departments), four rounds a year from 2022;
// 500 findings an inspection, found over its first 15 days, of every kind
// and content area, older ones mostly closed out; the escalation steps of
// referred findings and the interviews the ladder proposed. Triggers are
// off while it writes (session_replication_role = replica: the owner
// writes, a superuser, as testenv's is); the statistics tallies are then
// computed from scratch by migrations 010's and 019's views, triggers
// still off (migration 019's would append every tally written to the
// pending changes of the tallies per round).
var seedSQL = []string{
	`SET session_replication_role = replica`,
	`INSERT INTO inspections (id, workflow_id, request_id, unit_code, unit_name, kind, round, planned_start, planned_end,
	   stage, created_by, created_at, updated_at, team, team_approved)
	 SELECT 'bench-ins-' || r, 'inspection/bench-ins-' || r, 'bench-ins-' || r, u.code, '单位' || u.code,
	        (ARRAY['COMPREHENSIVE', 'SPECIAL', 'FOLLOW_UP'])[1 + r % 3],
	        (2022 + (r / 100) / 4) || '年第' || (1 + (r / 100) % 4) || '轮',
	        s.start, s.start + 14, 'FEEDBACK_GIVEN', '{"name":"bench"}', s.start, s.start,
	        jsonb_build_array(jsonb_build_object('name', '组员', 'role', 'MEMBER', 'rank', 'OTHER',
	                                             'subject', 'bench-team-' || r % 20)), true
	 FROM generate_series(0, ($1::integer + 499) / 500 - 1) r
	 CROSS JOIN LATERAL (SELECT CASE WHEN r % 100 < 98
	          THEN '43' || lpad((1 + (r % 100) / 7)::text, 2, '0') || (ARRAY['00', '02', '03', '04', '11', '21', '81'])[1 + (r % 100) % 7]
	          ELSE 'DEPT' || (r % 100) END AS code) u
	 CROSS JOIN LATERAL (SELECT make_date(2022 + (r / 100) / 4, 1 + 3 * ((r / 100) % 4), 1) + (r % 100) % 60 AS start) s`,
	`INSERT INTO findings (id, workflow_id, inspection_id, request_id, ledger_number, unit_code, unit_name, title,
	   description, kind, severity, content_area, evidence_ids, rectification_opinion, stage, diagnosis, dispositions,
	   referral, rectification, deadline, due_date, due_at, deadline_seq, overdue, missed_deadlines, reopen_count,
	   found_by, created_at, updated_at, version)
	 SELECT 'bench-f-' || n, 'finding/bench-f-' || n, i.id, 'bench-f-' || n,
	        extract(year FROM found)::integer || '-' || i.unit_code || '-' || lpad(((n / 50000) % 4 * 500 + n % 500 + 1)::text, 4, '0'),
	        i.unit_code, i.unit_name, '危化品仓库未按规定设置可燃气体检测报警装置（' || n || '）',
	        '检查发现该企业危化品仓库未按规定设置可燃气体检测报警装置，现场堆放物料超过核定储存量，安全出口被杂物堵塞，存在较大事故隐患。',
	        k.kind, k.severity, 1 + (h >> 4) % 10, ARRAY['ev-bench'], '立即停止使用该仓库，限期安装报警装置并清理安全出口。', st.stage,
	        CASE WHEN st.stage <> 'LISTED' THEN '{"cause":"企业安全投入不足，主要负责人未履行安全生产职责","responsible_parties":["某化工有限公司","园区安监站"],"risk_level":"HIGH","legal_basis":"《危险化学品安全管理条例》第二十条"}'::jsonb END,
	        CASE WHEN st.stage NOT IN ('LISTED', 'DIAGNOSED') THEN ARRAY['RECTIFY', 'SUPERVISE'] ELSE '{}' END,
	        CASE WHEN referred THEN jsonb_build_object('receiving_authority', '市安全生产委员会办公室',
	                                                   'feedback_received_on', to_char(feedback, 'YYYY-MM-DD')) END,
	        CASE WHEN st.stage IN ('RECTIFIED', 'CLOSED') THEN jsonb_build_object('report', '已安装可燃气体报警装置并通过验收，安全出口已清理',
	          'handling_of_responsible', '对仓库负责人给予警告处分', 'evidence_ids', jsonb_build_array('ev-bench'), 'reported_at', found) END,
	        CASE WHEN referred THEN jsonb_build_object('rule', '1 month after ' || to_char(feedback, 'YYYY-MM-DD'), 'kind', 'months',
	          'count', 1, 'from', to_char(feedback, 'YYYY-MM-DD'), 'due', to_char(feedback + interval '1 month', 'YYYY-MM-DD'),
	          'due_at', feedback + interval '1 month 1 day', 'explanation', jsonb_build_array('整改期限一个月')) END,
	        CASE WHEN referred THEN (feedback + interval '1 month')::date END,
	        CASE WHEN referred THEN feedback + interval '1 month 1 day' END,
	        CASE WHEN referred THEN 1 + (h >> 8) % 2 ELSE 0 END,
	        st.stage IN ('REFERRED', 'RECTIFIED') AND feedback + interval '1 month 1 day' < now() AND (h >> 9) % 3 = 0,
	        CASE WHEN (h >> 10) % 6 = 0 THEN 1 ELSE 0 END, CASE WHEN (h >> 8) % 2 = 1 THEN 1 ELSE 0 END,
	        '{"name":"bench","role":"team_member"}', found,
	        CASE WHEN st.stage = 'CLOSED' THEN feedback + ((h >> 12) % 60) * interval '1 day' ELSE found END, 1
	 FROM generate_series(0, $1::integer - 1) n
	 CROSS JOIN LATERAL (SELECT abs(hashint4(n)::bigint) AS h) hh
	 JOIN inspections i ON i.id = 'bench-ins-' || (n / 500)
	 CROSS JOIN LATERAL (SELECT (i.planned_start + (n % 15) * interval '1 day' + interval '9 hours'
	                             + (h % 28800) * interval '1 second') AT TIME ZONE 'Asia/Shanghai' AS found) ff
	 CROSS JOIN LATERAL (SELECT found + interval '20 days' AS feedback) fb
	 CROSS JOIN LATERAL (SELECT CASE WHEN h % 20 < 13 THEN 'HAZARD' WHEN h % 20 < 17 THEN 'RESPONSIBILITY'
	                                 WHEN h % 20 = 17 THEN 'VIOLATION_CLUE' ELSE 'SYSTEMIC_RISK' END AS kind,
	                            CASE WHEN h % 20 < 12 THEN 'GENERAL' WHEN h % 20 = 12 THEN 'MAJOR' ELSE '' END AS severity) k
	 CROSS JOIN LATERAL (SELECT CASE
	     WHEN found < timestamptz '2026-01-01' THEN (CASE WHEN h % 100 < 92 THEN 'CLOSED' WHEN h % 100 < 97 THEN 'WITHDRAWN' ELSE 'REFERRED' END)
	     ELSE (ARRAY['LISTED', 'DIAGNOSED', 'CLASSIFIED', 'REFERRED', 'REFERRED', 'RECTIFIED', 'CLOSED', 'CLOSED', 'CLOSED', 'WITHDRAWN'])[1 + h % 10] END AS stage) st
	 CROSS JOIN LATERAL (SELECT st.stage IN ('REFERRED', 'RECTIFIED', 'CLOSED') AS referred) rr`,
	`INSERT INTO escalations (id, subject, deadline_seq, step, unit_code, due_at, fired_at)
	 SELECT 'bench-esc-' || f.id || '-' || s.step, 'finding/' || f.id, 1, s.step, f.unit_code, f.due_at, f.due_at
	 FROM findings f
	 CROSS JOIN LATERAL (SELECT abs(hashtext(f.id)::bigint) AS h) hh
	 CROSS JOIN LATERAL (VALUES ('REMINDER', h % 5 = 0), ('OVERDUE', h % 10 = 0), ('INTERVIEW_PROPOSED', h % 40 = 0)) s(step, taken)
	 WHERE f.due_at IS NOT NULL AND s.taken`,
	`INSERT INTO interviews (id, workflow_id, request_id, subject, unit_code, reason, source, stage, proposed_by, held_on,
	   created_at, updated_at, version)
	 SELECT 'bench-iv-' || e.id, 'interview/bench-iv-' || e.id, e.id, e.subject, e.unit_code, '整改逾期', 'LADDER',
	        CASE WHEN abs(hashtext(e.id)::bigint) % 2 = 0 THEN 'HELD' ELSE 'PROPOSED' END, '{"name":"bench"}',
	        CASE WHEN abs(hashtext(e.id)::bigint) % 2 = 0 THEN e.fired_at::date + 10 END, e.fired_at, e.fired_at, 1
	 FROM escalations e WHERE e.step = 'INTERVIEW_PROPOSED'`,
	`DELETE FROM finding_tallies`,
	`DELETE FROM finding_month_tallies`,
	`DELETE FROM finding_round_tallies`,
	`DELETE FROM finding_round_tally_deltas`,
	`DELETE FROM finding_contributions_pending`,
	`INSERT INTO finding_tallies SELECT * FROM finding_tallies_recomputed`,
	`INSERT INTO finding_month_tallies SELECT * FROM finding_month_tallies_recomputed`,
	`INSERT INTO finding_round_tallies SELECT * FROM finding_round_tallies_recomputed`,
	`SET session_replication_role = origin`,
	`VACUUM ANALYZE`,
}

// SeedLedger writes a province's ledger of n findings into db, migrated
// and empty (see seedSQL), as its owner, for tests and benchmarks, and says
// on standard error how long it took.
func SeedLedger(tb testing.TB, db Database, n int) {
	tb.Helper()
	ctx := context.WithoutCancel(tb.Context())
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		tb.Fatalf("testenv: seeding: %v", err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	for _, sql := range seedSQL {
		var args []any
		if strings.Contains(sql, "$1") {
			args = []any{n}
		}
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("testenv: seeding %d findings: %v\n%s", n, err, sql)
		}
	}
	fmt.Fprintf(os.Stderr, "testenv: seeded %d findings in %s\n", n, time.Since(start).Round(time.Second))
}
