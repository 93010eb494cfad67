package ledger_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// seededFindings is the size of the ledger the plan test seeds: enough
// that a sequential scan costs the planner far more than an index (a few
// thousand rows would let it prefer scanning).
const seededFindings = 200_000

// TestFindingListPlansUseIndexes: every statement the finding list builds —
// each filter alone, the unit and team scopes, a deep page — uses an index
// of findings even under plan_cache_mode = force_generic_plan, the plan
// PostgreSQL may switch a prepared statement to after five executions
// (issue 12 item 2); and answers what the catch-all statement it replaces
// answered. The catch-all statement is shown scanning under the same
// setting, so that the test is seen to tell the two apart.
func TestFindingListPlansUseIndexes(t *testing.T) {
	fx := setup(t)
	conn, err := pgx.Connect(t.Context(), fx.url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(t.Context()) })
	// Seeded as the owner, who may ANALYZE; planned as the application role.
	require.NoError(t, testenv.SeedFindings(t.Context(), fx.ownerURL, seededFindings))

	page3 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(150_000 * time.Minute)
	yes := true
	cases := []struct {
		name    string
		filter  ledger.FindingFilter
		afterAt *time.Time
		afterID string
		// index, where set, is the index the plan must use; elsewhere the
		// planner may walk findings_created and filter, or the filter's
		// index, as its estimates say.
		index string
	}{
		{name: "first page", index: "findings_created"},
		{name: "deep page", afterAt: &page3, afterID: "f-150000", index: "findings_created"},
		{name: "inspection", filter: ledger.FindingFilter{InspectionID: "ins-17"}, index: "findings_inspection"},
		{name: "unit", filter: ledger.FindingFilter{UnitCode: "430107"}},
		{name: "stage", filter: ledger.FindingFilter{Stage: "REFERRED"}},
		{name: "kind", filter: ledger.FindingFilter{Kind: "VIOLATION_CLUE"}},
		{name: "severity", filter: ledger.FindingFilter{Severity: "MAJOR"}},
		{name: "overdue", filter: ledger.FindingFilter{Overdue: &yes}},
		{name: "unit and stage, deep", filter: ledger.FindingFilter{UnitCode: "430103", Stage: "CLOSED"}, afterAt: &page3, afterID: "f-150000"},
		{name: "unit scope", filter: ledger.FindingFilter{Reach: ledger.Reach{ByUnit: true, Units: []string{"430101", "430102"}}}},
		{name: "unit scope, unit", filter: ledger.FindingFilter{UnitCode: "430101", Reach: ledger.Reach{ByUnit: true, Units: []string{"430101", "430102"}}}},
		{name: "team scope", filter: ledger.FindingFilter{Reach: ledger.Reach{ByTeam: true, Subject: "member-7"}}},
		{name: "team scope, stage", filter: ledger.FindingFilter{Stage: "LISTED", Reach: ledger.Reach{ByTeam: true, Subject: "member-7"}}},
	}
	_, err = conn.Exec(t.Context(), "SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	for i, c := range cases {
		query, args := ledger.FindingListQuery(c.filter, c.afterAt, c.afterID, 51)
		plan := genericPlan(t, conn, fmt.Sprintf("list_%d", i), query, args)
		require.NotContains(t, plan.seqScans, "findings", "%s: %s\n%s", c.name, query, plan.text)
		require.NotEmpty(t, plan.indexes, "%s: no index in\n%s", c.name, plan.text)
		t.Logf("%s: %s", c.name, strings.Join(plan.indexes, ", "))
		if c.index != "" {
			require.Contains(t, plan.indexes, c.index, "%s:\n%s", c.name, plan.text)
		}
		require.Equal(t, catchAllIDs(t, conn, c.filter, c.afterAt, c.afterID), listIDs(t, conn, query, args), c.name)
	}

	// The statement this replaces, with one filter set, scans.
	query, args := catchAll(ledger.FindingFilter{UnitCode: "430107"}, nil, "")
	plan := genericPlan(t, conn, "catch_all", query, args)
	require.Contains(t, plan.seqScans, "findings", "the catch-all statement under a generic plan:\n%s", plan.text)
}

// plan is what a test reads of an EXPLAIN.
type plan struct {
	text     string
	seqScans []string // relations scanned sequentially
	indexes  []string // indexes used
}

// genericPlan prepares query as name and explains its generic plan for args.
func genericPlan(t *testing.T, conn *pgx.Conn, name, query string, args []any) plan {
	t.Helper()
	_, err := conn.Exec(t.Context(), "PREPARE "+name+" AS "+query)
	require.NoError(t, err, query)
	literals := make([]string, len(args))
	for i, a := range args {
		literals[i] = literal(a)
	}
	var out []byte
	require.NoError(t, conn.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) EXECUTE "+name+"("+strings.Join(literals, ", ")+")").Scan(&out))
	var nodes []struct {
		Plan map[string]any `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(out, &nodes))
	p := plan{text: string(out)}
	var walk func(map[string]any)
	walk = func(n map[string]any) {
		switch n["Node Type"] {
		case "Seq Scan", "Parallel Seq Scan":
			p.seqScans = append(p.seqScans, fmt.Sprint(n["Relation Name"]))
		}
		if ix, ok := n["Index Name"]; ok {
			p.indexes = append(p.indexes, fmt.Sprint(ix))
		}
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			walk(c.(map[string]any))
		}
	}
	walk(nodes[0].Plan)
	require.NotContains(t, p.text, `"Custom Plan Provided": true`)
	return p
}

// literal writes an argument of the list statements as an SQL literal.
func literal(a any) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch v := a.(type) {
	case string:
		return quote(v)
	case bool, int64:
		return fmt.Sprint(v)
	case time.Time:
		return quote(v.Format(time.RFC3339Nano)) + "::timestamptz"
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = quote(s)
		}
		return "ARRAY[" + strings.Join(q, ",") + "]::text[]"
	}
	panic(fmt.Sprintf("no literal for %T", a))
}

// listIDs runs a list statement and returns the IDs.
func listIDs(t *testing.T, conn *pgx.Conn, query string, args []any) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT id FROM ("+query+") page", args...)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return ids
}

// catchAllIDs answers the filter with the catch-all statement.
func catchAllIDs(t *testing.T, conn *pgx.Conn, filter ledger.FindingFilter, afterAt *time.Time, afterID string) []string {
	t.Helper()
	query, args := catchAll(filter, afterAt, afterID)
	return listIDs(t, conn, query, args)
}

// catchAll is the finding list as one statement for every filter, as it
// was written before issue 12: an empty argument matches all.
func catchAll(filter ledger.FindingFilter, afterAt *time.Time, afterID string) (string, []any) {
	overdue := "NULL::boolean"
	if filter.Overdue != nil {
		overdue = fmt.Sprint(*filter.Overdue)
	}
	after := time.Time{}
	if afterAt != nil {
		after = *afterAt
	}
	units := filter.Reach.Units
	if units == nil {
		units = []string{}
	}
	return `SELECT * FROM findings
WHERE ($1::text = '' OR inspection_id = $1)
  AND ($2::text = '' OR unit_code = $2)
  AND ($3::text = '' OR stage = $3)
  AND ($4::text = '' OR kind = $4)
  AND ($5::text = '' OR severity = $5)
  AND (` + overdue + ` IS NULL OR overdue = ` + overdue + `)
  AND (NOT $6::boolean OR unit_code = ANY($7::text[]))
  AND (NOT $8::boolean OR inspection_id IN (
        SELECT i.id FROM inspections i WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', $9::text))))
  AND ($10::timestamptz = '0001-01-01' OR (created_at, id) > ($10, $11::text))
ORDER BY created_at, id
LIMIT 51`, []any{filter.InspectionID, filter.UnitCode, filter.Stage, filter.Kind, filter.Severity,
			filter.Reach.ByUnit, units, filter.Reach.ByTeam, filter.Reach.Subject, after, afterID}
}
