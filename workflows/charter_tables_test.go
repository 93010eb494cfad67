package workflows

import (
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// The division of powers, written out as a domain expert would check it
// against the charter: who may take each step of each lifecycle. Every
// (action, role) pair is asserted, so removing or adding a role anywhere in
// the rules fails here.

var allRoles = append(slices.Clone(actor.Roles), actor.RoleSystem)

func requireRoleTable(t *testing.T, check func(action string, who actor.Actor) error, want map[string][]string) {
	t.Helper()
	for action, allowed := range want {
		for _, role := range allRoles {
			err := check(action, actor.Actor{Name: "x", Role: role})
			if slices.Contains(allowed, role) {
				require.NoError(t, err, "%s by %s", action, role)
				continue
			}
			require.ErrorIs(t, err, derrors.ErrPermissionDenied, "%s by %s", action, role)
		}
	}
}

func TestFindingRoleTable(t *testing.T) {
	t.Parallel()
	requireRoleTable(t, FindingMachine.CheckRole, map[string][]string{
		"record":                  {actor.RoleTeamMember, actor.RoleTeamLeader, actor.RoleOffice},
		ActionDiagnose:            {actor.RoleTeamMember, actor.RoleTeamLeader, actor.RoleOffice},
		ActionClassify:            {actor.RoleTeamLeader, actor.RoleOffice},
		ActionRefer:               {actor.RoleOffice},
		ActionReportRectification: {actor.RoleUnit, actor.RoleOffice},
		ActionVerify:              {actor.RoleOffice},
		ActionWithdraw:            {actor.RoleOffice},
		ActionRequestExtension:    {actor.RoleUnit, actor.RoleOffice},
		ActionDecideExtension:     {actor.RoleOffice},
		ActionSignOff:             {actor.RoleOffice, actor.RoleCommittee},
	})
}

func TestInspectionRoleTable(t *testing.T) {
	t.Parallel()
	requireRoleTable(t, InspectionMachine.CheckRole, map[string][]string{
		"create":                  {actor.RoleOffice},
		ActionApproveTeam:         {actor.RoleCommittee},
		ActionNotify:              {actor.RoleOffice},
		ActionStation:             {actor.RoleOffice, actor.RoleTeamLeader},
		ActionEndOnsite:           {actor.RoleTeamLeader, actor.RoleOffice},
		ActionSubmitReport:        {actor.RoleTeamLeader},
		ActionReview:              {actor.RoleOffice},
		ActionApprove:             {actor.RoleCommittee},
		ActionGiveFeedback:        {actor.RoleOffice},
		ActionInspectionRectified: {actor.RoleUnit, actor.RoleOffice},
		ActionClose:               {actor.RoleOffice},
		ActionCancel:              {actor.RoleOffice},
		ActionRecheck:             {actor.RoleTeamLeader, actor.RoleOffice},
	})
}

func TestInterviewRoleTable(t *testing.T) {
	t.Parallel()
	requireRoleTable(t, InterviewMachine.CheckRole, map[string][]string{
		"propose":                     {actor.RoleOffice, actor.RoleTeamLeader, actor.RoleTeamMember},
		ActionApproveInterview:        {actor.RoleOffice, actor.RoleCommittee},
		ActionHoldInterview:           {actor.RoleOffice, actor.RoleCommittee},
		ActionReportInterviewFollowUp: {actor.RoleUnit, actor.RoleOffice},
		ActionCloseInterview:          {actor.RoleOffice, actor.RoleCommittee},
		ActionCancelInterview:         {actor.RoleOffice, actor.RoleSystem},
	})
}

func TestInterviewStageTable(t *testing.T) {
	t.Parallel()
	requireStageTable(t, InterviewMachine, InterviewStages,
		[]string{ActionApproveInterview, ActionHoldInterview, ActionReportInterviewFollowUp, ActionCloseInterview, ActionCancelInterview},
		map[string]map[string]string{
			InterviewProposed:         {ActionApproveInterview: InterviewApproved},
			InterviewApproved:         {ActionHoldInterview: InterviewHeld},
			InterviewHeld:             {ActionReportInterviewFollowUp: InterviewFollowUpReported},
			InterviewFollowUpReported: {ActionCloseInterview: InterviewClosed},
		},
		move{ActionCancelInterview, InterviewCancelled})
}

// requireStageTable checks every (stage, action) pair of m against want,
// the next stage of each pair allowed: anytime's action leads to its stage
// from every open stage, and any other pair is refused, naming the stage
// and what it allows.
func requireStageTable(t *testing.T, m Machine, stages, actions []string, want map[string]map[string]string, anytime move) {
	t.Helper()
	for _, stage := range stages {
		for _, action := range actions {
			next, err := m.Next("x-1", stage, action)
			expected, ok := want[stage][action]
			if action == anytime.action && m.Open(stage) {
				expected, ok = anytime.next, true
			}
			if !ok {
				var se *derrors.StageError
				require.True(t, errors.As(err, &se), "%s in %s: want a refusal, got %q", action, stage, next)
				require.Equal(t, stage, se.Stage)
				require.Equal(t, m.Allowed(stage), se.Allowed)
				continue
			}
			require.NoError(t, err, "%s in %s", action, stage)
			require.Equal(t, expected, next, "%s in %s", action, stage)
		}
	}
}

func TestInvitationRoleTable(t *testing.T) {
	t.Parallel()
	requireRoleTable(t, InvitationMachine.CheckRole, map[string][]string{
		"invite":                 {actor.RoleOffice},
		ActionAcceptInvitation:   {actor.RoleExpert, actor.RoleOffice},
		ActionDeclineInvitation:  {actor.RoleExpert, actor.RoleOffice},
		ActionJudgeDecline:       {actor.RoleOffice},
		ActionExpireInvitation:   {actor.RoleSystem},
		ActionWithdrawInvitation: {actor.RoleOffice},
	})
}

// TestInvitationStageTable: an invitation is answered once, a decline is
// judged once, and the office may withdraw it while it is open. (The
// judgement's outcome, justified or not, is the handler's; the table names
// the first.)
func TestInvitationStageTable(t *testing.T) {
	t.Parallel()
	stages := []string{InvitationInvited, InvitationAccepted, InvitationDeclined, InvitationDeclineJustified,
		InvitationDeclineUnjustified, InvitationExpired, InvitationWithdrawn}
	requireStageTable(t, InvitationMachine, stages,
		[]string{ActionAcceptInvitation, ActionDeclineInvitation, ActionJudgeDecline, ActionExpireInvitation, ActionWithdrawInvitation},
		map[string]map[string]string{
			InvitationInvited: {ActionAcceptInvitation: InvitationAccepted, ActionDeclineInvitation: InvitationDeclined,
				ActionExpireInvitation: InvitationExpired},
			InvitationDeclined: {ActionJudgeDecline: InvitationDeclineJustified},
		},
		move{ActionWithdrawInvitation, InvitationWithdrawn})
	// Open: INVITED and DECLINED (a decline waits for its judgement).
	for _, stage := range stages {
		require.Equal(t, stage == InvitationInvited || stage == InvitationDeclined, InvitationMachine.Open(stage), stage)
	}
}

// TestSignerRolesAreTheSignOffRoles: the roles a sign-off rule may name
// are exactly those the stage machine lets sign off.
func TestSignerRolesAreTheSignOffRoles(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, casework.SignerRoles, findingMachine.roles[ActionSignOff])
}

// TestWebUITermsAreChinese: the Web UI's details name every stage, and the
// summaries every kind, source and team role, in Chinese (the catalogue's
// terms), never as the machines' identifiers.
func TestWebUITermsAreChinese(t *testing.T) {
	han := regexp.MustCompile(`\p{Han}`)
	stages := func(m *stageMachine) []string {
		out := slices.Clone(m.final)
		for stage := range m.moves {
			out = append(out, stage)
		}
		return out
	}
	for name, c := range map[string]struct {
		values []string
		name   func(string) string
	}{
		"finding stage":    {stages(findingMachine), findingSpec.stageName},
		"inspection stage": {stages(inspectionMachine), inspectionSpec.stageName},
		"interview stage":  {stages(interviewMachine), interviewSpec.stageName},
		"invitation stage": {stages(invitationMachine), invitationSpec.stageName},
		"inspection kind":  {InspectionKinds, i18n.InspectionKind},
		"finding kind":     {FindingKinds, i18n.FindingKind},
		"interview source": {InterviewSources, i18n.InterviewSource},
		"team role":        {teamRoles, i18n.TeamRole},
		"signer role":      {casework.SignerRoles, i18n.Role},
	} {
		require.NotEmpty(t, c.values, name)
		for _, v := range c.values {
			require.Regexp(t, han, c.name(v), "%s %s has no Chinese name", name, v)
		}
	}
	require.Equal(t, "**长沙市 430100 · 专项巡查 · 2026年第一轮**",
		inspectionSpec.title(casework.Inspection{UnitName: "长沙市", Lifecycle: casework.Lifecycle{UnitCode: "430100"},
			Kind: KindSpecial, Round: "2026年第一轮"}))
	require.Equal(t, "约谈 430100 · finding/f-1 · 逾期升级提请",
		InterviewSummary(InterviewInput{UnitCode: "430100", Subject: "finding/f-1", Source: InterviewSourceLadder}))
}
