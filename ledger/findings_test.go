package ledger_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// march is a moment of 2026 in Asia/Shanghai, stored to the microsecond.
var march = time.Date(2026, 3, 10, 2, 30, 0, 123456000, time.UTC)

func TestRecordFindingIsIdempotent(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := newFinding("f-1", "i-1", "430100", march)

	first, err := fx.store.RecordFinding(t.Context(), f, "record/req-f-1")
	require.NoError(t, err)
	require.Equal(t, "2026-430100-0001", first)
	again, err := fx.store.RecordFinding(t.Context(), f, "record/req-f-1")
	require.NoError(t, err)
	require.Equal(t, first, again)

	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM findings`))
	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 1)
	e := events[0]
	require.Equal(t, "record", e.Action)
	require.Equal(t, "FOUND", e.StageAfter)
	require.Equal(t, member, e.Actor)
	require.JSONEq(t, `["ev-1","ev-2"]`, string(e.Evidence))
	require.True(t, e.OccurredAt.Equal(march))
	var data map[string]any
	require.NoError(t, json.Unmarshal(e.Data, &data))
	require.Equal(t, first, data["ledger_number"])

	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	want := f
	want.LedgerNumber = first
	requireSameFinding(t, want, got)
}

// TestRecordListedFinding: a finding listed as it is numbered is one row,
// LISTED at version 2, with its record and list events in order, the list
// naming the number; a retry adds nothing; the statistics count it once.
func TestRecordListedFinding(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := newFinding("f-1", "i-1", "430100", march)

	first, err := fx.store.RecordListedFinding(t.Context(), f, "record/req-f-1")
	require.NoError(t, err)
	require.Equal(t, "2026-430100-0001", first)
	again, err := fx.store.RecordListedFinding(t.Context(), f, "record/req-f-1")
	require.NoError(t, err)
	require.Equal(t, first, again)

	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, "record", events[0].Action)
	require.Equal(t, "FOUND", events[0].StageAfter)
	require.Equal(t, "list", events[1].Action)
	require.Equal(t, "list/req-f-1", events[1].Key)
	require.Equal(t, "FOUND", events[1].StageBefore)
	require.Equal(t, "LISTED", events[1].StageAfter)
	require.Equal(t, "entered in the problem ledger as "+first, events[1].Note)
	require.True(t, events[1].OccurredAt.Equal(march))

	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	want := f
	want.LedgerNumber, want.Stage, want.Version = first, "LISTED", 2
	requireSameFinding(t, want, got)
	requireTalliesRecomputed(t, fx)
	require.Equal(t, 1, fx.count(t, `SELECT findings FROM finding_month_tallies WHERE inspection_id = 'i-1'`))
}

func TestRecordFindingRefusesUnknownInspection(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, err := fx.store.RecordFinding(t.Context(), newFinding("f-1", "nope", "430100", march), "record/x")
	require.ErrorIs(t, err, derrors.ErrNotFound)
	require.ErrorContains(t, err, `inspection "nope"`)
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM events`))
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM ledger_sequences`))
}

func TestLedgerNumbersSequencePerYearAndUnit(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-cs", "430100")
	fx.inspection(t, "i-zz", "430200")
	// 2026-01-01 00:30 in Shanghai is still 2025 in UTC: the year is the
	// calendar's (Shanghai's; the zone XUNCHA_TEST_DAY_ENDS_AT makes, when a
	// test run sets it).
	newYear := time.Date(2026, 1, 1, 0, 30, 0, 0, calendar.Location())
	lastOf2025 := time.Date(2025, 12, 31, 23, 30, 0, 0, calendar.Location())
	tests := []struct {
		id, inspection, unit string
		at                   time.Time
		want                 string
	}{
		{"f-1", "i-cs", "430100", march, "2026-430100-0001"},
		{"f-2", "i-cs", "430100", march.Add(time.Hour), "2026-430100-0002"},
		{"f-3", "i-zz", "430200", march, "2026-430200-0001"},
		{"f-4", "i-cs", "430100", lastOf2025, "2025-430100-0001"},
		{"f-5", "i-cs", "430100", newYear, "2026-430100-0003"},
		{"f-6", "i-zz", "430200", march, "2026-430200-0002"},
	}
	for _, tt := range tests {
		got, err := fx.store.RecordFinding(t.Context(), newFinding(tt.id, tt.inspection, tt.unit, tt.at), "record/"+tt.id)
		require.NoError(t, err, tt.id)
		require.Equal(t, tt.want, got, tt.id)
	}

	// Past 9999 the number widens rather than wrapping.
	require.NoError(t, fx.exec(t, `UPDATE ledger_sequences SET last = 9999 WHERE year = 2026 AND unit_code = '430200'`))
	got, err := fx.store.RecordFinding(t.Context(), newFinding("f-7", "i-zz", "430200", march), "record/f-7")
	require.NoError(t, err)
	require.Equal(t, "2026-430200-10000", got)
}

func TestLedgerNumbersUnderConcurrency(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	const n = 12
	type result struct {
		id, number string
		err        error
	}
	results := make(chan result, 2*n)
	for i := range 2 * n {
		// Each finding is recorded twice at once, as a retried activity may be.
		id := fmt.Sprintf("f-%d", i%n)
		go func() {
			num, err := fx.store.RecordFinding(t.Context(), newFinding(id, "i-1", "430100", march), "record/"+id)
			results <- result{id, num, err}
		}()
	}
	byID := map[string]string{}
	given := map[string]bool{}
	for range 2 * n {
		r := <-results
		require.NoError(t, r.err)
		if prev, ok := byID[r.id]; ok {
			require.Equal(t, prev, r.number, "both writes of %s get one number", r.id)
			continue
		}
		require.False(t, given[r.number], "number %s given twice", r.number)
		byID[r.id], given[r.number] = r.number, true
	}
	for i := 1; i <= n; i++ {
		require.True(t, given[ledger.LedgerNumber(2026, "430100", i)], "number %d given", i)
	}
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'finding'`))
}

func TestApplyFindingChange(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := newFinding("f-1", "i-1", "430100", march)
	number, err := fx.store.RecordFinding(t.Context(), f, "record/f-1")
	require.NoError(t, err)

	// A referral with a running deadline.
	deadline, err := calendar.Builtin().AddMonths(calendar.MustParseDate("2026-03-20"), 1)
	require.NoError(t, err)
	referred := f
	referred.LedgerNumber = number
	referred.Stage = "REFERRED"
	referred.Diagnosis = &casework.Diagnosis{Cause: "管理缺失", ResponsibleParties: []string{"厂长"}, RiskLevel: "HIGH"}
	referred.Dispositions = []string{"RECTIFY", "SUPERVISE"}
	referred.Referral = &casework.Referral{ReceivingAuthority: "长沙市应急管理局", FeedbackReceivedOn: "2026-03-20"}
	referred.Deadline = &deadline
	referred.DeadlineSeq = 1
	referred.UpdatedAt = march.Add(48 * time.Hour)
	referred.Version = 2
	refer := casework.Event{Key: "refer/req-2", Action: "refer", StageBefore: "FOUND", StageAfter: "REFERRED",
		Actor: office, Note: "移交督办", OccurredAt: referred.UpdatedAt}
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), referred, refer))

	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, referred, got)
	require.Equal(t, deadline.Due, got.Deadline.Due)
	require.True(t, deadline.DueAt.Equal(got.Deadline.DueAt))
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM findings WHERE due_date = $1::date AND due_at = $2`,
		deadline.Due.String(), deadline.DueAt))

	tests := []struct {
		name   string
		change casework.Finding
		event  casework.Event
	}{
		{"retry of the same change", referred, refer},
		{"older version under a used key", func() casework.Finding {
			old := referred
			old.Stage, old.Title, old.Version = "DIAGNOSED", "overwritten", 1
			return old
		}(), refer},
		{"same version", func() casework.Finding {
			same := referred
			same.Title = "overwritten"
			return same
		}(), refer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, fx.store.ApplyFindingChange(t.Context(), tt.change, tt.event))
			got, err := fx.store.GetFinding(t.Context(), "f-1")
			require.NoError(t, err)
			requireSameFinding(t, referred, got)
			events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
			require.NoError(t, err)
			require.Len(t, events, 2)
		})
	}

	// A newer version under a key already recorded (an earlier change sent
	// again into a later run) is refused, and the row does not move.
	replayed := referred
	replayed.Stage, replayed.Version = "RECTIFIED", 3
	require.ErrorIs(t, fx.store.ApplyFindingChange(t.Context(), replayed, refer), derrors.ErrAlreadyExists)
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, referred, got)
	// An older version under a new key (a change sent again after its
	// write was committed but not answered) changes nothing but records its
	// event.
	stale := referred
	stale.Stage, stale.Version = "DIAGNOSED", 1
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), stale, casework.Event{Key: "diagnose/req-1", Action: "diagnose",
		Actor: office, OccurredAt: march}))
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, referred, got)
	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.Equal(t, "diagnose/req-1", events[2].Key)

	// The ledger number is the ledger's: a change cannot move it.
	renumbered := referred
	renumbered.LedgerNumber = "2026-430100-9999"
	renumbered.Version = 3
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), renumbered, casework.Event{Key: "k3", Action: "note", Actor: office, OccurredAt: march}))
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, number, got.LedgerNumber)
	require.Equal(t, 3, got.Version)

	// An approved extension: the requests with their decisions, and the
	// last day the office first set, read back as written.
	extended := got
	later, err := calendar.Builtin().AddMonths(calendar.MustParseDate("2026-04-20"), 1)
	require.NoError(t, err)
	decided := march.Add(96 * time.Hour)
	extended.Deadline = &later
	extended.DeadlineSeq = 2
	extended.OriginalDue = deadline.Due.String()
	extended.Extensions = []casework.Extension{{Seq: 1, DeadlineSeq: 1, State: casework.ExtensionApproved,
		PreviousDue: deadline.Due.String(), OriginalDue: deadline.Due.String(), RequestedDue: later.Due.String(),
		Reason: "重大隐患治理工程需要更长工期", EvidenceIDs: []string{"ev-9"}, RequestedBy: member, RequestedAt: march,
		DecidedBy: &office, DecidedAt: &decided, ApprovedDue: later.Due.String()}}
	extended.Version = 4
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), extended, casework.Event{Key: "k4", Action: "decideExtension", Actor: office, OccurredAt: decided}))
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, extended, got)
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM findings WHERE original_due = $1::date AND due_date = $2::date`,
		deadline.Due.String(), later.Due.String()))

	// A finding the ledger does not have is not found, and nothing is written.
	missing := newFinding("f-missing", "i-1", "430100", march)
	err = fx.store.ApplyFindingChange(t.Context(), missing, casework.Event{Key: "k", Action: "refer", Actor: office, OccurredAt: march})
	require.ErrorIs(t, err, derrors.ErrNotFound)
	events, err = fx.store.Events(t.Context(), casework.SubjectFinding, "f-missing")
	require.NoError(t, err)
	require.Empty(t, events)
}

func TestGetFindingNotFound(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, err := fx.store.GetFinding(t.Context(), "nope")
	require.ErrorIs(t, err, derrors.ErrNotFound)
}

func TestHistoryIsAppendOnly(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := newFinding("f-1", "i-1", "430100", march)
	_, err := fx.store.RecordFinding(t.Context(), f, "record/f-1")
	require.NoError(t, err)
	_, err = fx.store.RecordEscalation(t.Context(), casework.Escalation{Subject: "finding/f-1", DeadlineSeq: 1,
		Step: casework.StepReminder, UnitCode: "430100", DueAt: march, FiredAt: march}, casework.Finding{}, casework.Event{})
	require.NoError(t, err)
	_, err = fx.store.SetEscalationPolicy(t.Context(), "p-1", casework.DefaultEscalationPolicy().Steps, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.NoError(t, fx.store.InsertEvidence(t.Context(), evidenceOf("ev-1", sha('a'))))
	w, _, err := fx.store.CreateWebhook(t.Context(), webhookOf("w-1", "req-w-1", "https://office.example/hook"))
	require.NoError(t, err)
	require.NoError(t, fx.store.RecordDelivery(t.Context(), casework.WebhookDelivery{DeliveryID: "d-1", WebhookID: w.ID,
		EventType: "finding.major", Attempt: 1, StatusCode: 200, Payload: json.RawMessage(`{}`)}))

	for _, sql := range []string{
		`UPDATE events SET note = 'rewritten'`,
		`DELETE FROM events`,
		`TRUNCATE events`,
		`UPDATE escalations SET message = 'rewritten'`,
		`DELETE FROM escalations`,
		`UPDATE escalation_policies SET steps = '[]'`,
		`DELETE FROM escalation_policies`,
		`UPDATE evidence SET sha256 = repeat('b', 64)`,
		`DELETE FROM evidence`,
		`UPDATE webhook_deliveries SET status_code = 500`,
		`DELETE FROM webhook_deliveries`,
		`DELETE FROM findings`,
		`TRUNCATE findings CASCADE`,
		`DELETE FROM webhooks`,
	} {
		t.Run(sql, func(t *testing.T) {
			err := fx.exec(t, sql)
			require.Error(t, err)
			require.Contains(t, err.Error(), "is refused")
		})
	}
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'finding'`))
}

func TestListFindings(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-cs", "430100")
	fx.inspection(t, "i-zz", "430200")
	yes, no := true, false
	// f-b and f-a share an instant: the ID breaks the tie.
	specs := []struct {
		id, inspection, unit, kind, severity, stage string
		overdue                                     bool
		at                                          time.Time
	}{
		{"f-b", "i-cs", "430100", "HAZARD", "MAJOR", "FOUND", false, march},
		{"f-a", "i-cs", "430100", "HAZARD", "GENERAL", "REFERRED", true, march},
		{"f-c", "i-cs", "430100", "RESPONSIBILITY", "", "REFERRED", false, march.Add(time.Minute)},
		{"f-d", "i-zz", "430200", "HAZARD", "MAJOR", "CLOSED", false, march.Add(2 * time.Minute)},
		{"f-e", "i-zz", "430200", "VIOLATION_CLUE", "", "REFERRED", true, march.Add(3 * time.Minute)},
	}
	for _, s := range specs {
		f := newFinding(s.id, s.inspection, s.unit, s.at)
		f.Kind, f.Severity = s.kind, s.severity
		_, err := fx.store.RecordFinding(t.Context(), f, "record/"+s.id)
		require.NoError(t, err)
		f.Stage, f.Overdue, f.Version = s.stage, s.overdue, 2
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, casework.Event{Key: "change/" + s.id, Action: "change", Actor: office, OccurredAt: s.at}))
	}

	tests := []struct {
		name   string
		filter ledger.FindingFilter
		want   []string
	}{
		{"all", ledger.FindingFilter{}, []string{"f-a", "f-b", "f-c", "f-d", "f-e"}},
		{"inspection", ledger.FindingFilter{InspectionID: "i-zz"}, []string{"f-d", "f-e"}},
		{"unit", ledger.FindingFilter{UnitCode: "430100"}, []string{"f-a", "f-b", "f-c"}},
		{"stage", ledger.FindingFilter{Stage: "REFERRED"}, []string{"f-a", "f-c", "f-e"}},
		{"kind", ledger.FindingFilter{Kind: "HAZARD"}, []string{"f-a", "f-b", "f-d"}},
		{"severity", ledger.FindingFilter{Severity: "MAJOR"}, []string{"f-b", "f-d"}},
		{"overdue", ledger.FindingFilter{Overdue: &yes}, []string{"f-a", "f-e"}},
		{"not overdue", ledger.FindingFilter{Overdue: &no}, []string{"f-b", "f-c", "f-d"}},
		{"combined", ledger.FindingFilter{UnitCode: "430100", Stage: "REFERRED", Overdue: &no}, []string{"f-c"}},
		{"nothing", ledger.FindingFilter{InspectionID: "i-none"}, nil},
		// A value that would break string-built SQL is just a value.
		{"quoted", ledger.FindingFilter{UnitCode: "' OR '1'='1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, size := range []int{1, 2, 50} {
				var got []string
				token := ""
				for pages := 0; ; pages++ {
					require.Less(t, pages, 10, "pagination must end")
					page, err := fx.store.ListFindings(t.Context(), tt.filter, size, token)
					require.NoError(t, err)
					require.LessOrEqual(t, len(page.Findings), size)
					for _, f := range page.Findings {
						got = append(got, f.ID)
					}
					if page.NextPageToken == "" {
						break
					}
					token = page.NextPageToken
				}
				require.Equal(t, tt.want, got, "page size %d", size)
			}
		})
	}

	t.Run("bad page token", func(t *testing.T) {
		t.Parallel()
		_, err := fx.store.ListFindings(t.Context(), ledger.FindingFilter{}, 10, "not-a-token")
		require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	})
}

func TestOpenDeadlineWorkflows(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	for i, stage := range []string{"REFERRED", "FOUND", "REFERRED", "RECTIFIED", "CLOSED"} {
		id := fmt.Sprintf("f-%d", 5-i)
		f := newFinding(id, "i-1", "430100", march)
		_, err := fx.store.RecordFinding(t.Context(), f, "record/"+id)
		require.NoError(t, err)
		f.Stage, f.Version = stage, 2
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, casework.Event{Key: "k", Action: "change", Actor: office, OccurredAt: march}))
	}
	ids, err := fx.store.OpenDeadlineWorkflows(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"finding/f-3", "finding/f-5"}, ids)
}
