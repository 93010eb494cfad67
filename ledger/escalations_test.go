package ledger_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

func TestRecordEscalation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := newFinding("f-1", "i-1", "430100", march)
	number, err := fx.store.RecordFinding(t.Context(), f, "record/f-1")
	require.NoError(t, err)

	due := time.Date(2026, 4, 20, 16, 0, 0, 0, time.UTC)
	overdue := f
	overdue.LedgerNumber = number
	overdue.Stage, overdue.DeadlineSeq, overdue.Overdue, overdue.MissedDeadlines, overdue.Version = "REFERRED", 1, true, 1, 2
	esc := casework.Escalation{Subject: "finding/f-1", DeadlineSeq: 1, Step: casework.StepOverdue, UnitCode: "430100",
		DueAt: due, FiredAt: due, Message: "整改期限已过"}
	event := casework.Event{Key: "escalate/1/OVERDUE", Action: "escalate", StageBefore: "REFERRED", StageAfter: "REFERRED",
		Actor: ledgerSystem, OccurredAt: due}

	first, err := fx.store.RecordEscalation(t.Context(), esc, overdue, event)
	require.NoError(t, err)
	require.Equal(t, casework.EscalationID("finding/f-1", 1, casework.StepOverdue), first.ID)
	require.True(t, first.FiredAt.Equal(due))
	require.Equal(t, "整改期限已过", first.Message)

	// A retry, even one fired later, returns the first escalation and adds nothing.
	retry := esc
	retry.FiredAt = due.Add(time.Minute)
	again, err := fx.store.RecordEscalation(t.Context(), retry, overdue, event)
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM escalations`))
	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 2)
	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, overdue, got)

	// The next step and the next deadline are escalations of their own.
	interview := esc
	interview.Step, interview.FiredAt = casework.StepInterviewProposed, due.Add(7*24*time.Hour)
	overdue.Version = 3
	_, err = fx.store.RecordEscalation(t.Context(), interview, overdue, casework.Event{Key: "escalate/1/INTERVIEW_PROPOSED",
		Action: "escalate", Actor: ledgerSystem, OccurredAt: interview.FiredAt})
	require.NoError(t, err)
	reopened := esc
	reopened.DeadlineSeq, reopened.FiredAt = 2, due.Add(40*24*time.Hour)
	overdue.Version = 4
	_, err = fx.store.RecordEscalation(t.Context(), reopened, overdue, casework.Event{Key: "escalate/2/OVERDUE",
		Action: "escalate", Actor: ledgerSystem, OccurredAt: reopened.FiredAt})
	require.NoError(t, err)

	// An escalation of another unit, without a finding change.
	other := casework.Escalation{Subject: "inspection/i-2", DeadlineSeq: 1, Step: casework.StepOverdue, UnitCode: "430200",
		DueAt: due, FiredAt: due.Add(time.Hour)}
	_, err = fx.store.RecordEscalation(t.Context(), other, casework.Finding{}, casework.Event{})
	require.NoError(t, err)

	list, err := fx.store.EscalationsOf(t.Context(), "finding/f-1")
	require.NoError(t, err)
	require.Equal(t, []string{"OVERDUE/1", "INTERVIEW_PROPOSED/1", "OVERDUE/2"}, stepsOf(list))

	tests := []struct {
		name   string
		filter ledger.SubjectFilter
		want   []string
	}{
		{"all, newest first", ledger.SubjectFilter{}, []string{"OVERDUE/2", "INTERVIEW_PROPOSED/1", "OVERDUE/1", "OVERDUE/1"}},
		{"subject", ledger.SubjectFilter{Subject: "inspection/i-2"}, []string{"OVERDUE/1"}},
		{"unit", ledger.SubjectFilter{UnitCode: "430100"}, []string{"OVERDUE/2", "INTERVIEW_PROPOSED/1", "OVERDUE/1"}},
		{"none", ledger.SubjectFilter{UnitCode: "999999"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{1, 3, 50} {
				var got []casework.Escalation
				token := ""
				for pages := 0; ; pages++ {
					require.Less(t, pages, 10)
					page, err := fx.store.ListEscalations(t.Context(), tt.filter, size, token)
					require.NoError(t, err)
					got = append(got, page.Escalations...)
					if page.NextPageToken == "" {
						break
					}
					token = page.NextPageToken
				}
				require.Equal(t, tt.want, stepsOf(got), "page size %d", size)
			}
		})
	}

	// A finding change inside an escalation obeys ApplyFindingChange.
	_, err = fx.store.RecordEscalation(t.Context(), casework.Escalation{Subject: "finding/f-x", DeadlineSeq: 1,
		Step: casework.StepReminder, DueAt: due, FiredAt: due}, newFinding("f-x", "i-1", "430100", march),
		casework.Event{Key: "k", Action: "escalate", Actor: ledgerSystem, OccurredAt: due})
	require.ErrorIs(t, err, derrors.ErrNotFound)
	require.Empty(t, must(fx.store.EscalationsOf(t.Context(), "finding/f-x")))
}

func stepsOf(list []casework.Escalation) []string {
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprintf("%s/%d", e.Step, e.DeadlineSeq))
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEscalationPolicy(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	p, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, casework.DefaultEscalationPolicy(), p)

	steps := []casework.EscalationStep{
		{Step: casework.StepInterviewProposed, WorkingDays: 10},
		{Step: casework.StepOverdue, WorkingDays: 0},
		{Step: casework.StepReminder, WorkingDays: -3},
	}
	set, err := fx.store.SetEscalationPolicy(t.Context(), "policy-1", steps, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Positive(t, set.Version)
	require.Equal(t, office, set.UpdatedBy)
	// Stored in firing order.
	require.Equal(t, []casework.EscalationStep{steps[2], steps[1], steps[0]}, set.Steps)
	inForce, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, set, inForce)

	// A newer one replaces it; a retry of the first changes nothing.
	second, err := fx.store.SetEscalationPolicy(t.Context(), "policy-2", []casework.EscalationStep{{Step: casework.StepOverdue}}, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Greater(t, second.Version, set.Version)
	retry, err := fx.store.SetEscalationPolicy(t.Context(), "policy-1", steps, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Equal(t, set, retry)
	inForce, err = fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, second, inForce)

	_, err = fx.store.SetEscalationPolicy(t.Context(), "policy-1", []casework.EscalationStep{{Step: casework.StepOverdue}}, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)
	_, err = fx.store.SetEscalationPolicy(t.Context(), "policy-1", steps, casework.ExtensionLimits{}, nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists, "the same steps with other extension limits")
	require.Equal(t, 2, fx.count(t, `SELECT count(*) FROM escalation_policies`))
}

// TestEscalationPolicyExpectedVersion: a policy sent with the version it
// replaces is set only while that version is in force: two clerks who read
// the same policy cannot undo each other's change; a retry of the one that
// won answers as the first time; a request without a version replaces
// whatever is in force, as before.
func TestEscalationPolicyExpectedVersion(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	overdue := []casework.EscalationStep{{Step: casework.StepOverdue}}
	reminded := []casework.EscalationStep{{Step: casework.StepReminder, WorkingDays: -2}, {Step: casework.StepOverdue}}
	set := func(requestID string, steps []casework.EscalationStep, expected *int64) (casework.EscalationPolicy, error) {
		return fx.store.SetEscalationPolicy(t.Context(), requestID, steps, casework.DefaultExtensionLimits(), nil,
			casework.DefaultInvitationAnswerWorkingDays, expected, office)
	}
	version := func(v int64) *int64 { return &v }

	_, err := set("first", overdue, version(3))
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "no policy was set yet: the built-in one is version 0")
	require.ErrorContains(t, err, "is at version 0, not 3")
	first, err := set("first", overdue, version(0))
	require.NoError(t, err)

	// Two clerks read version first.Version; the first to send wins.
	won, err := set("clerk-a", reminded, version(first.Version))
	require.NoError(t, err)
	_, err = set("clerk-b", overdue, version(first.Version))
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
	require.ErrorContains(t, err, fmt.Sprintf("is at version %d, not %d", won.Version, first.Version))
	inForce, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, won, inForce, "the refused one changed nothing")

	again, err := set("clerk-a", reminded, version(first.Version))
	require.NoError(t, err)
	require.Equal(t, won, again, "a retry of the winner answers as the first time")
	latest, err := set("no-version", overdue, nil)
	require.NoError(t, err)
	require.Greater(t, latest.Version, won.Version)
	require.Equal(t, 3, fx.count(t, `SELECT count(*) FROM escalation_policies`))

	// Sent at once, with the same version read, exactly one is set: in
	// each of 20 rounds of 8 clerks.
	for round := range 20 {
		inForce, err := fx.store.EscalationPolicy(t.Context())
		require.NoError(t, err)
		start := make(chan struct{})
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				<-start
				_, err := set(fmt.Sprintf("race-%d-%d", round, i), reminded, version(inForce.Version))
				errs <- err
			}()
		}
		close(start)
		wins := 0
		for range 8 {
			if err := <-errs; err == nil {
				wins++
			} else {
				require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
			}
		}
		require.Equal(t, 1, wins, "round %d: exactly one of eight concurrent clerks", round)
	}
	require.Equal(t, 3+20, fx.count(t, `SELECT count(*) FROM escalation_policies`))
}

// TestExtensionLimits: the office's extension limits are kept with its
// ladder, severities in their fixed order; none (0) is a policy too; a
// policy set before extensions existed reads as the defaults.
func TestExtensionLimits(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	overdue := []casework.EscalationStep{{Step: casework.StepOverdue}}
	set, err := fx.store.SetEscalationPolicy(t.Context(), "limits-1", overdue,
		casework.ExtensionLimits{MaxCount: 3, TotalWorkingDays: 20, Severities: []string{"MAJOR", "GENERAL"}}, nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	want := casework.ExtensionLimits{MaxCount: 3, TotalWorkingDays: 20, Severities: []string{"GENERAL", "MAJOR"}}
	require.Equal(t, want, set.Extensions)
	inForce, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, want, inForce.Extensions)

	none, err := fx.store.SetEscalationPolicy(t.Context(), "limits-none", overdue, casework.ExtensionLimits{}, nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Equal(t, casework.ExtensionLimits{}, none.Extensions)

	// A row from before migration 011 has no limits: the defaults apply.
	require.NoError(t, fx.exec(t, `INSERT INTO escalation_policies (request_id, steps, updated_by)
		VALUES ('old', '[{"step":"OVERDUE","working_days":0}]', '{}')`))
	inForce, err = fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, casework.DefaultExtensionLimits(), inForce.Extensions)
}

func TestExtensionLimitsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits casework.ExtensionLimits
		fields []string
	}{
		{"negative count", casework.ExtensionLimits{MaxCount: -1}, []string{"extension_limits.max_count"}},
		{"too many", casework.ExtensionLimits{MaxCount: 11, TotalMonths: 1, Severities: []string{"MAJOR"}}, []string{"extension_limits.max_count"}},
		{"none but a total", casework.ExtensionLimits{TotalMonths: 1}, []string{"extension_limits.max_count"}},
		{"no total", casework.ExtensionLimits{MaxCount: 1, Severities: []string{"MAJOR"}}, []string{"extension_limits.total_months"}},
		{"both totals", casework.ExtensionLimits{MaxCount: 1, TotalMonths: 1, TotalWorkingDays: 5, Severities: []string{"MAJOR"}},
			[]string{"extension_limits.total_months"}},
		{"13 months", casework.ExtensionLimits{MaxCount: 1, TotalMonths: 13, Severities: []string{"MAJOR"}}, []string{"extension_limits.total_months"}},
		{"251 working days", casework.ExtensionLimits{MaxCount: 1, TotalWorkingDays: 251, Severities: []string{"MAJOR"}},
			[]string{"extension_limits.total_working_days"}},
		{"no severity", casework.ExtensionLimits{MaxCount: 1, TotalMonths: 1}, []string{"extension_limits.severities"}},
		{"unknown and repeated severities", casework.ExtensionLimits{MaxCount: 1, TotalMonths: 1, Severities: []string{"MAJOR", "MINOR", "MAJOR"}},
			[]string{"extension_limits.severities[1]", "extension_limits.severities[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var invalid *derrors.InvalidError
			require.ErrorAs(t, casework.ValidateExtensionLimits(tt.limits), &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields, invalid.Error())
		})
	}
	require.NoError(t, casework.ValidateExtensionLimits(casework.DefaultExtensionLimits()))
	require.NoError(t, casework.ValidateExtensionLimits(casework.ExtensionLimits{}))
}

func TestEscalationPolicyValidation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	overdue := casework.EscalationStep{Step: casework.StepOverdue}
	tests := []struct {
		name   string
		steps  []casework.EscalationStep
		fields []string
	}{
		{"empty", nil, []string{"steps"}},
		{"no overdue", []casework.EscalationStep{{Step: casework.StepReminder, WorkingDays: -1}}, []string{"steps"}},
		{"unknown step", []casework.EscalationStep{overdue, {Step: "CALL_MINISTER", WorkingDays: 3}}, []string{"steps[1].step"}},
		{"repeated step", []casework.EscalationStep{overdue, overdue}, []string{"steps[1].step"}},
		{"overdue off the due day", []casework.EscalationStep{{Step: casework.StepOverdue, WorkingDays: 1}}, []string{"steps[0].working_days"}},
		{"reminder after", []casework.EscalationStep{{Step: casework.StepReminder, WorkingDays: 2}, overdue}, []string{"steps[0].working_days"}},
		{"reminder on the day", []casework.EscalationStep{{Step: casework.StepReminder}, overdue}, []string{"steps[0].working_days"}},
		{"reminder too early", []casework.EscalationStep{{Step: casework.StepReminder, WorkingDays: -21}, overdue}, []string{"steps[0].working_days"}},
		{"interview before", []casework.EscalationStep{overdue, {Step: casework.StepInterviewProposed, WorkingDays: -1}}, []string{"steps[1].working_days"}},
		{"interview too late", []casework.EscalationStep{overdue, {Step: casework.StepInterviewProposed, WorkingDays: 61}}, []string{"steps[1].working_days"}},
		{"several at once", []casework.EscalationStep{{Step: casework.StepReminder, WorkingDays: 1}, {Step: "x"}},
			[]string{"steps[0].working_days", "steps[1].step", "steps"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := fx.store.SetEscalationPolicy(t.Context(), fmt.Sprintf("bad-%d", i), tt.steps, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
			require.ErrorIs(t, err, derrors.ErrInvalidArgument)
			var invalid *derrors.InvalidError
			require.True(t, errors.As(err, &invalid))
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields, err.Error())
		})
	}
	t.Run("bounds are allowed", func(t *testing.T) {
		t.Parallel()
		_, err := fx.store.SetEscalationPolicy(t.Context(), "bounds", []casework.EscalationStep{
			{Step: casework.StepReminder, WorkingDays: -20}, overdue, {Step: casework.StepInterviewProposed, WorkingDays: 60},
		}, casework.ExtensionLimits{MaxCount: casework.MaxExtensions, TotalWorkingDays: casework.MaxExtensionWorkingDays, Severities: casework.HazardSeverities}, nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
		require.NoError(t, err)
	})
	t.Run("request id required", func(t *testing.T) {
		t.Parallel()
		_, err := fx.store.SetEscalationPolicy(t.Context(), "", []casework.EscalationStep{overdue}, casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
		require.ErrorContains(t, err, "request_id")
	})
}

// TestInvitationAnswerLimit: the invitation's answer limit is kept with the
// ladder, checked (the field and the rule named, nothing stored), part of
// a retry's sameness; a policy set before it existed reads as the default.
func TestInvitationAnswerLimit(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	overdue := []casework.EscalationStep{{Step: casework.StepOverdue}}
	p, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, p.InvitationAnswerWorkingDays, "the default before any policy")

	set, err := fx.store.SetEscalationPolicy(t.Context(), "answer-5", overdue, casework.DefaultExtensionLimits(), nil, 5, nil, office)
	require.NoError(t, err)
	require.Equal(t, 5, set.InvitationAnswerWorkingDays)
	inForce, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, 5, inForce.InvitationAnswerWorkingDays)
	_, err = fx.store.SetEscalationPolicy(t.Context(), "answer-5", overdue, casework.DefaultExtensionLimits(), nil, 6, nil, office)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists, "the same request with another answer limit")

	for _, days := range []int{0, -1, 31} {
		_, err := fx.store.SetEscalationPolicy(t.Context(), fmt.Sprintf("answer-bad-%d", days), overdue,
			casework.DefaultExtensionLimits(), nil, days, nil, office)
		var invalid *derrors.InvalidError
		require.ErrorAs(t, err, &invalid, "days %d", days)
		require.Equal(t, "invitation_answer_working_days", invalid.Violations[0].Field)
		require.Contains(t, invalid.Violations[0].Rule, "between 1 and 30 working days")
	}
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM escalation_policies`), "nothing stored for the refused ones")

	// A row from before migration 016 has no limit: the default applies.
	require.NoError(t, fx.exec(t, `INSERT INTO escalation_policies (request_id, steps, updated_by)
		VALUES ('old', '[{"step":"OVERDUE","working_days":0}]', '{}')`))
	inForce, err = fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, casework.DefaultInvitationAnswerWorkingDays, inForce.InvitationAnswerWorkingDays)
}

// TestUnitsDoNotReachOthersEscalations: a unit reaches the escalations of
// its inspections, findings and interviews, not an invitation's (it names
// the unit that seconds the expert; the pool is not that unit's to read)
// nor a clue referral's receipt ladder (the receiving body's; the API
// leaves out the referrals themselves, api/referrals.go · referralView).
func TestUnitsDoNotReachOthersEscalations(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	at := time.Date(2026, 4, 20, 16, 0, 0, 0, time.UTC)
	for _, e := range []struct{ subject, step string }{
		{"invitation/l-1-x-0", casework.StepReminder}, {"interview/iv-1", casework.StepReminder},
		{"finding/f-1", workflows.StepReferralReminder}, {"finding/f-1", workflows.StepReferralUnacknowledged},
		{"finding/f-1", casework.StepOverdue},
	} {
		_, err := fx.store.RecordEscalation(t.Context(), casework.Escalation{Subject: e.subject, DeadlineSeq: 1, Step: e.step,
			UnitCode: "430100", DueAt: at, FiredAt: at, Message: e.step}, casework.Finding{}, casework.Event{})
		require.NoError(t, err)
	}
	reached := func(r ledger.Reach) (out []string) {
		page, err := fx.store.ListEscalations(t.Context(), ledger.SubjectFilter{Reach: r}, 10, "")
		require.NoError(t, err)
		for _, e := range page.Escalations {
			out = append(out, e.Subject+" "+e.Step)
		}
		return out
	}
	require.ElementsMatch(t, []string{"invitation/l-1-x-0 REMINDER", "interview/iv-1 REMINDER",
		"finding/f-1 REFERRAL_REMINDER", "finding/f-1 REFERRAL_UNACKNOWLEDGED", "finding/f-1 OVERDUE"},
		reached(ledger.Reach{}), "the office reaches every one")
	require.ElementsMatch(t, []string{"interview/iv-1 REMINDER", "finding/f-1 OVERDUE"},
		reached(ledger.Reach{ByUnit: true, Units: []string{"430100"}}))
}

// TestEveryPolicyWriterTakesTheLock: a policy sent without expected_version
// waits for the lock a versioned writer holds between its check and its
// insert; it did not take it, and could land in between, undoing the
// change the versioned writer was checked against.
func TestEveryPolicyWriterTakesTheLock(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock(hashtext('xuncha.escalation_policy'))`)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := fx.store.SetEscalationPolicy(t.Context(), "unversioned", []casework.EscalationStep{{Step: casework.StepOverdue}},
			casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the unversioned write did not wait for the lock (%v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	require.NoError(t, tx.Commit(t.Context()))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the unversioned write never finished")
	}
}

// TestDeadlineTerms: the one-round-trip read of what deadlines are
// resolved with answers as Calendar and EscalationPolicy do, without a
// policy set (the default) and with one set and a year loaded.
func TestDeadlineTerms(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	same := func(what string) (*calendar.Calendar, casework.EscalationPolicy) {
		t.Helper()
		cal, p, err := fx.store.DeadlineTerms(ctx)
		require.NoError(t, err)
		wantCal, err := fx.store.Calendar(ctx)
		require.NoError(t, err)
		wantP, err := fx.store.EscalationPolicy(ctx)
		require.NoError(t, err)
		require.Equal(t, wantCal, cal, what)
		require.Equal(t, wantP, p, what)
		return cal, p
	}
	_, p := same("nothing set")
	require.Equal(t, casework.DefaultEscalationPolicy(), p)

	set, err := fx.store.SetEscalationPolicy(ctx, "policy-terms", []casework.EscalationStep{{Step: casework.StepOverdue}},
		casework.DefaultExtensionLimits(), nil, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	notice := []byte(`{"year":2028,"doc_number":"国办发明电〔2027〕测试号","holidays":[{"name":"National Day","name_zh":"国庆节","start":"2028-10-01","end":"2028-10-07"}],"makeup_days":[]}`)
	_, _, err = fx.store.InsertCalendarVersion(ctx, ledger.CalendarVersion{Year: 2028, RequestID: "load-2028", DocNumber: "国办发明电〔2027〕测试号",
		Notice: notice, LoadedBy: office, LoadedAt: time.Now().UTC()}, nil)
	require.NoError(t, err)
	cal, p := same("a policy set and 2028 loaded")
	require.Equal(t, set, p)
	require.NotEqual(t, calendar.Builtin(), cal, "the loaded year is in force")
}
