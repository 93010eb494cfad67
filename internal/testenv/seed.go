package testenv

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Seeded findings: SeedFindings writes finding f-<g> for g = 1..n, created
// at SeedStart plus g minutes, of inspection ins-<g % 1000>, whose unit is
// 4301<00 + (g % 1000) % 20> and whose line-up lists member-<(g % 1000) % 50>;
// kind, severity, stage and content area cycle through their values, and one
// finding in ten is overdue.
const (
	SeedInspections = 1000
	SeedUnits       = 20
)

// SeedFindings writes SeedInspections inspections and n findings straight
// into the ledger at databaseURL, server-side (generate_series), and
// analyzes both tables, which only their owner may (Database.OwnerURL; the
// application role's ANALYZE is skipped with a warning): data for plans and benchmarks at a realistic size
// (a million findings take about half a minute), not lifecycles — no
// workflow runs behind them.
func SeedFindings(ctx context.Context, databaseURL string, n int) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{
		fmt.Sprintf(`INSERT INTO inspections (id, workflow_id, request_id, unit_code, unit_name, kind, planned_start, planned_end,
		        stage, created_by, created_at, updated_at, team)
		 SELECT 'ins-' || g, 'inspection/ins-' || g, 'req-ins-' || g, (430100 + g %% %[2]d)::text, '单位', 'COMPREHENSIVE',
		        date '2026-01-05', date '2026-01-20', 'STATIONED', '{}', now(), now(),
		        jsonb_build_array(jsonb_build_object('subject', 'member-' || g %% 50, 'name', '组员'))
		 FROM generate_series(0, %[1]d - 1) g`, SeedInspections, SeedUnits),
		fmt.Sprintf(`INSERT INTO findings (id, workflow_id, inspection_id, request_id, unit_code, unit_name, title, kind, severity,
		        content_area, stage, found_by, created_at, updated_at, version, overdue)
		 SELECT 'f-' || g, 'finding/f-' || g, 'ins-' || g %% %[2]d, 'req-f-' || g, (430100 + (g %% %[2]d) %% %[3]d)::text, '单位',
		        '危化品仓库未设置可燃气体报警装置',
		        (ARRAY['HAZARD','VIOLATION_CLUE','RESPONSIBILITY','OTHER'])[1 + g %% 4],
		        (ARRAY['GENERAL','MAJOR','IMPORTANT'])[1 + g %% 3],
		        1 + g %% 9,
		        (ARRAY['LISTED','DIAGNOSED','CLASSIFIED','REFERRED','RECTIFIED','CLOSED','WITHDRAWN'])[1 + g %% 7],
		        '{"name":"组员","role":"team_member"}', %[4]s + g * interval '1 minute', now(), 1, g %% 10 = 0
		 FROM generate_series(1, %[1]d) g`, n, SeedInspections, SeedUnits, "timestamptz '2026-01-01 00:00:00+00'"),
		"ANALYZE inspections", "ANALYZE findings",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("seeding findings: %w", err)
		}
	}
	return nil
}
