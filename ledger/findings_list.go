package ledger

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The finding list is built per filter combination, not written once with
// catch-all conditions such as `($1 = '' OR unit_code = $1)`: pgx prepares
// each statement and PostgreSQL may switch a prepared statement to a
// generic plan, for which a catch-all condition cannot use an index, and a
// page of a million-row ledger then falls to a parallel scan (issue 12
// item 2). Each combination of set filters is its own statement text, so
// even its generic plan knows which columns are compared and uses an index:
// the filter's own (migration 002: findings_unit, findings_stage, … all end
// in created_at, id, the list's order) or findings_created, filtered as it
// is walked. findings_list_test.go checks every single filter and the
// scopes under plan_cache_mode = force_generic_plan. A generic plan cannot
// know how rare a value is, so the list statement is planned for the
// arguments of each call (planPerCall).

// sqlWhere collects the conditions of a statement and their arguments,
// numbering the placeholders in the order the conditions are added.
type sqlWhere struct {
	conds []string
	args  []any
}

// add appends cond, whose `?` placeholders take args in order.
func (w *sqlWhere) add(cond string, args ...any) {
	var b strings.Builder
	for _, part := range strings.SplitAfter(cond, "?") {
		if strings.HasSuffix(part, "?") {
			w.args = append(w.args, args[0])
			args = args[1:]
			part = strings.TrimSuffix(part, "?") + "$" + strconv.Itoa(len(w.args))
		}
		b.WriteString(part)
	}
	w.conds = append(w.conds, b.String())
}

// clause is the WHERE clause, empty without conditions.
func (w *sqlWhere) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// teamInspections is the scope condition of a team role: the inspections
// whose line-up lists the subject (ledger.Reach; FindingInReach says the
// same for one finding).
const teamInspections = `inspection_id IN (SELECT i.id FROM inspections i
  WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', ?::text)))`

// referredTo is the scope condition of a receiving body: the findings whose
// clue referrals name it (FindingInReach says the same for one finding).
const referredTo = `clue_referrals @> jsonb_build_array(jsonb_build_object('receiver', ?::text))`

// findingListQuery is the list statement for filter: a page in
// (created_at, id) order after the given row (none on the first page),
// limit rows at the most.
func findingListQuery(filter FindingFilter, afterAt *time.Time, afterID string, limit int64) (string, []any) {
	var w sqlWhere
	for _, c := range []struct{ column, value string }{
		{"inspection_id", filter.InspectionID}, {"unit_code", filter.UnitCode},
		{"stage", filter.Stage}, {"severity", filter.Severity}, {"kind", filter.Kind},
	} {
		if c.value != "" {
			w.add(c.column+" = ?", c.value)
		}
	}
	if filter.Overdue != nil {
		w.add("overdue = ?", *filter.Overdue)
	}
	if filter.Reach.ByUnit {
		w.add("unit_code = ANY(?::text[])", orEmpty(filter.Reach.Units))
	}
	if filter.Reach.ByTeam {
		w.add(teamInspections, filter.Reach.Subject)
	}
	if filter.Reach.ByReceiver {
		w.add(referredTo, filter.Reach.Receiver)
	}
	if afterAt != nil {
		w.add("(created_at, id) > (?, ?)", *afterAt, afterID)
	}
	w.args = append(w.args, limit)
	return "SELECT " + findingColumns + " FROM findings" + w.clause() + " ORDER BY created_at, id LIMIT $" + strconv.Itoa(len(w.args)), w.args
}

// findingColumns are a findings row's columns in dbsqlc.Finding's order,
// named as sqlc's GetFinding names them (TestFindingColumnsAreGetFindings),
// not `*`: a column a newer migration adds must not shift the row that an
// older binary, still running through a rolling upgrade, scans by position.
const findingColumns = "id, workflow_id, inspection_id, request_id, ledger_number, unit_code, unit_name, title, description, " +
	"kind, severity, important, content_area, evidence_ids, rectification_opinion, stage, diagnosis, dispositions, referral, " +
	"rectification, deadline, due_date, due_at, deadline_seq, overdue, missed_deadlines, reopen_count, withdraw_reason, found_by, " +
	"created_at, updated_at, version, extensions, original_due, signoffs, clue_referrals"

// listFindingRows runs the list statement for filter.
func (s *Store) listFindingRows(ctx context.Context, filter FindingFilter, afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Finding, error) {
	query, args := findingListQuery(filter, afterAt, afterID, limit)
	rows, err := s.pool.Query(ctx, query, append([]any{planPerCall}, args...)...)
	if err != nil {
		return nil, err
	}
	// findingColumns, in the order sqlc's generated GetFinding scans them
	// into the same struct.
	return pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.Finding])
}
