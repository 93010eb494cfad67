package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// majorHazardSignoff is the rule the issue names: a MAJOR hazard closes
// once the competent department (a committee member unit) and the office
// signed, in that order.
var majorHazardSignoff = casework.SignoffRule{Kind: "HAZARD", Severity: "MAJOR", Ordered: true, Signers: []casework.Signer{
	{Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}, {Role: actor.RoleOffice},
}}

// TestSignoffRules: the office's sign-off rules are kept with its ladder
// and read back as set; a policy without them (or set before migration
// 012) has none; the same request ID with other rules is refused.
func TestSignoffRules(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	overdue := []casework.EscalationStep{{Step: casework.StepOverdue}}
	rules := []casework.SignoffRule{majorHazardSignoff, {Kind: "VIOLATION_CLUE", Signers: []casework.Signer{{Organisation: "省纪委监委驻应急管理厅纪检监察组"}}}}
	set, err := fx.store.SetEscalationPolicy(t.Context(), "signoff-1", overdue, casework.DefaultExtensionLimits(), rules, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Equal(t, rules, set.SignoffRules)
	inForce, err := fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Equal(t, rules, inForce.SignoffRules)

	retry, err := fx.store.SetEscalationPolicy(t.Context(), "signoff-1", overdue, casework.DefaultExtensionLimits(), rules, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Equal(t, set, retry)
	_, err = fx.store.SetEscalationPolicy(t.Context(), "signoff-1", overdue, casework.DefaultExtensionLimits(), rules[:1], casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists, "the same steps and limits with other sign-off rules")

	none, err := fx.store.SetEscalationPolicy(t.Context(), "signoff-none", overdue, casework.DefaultExtensionLimits(), []casework.SignoffRule{}, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	require.Nil(t, none.SignoffRules)

	require.NoError(t, fx.exec(t, `INSERT INTO escalation_policies (request_id, steps, updated_by)
		VALUES ('before-012', '[{"step":"OVERDUE","working_days":0}]', '{}')`))
	inForce, err = fx.store.EscalationPolicy(t.Context())
	require.NoError(t, err)
	require.Nil(t, inForce.SignoffRules)
}

func TestSignoffRuleFor(t *testing.T) {
	t.Parallel()
	hazards := casework.SignoffRule{Kind: "HAZARD", Signers: []casework.Signer{{Role: actor.RoleOffice}}}
	rules := []casework.SignoffRule{hazards, majorHazardSignoff}
	require.Equal(t, &majorHazardSignoff, casework.SignoffRuleFor(rules, "HAZARD", "MAJOR"), "the severity's rule before the kind's")
	require.Equal(t, &hazards, casework.SignoffRuleFor(rules, "HAZARD", "GENERAL"))
	require.Nil(t, casework.SignoffRuleFor(rules, "RESPONSIBILITY", ""))
	require.Nil(t, casework.SignoffRuleFor([]casework.SignoffRule{majorHazardSignoff}, "HAZARD", "GENERAL"))

	dept := majorHazardSignoff.Signers[0]
	require.True(t, dept.Matches(actor.Actor{Name: "李明", Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}))
	require.False(t, dept.Matches(actor.Actor{Name: "刘洋", Role: actor.RoleCommittee, Organisation: "省安全生产委员会"}), "another organisation")
	require.False(t, dept.Matches(actor.Actor{Name: "李明", Role: actor.RoleUnit, Organisation: "省住房和城乡建设厅"}), "another role")
	require.False(t, casework.Signer{Organisation: "长沙市"}.Matches(actor.Actor{Role: actor.RoleUnit, Organisation: "长沙市"}),
		"a unit never signs its own close-out")
}

func TestSignoffRulesValidation(t *testing.T) {
	t.Parallel()
	office := casework.Signer{Role: actor.RoleOffice}
	tests := []struct {
		name   string
		rules  []casework.SignoffRule
		fields []string
	}{
		{"unknown kind", []casework.SignoffRule{{Kind: "ACCIDENT", Signers: []casework.Signer{office}}}, []string{"signoff_rules[0].kind"}},
		{"severity of a non-hazard", []casework.SignoffRule{{Kind: "RESPONSIBILITY", Severity: "MAJOR", Signers: []casework.Signer{office}}},
			[]string{"signoff_rules[0].severity"}},
		{"unknown severity", []casework.SignoffRule{{Kind: "HAZARD", Severity: "MINOR", Signers: []casework.Signer{office}}},
			[]string{"signoff_rules[0].severity"}},
		{"twice", []casework.SignoffRule{majorHazardSignoff, majorHazardSignoff}, []string{"signoff_rules[1]"}},
		{"no signer", []casework.SignoffRule{{Kind: "HAZARD"}}, []string{"signoff_rules[0].signers"}},
		{"empty signer", []casework.SignoffRule{{Kind: "HAZARD", Signers: []casework.Signer{{}}}}, []string{"signoff_rules[0].signers[0].role"}},
		{"a unit signs", []casework.SignoffRule{{Kind: "HAZARD", Signers: []casework.Signer{{Role: actor.RoleUnit}}}},
			[]string{"signoff_rules[0].signers[0].role"}},
		{"organisation with a control character", []casework.SignoffRule{{Kind: "HAZARD", Signers: []casework.Signer{{Organisation: "省\x01厅"}}}},
			[]string{"signoff_rules[0].signers[0].organisation"}},
		{"signer twice", []casework.SignoffRule{{Kind: "HAZARD", Signers: []casework.Signer{office, office}}}, []string{"signoff_rules[0].signers[1]"}},
		{"too many", make([]casework.SignoffRule, casework.MaxSignoffRules+1), []string{"signoff_rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var invalid *derrors.InvalidError
			require.ErrorAs(t, casework.ValidateSignoffRules(tt.rules), &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields, invalid.Error())
		})
	}
	require.NoError(t, casework.ValidateSignoffRules(nil))
	require.NoError(t, casework.ValidateSignoffRules([]casework.SignoffRule{majorHazardSignoff}))
}

// TestOpenDeadlinesIncludeSignoffs: a calendar change also reaches a
// RECTIFIED finding whose round of sign-off is pending (its deadline may
// move); not one whose round ended, nor one withdrawn.
func TestOpenDeadlinesIncludeSignoffs(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	march := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	fx.inspection(t, "i-1", "430100")
	require.NoError(t, fx.exec(t, `UPDATE inspections SET stage = 'STATIONED' WHERE id = 'i-1'`))
	for _, c := range []struct{ id, stage, state string }{
		{"f-1", "RECTIFIED", casework.SignoffPending},
		{"f-2", "CLOSED", casework.SignoffComplete},
		{"f-3", "WITHDRAWN", casework.SignoffLapsed},
		{"f-4", "REFERRED", casework.SignoffRefused},
	} {
		f := newFinding(c.id, "i-1", "430100", march)
		_, err := fx.store.RecordFinding(t.Context(), f, "record/"+c.id)
		require.NoError(t, err)
		f.Stage, f.Version = c.stage, 2
		f.Signoffs = []casework.Signoff{{Seq: 1, State: c.state, Signers: []casework.Signer{{Role: "office"}}, RequestedBy: office, RequestedAt: march}}
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, casework.Event{Key: "k", Action: "change", Actor: office, OccurredAt: march}))
	}
	ids, err := fx.store.OpenDeadlineWorkflows(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"finding/f-1", "finding/f-4"}, ids, "f-4 for its REFERRED deadline")
}
