package workflows

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// requireReason asserts that err is a *derrors.StageError with reason.
func requireReason(t *testing.T, err error, reason string) {
	t.Helper()
	var se *derrors.StageError
	require.True(t, errors.As(err, &se), "want a %s refusal, got %v", reason, err)
	require.Equal(t, reason, se.Reason)
}

// TestInspectionGuards pins each refusal the stage table alone does not
// make, so that removing any of them from inspectionGuard fails here.
func TestInspectionGuards(t *testing.T) {
	t.Parallel()
	planned := casework.Inspection{Lifecycle: casework.Lifecycle{ID: "i-1", Stage: StagePlanned}, Kind: KindComprehensive}
	approved := planned
	approved.TeamApproved = true
	onsite := casework.Inspection{Lifecycle: casework.Lifecycle{ID: "i-1", Stage: StageStationed},
		Kind: KindComprehensive, TeamApproved: true}
	followUp := onsite
	followUp.Kind = KindFollowUp

	requireReason(t, inspectionGuard(planned, ActionNotify), "TEAM_NOT_APPROVED")
	require.NoError(t, inspectionGuard(approved, ActionNotify))
	requireReason(t, inspectionGuard(approved, ActionApproveTeam), "TEAM_ALREADY_APPROVED")
	require.NoError(t, inspectionGuard(planned, ActionApproveTeam))
	requireReason(t, inspectionGuard(onsite, ActionRecheck), "NOT_FOLLOW_UP")
	require.NoError(t, inspectionGuard(followUp, ActionRecheck))
	for _, action := range []string{ActionStation, ActionEndOnsite, ActionCancel} {
		require.NoError(t, inspectionGuard(onsite, action), action)
	}
}

// TestChangesWaitForTheFirstWrite pins the core's recording guard: a
// finding or an inspection refuses changes until its first ledger write is
// done; an interview (changesWhileRecording) accepts them and they wait.
func TestChangesWaitForTheFirstWrite(t *testing.T) {
	t.Parallel()
	office := actor.Actor{Name: "x", Role: actor.RoleOffice}

	f := core[casework.Finding]{spec: findingSpec, row: casework.Finding{Lifecycle: casework.Lifecycle{ID: "f-1", Stage: FindingListed}}}
	requireReason(t, f.checkChange(ActionWithdraw, office), "NOT_RECORDED")
	f.recorded = true
	require.NoError(t, f.checkChange(ActionWithdraw, office))

	in := core[casework.Inspection]{spec: inspectionSpec, row: casework.Inspection{Lifecycle: casework.Lifecycle{ID: "i-1",
		Stage: StagePlanned}}}
	requireReason(t, in.checkChange(ActionCancel, office), "NOT_RECORDED")
	in.recorded = true
	require.NoError(t, in.checkChange(ActionCancel, office))
	requireReason(t, in.checkChange(ActionNotify, office), "TEAM_NOT_APPROVED")

	iv := core[casework.Interview]{spec: interviewSpec, row: casework.Interview{Lifecycle: casework.Lifecycle{ID: "iv-1",
		Stage: InterviewProposed}}}
	require.NoError(t, iv.checkChange(ActionApproveInterview, office))
	require.ErrorIs(t, iv.checkChange(ActionApproveInterview, actor.Actor{Name: "u", Role: actor.RoleUnit}), derrors.ErrPermissionDenied)
	requireReason(t, iv.checkChange(ActionHoldInterview, office), "STAGE_NOT_ALLOWED")
}

// TestEveryActionHasAChineseName: a stage refusal names the action asked
// and those allowed in Chinese (it read "不允许 diagnose"); so does the
// Web UI. Every action of every stage table, and every role's action,
// has a name in internal/i18n.
func TestEveryActionHasAChineseName(t *testing.T) {
	for _, m := range []*stageMachine{findingMachine, inspectionMachine, interviewMachine, invitationMachine} {
		var all []string
		for _, moves := range m.moves {
			for _, mv := range moves {
				all = append(all, mv.action)
			}
		}
		if m.anytime.action != "" {
			all = append(all, m.anytime.action)
		}
		for action := range m.roles {
			all = append(all, action)
		}
		for _, a := range all {
			if i18n.Action(a) == a {
				t.Errorf("%s: action %q has no Chinese name (internal/i18n actions)", m.noun, a)
			}
		}
	}
}
