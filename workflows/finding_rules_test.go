package workflows

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
)

// TestFindingStageTable checks every (stage, action) pair against the
// lifecycle of DESIGN §2, written out independently of findingMoves.
func TestFindingStageTable(t *testing.T) {
	t.Parallel()
	// want[stage][action] is the next stage; verify has two outcomes
	// ("verify" accepted, "verify!" rejected). Missing pairs are refused.
	want := map[string]map[string]string{
		FindingFound:      {ActionWithdraw: FindingWithdrawn},
		FindingListed:     {ActionDiagnose: FindingDiagnosed, ActionWithdraw: FindingWithdrawn},
		FindingDiagnosed:  {ActionClassify: FindingClassified, ActionWithdraw: FindingWithdrawn},
		FindingClassified: {ActionRefer: FindingReferred, ActionWithdraw: FindingWithdrawn},
		FindingReferred: {ActionReportRectification: FindingRectified, ActionWithdraw: FindingWithdrawn,
			ActionRequestExtension: FindingReferred, ActionDecideExtension: FindingReferred},
		FindingRectified: {ActionVerify: FindingClosed, ActionVerify + "!": FindingReferred, ActionWithdraw: FindingWithdrawn,
			ActionSignOff: FindingClosed},
		FindingClosed:    {},
		FindingWithdrawn: {},
	}
	for _, stage := range FindingStages {
		for _, action := range slices.Concat(FindingActions, FindingExtensionActions, FindingSignoffActions) {
			for _, accepted := range []bool{true, false} {
				key := action
				if action == ActionVerify && !accepted {
					key += "!"
				}
				t.Run(fmt.Sprintf("%s/%s", stage, key), func(t *testing.T) {
					next, err := NextFindingStage("f-1", stage, action, accepted)
					expected, ok := want[stage][key]
					if !ok {
						var se *derrors.StageError
						require.True(t, errors.As(err, &se), "want refusal, got %q", next)
						require.Equal(t, "STAGE_NOT_ALLOWED", se.Reason)
						require.Equal(t, stage, se.Stage)
						require.Equal(t, action, se.Action)
						require.Equal(t, FindingMachine.Allowed(stage), se.Allowed)
						require.ErrorIs(t, err, derrors.ErrFailedPrecondition)
						return
					}
					require.NoError(t, err)
					require.Equal(t, expected, next)
				})
			}
		}
	}
}

func TestFindingRoles(t *testing.T) {
	t.Parallel()
	require.NoError(t, FindingMachine.CheckRole(ActionRefer, office))
	require.ErrorIs(t, FindingMachine.CheckRole(ActionRefer, leader), derrors.ErrPermissionDenied)
	require.NoError(t, FindingMachine.CheckRole(ActionReportRectification, unitActor))
	require.ErrorIs(t, FindingMachine.CheckRole(ActionVerify, unitActor), derrors.ErrPermissionDenied)
	require.ErrorIs(t, FindingMachine.CheckRole(ActionWithdraw, member), derrors.ErrPermissionDenied)
	require.NoError(t, FindingMachine.CheckRole("record", member))
}

func TestValidateFindingNamesFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(f *casework.Finding)
		field  string
	}{
		{"no title", func(f *casework.Finding) { f.Title = " " }, "title"},
		{"hazard without severity", func(f *casework.Finding) { f.Severity = "" }, "severity"},
		{"severity on a clue", func(f *casework.Finding) { f.Kind = KindViolationClue }, "severity"},
		{"unknown kind", func(f *casework.Finding) { f.Kind = "RUMOUR" }, "kind"},
		{"content area 11", func(f *casework.Finding) { f.ContentArea = 11 }, "content_area"},
		{"no evidence", func(f *casework.Finding) { f.EvidenceIDs = nil }, "evidence_ids"},
		{"major without opinion", func(f *casework.Finding) { f.Severity = SeverityMajor; f.RectificationOpinion = "" }, "rectification_opinion"},
		{"no request id", func(f *casework.Finding) { f.RequestID = "" }, "request_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFinding(SeverityGeneral)
			tt.mutate(&f)
			var invalid *derrors.InvalidError
			require.ErrorAs(t, ValidateFinding(f), &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Contains(t, fields, tt.field)
		})
	}
	require.NoError(t, ValidateFinding(newFinding(SeverityMajor)))
	require.NoError(t, ValidateFinding(newFinding("")))
}

// modelStep is the model's answer to one action: the next stage, or "" when
// the model forbids it.
func modelStep(stage, action string, accept bool) string {
	if stage == FindingClosed || stage == FindingWithdrawn {
		return ""
	}
	if action == ActionWithdraw {
		return FindingWithdrawn
	}
	order := []string{FindingListed, FindingDiagnosed, FindingClassified, FindingReferred, FindingRectified, FindingClosed}
	actions := []string{ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification, ActionVerify}
	for i, s := range order[:len(actions)] {
		if s == stage && actions[i] == action {
			if action == ActionVerify && !accept {
				return FindingReferred
			}
			return order[i+1]
		}
	}
	return ""
}

// FuzzFindingLifecycle drives random action sequences through the real
// workflow (time-skipping test environment) and checks it against the model:
// it never reaches a stage the model forbids, refuses exactly what the model
// refuses, and records exactly one event per accepted change.
func FuzzFindingLifecycle(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 3, 4, 10})
	f.Add([]byte{2, 0, 0, 5})
	f.Add([]byte{0, 1, 2, 3, 9, 4, 3, 4})
	f.Add([]byte{5, 0})
	f.Add([]byte{0, 1, 2, 3, 4, 3, 9, 3, 4, 3, 10})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 24 {
			script = script[:24]
		}
		h := newHarness(t)
		type sent struct {
			action string
			accept bool
			r      *result
		}
		var steps []sent
		for i, b := range script {
			// 0..5 the six actions (verify accepts); 6..255 map to actions
			// too, with verify rejecting when b%2 == 1.
			action := FindingActions[int(b)%len(FindingActions)]
			accept := b < 6 || b%2 == 0
			req := fmt.Sprintf("q%d", i)
			delay := time.Duration(i+1) * time.Hour
			var arg any
			switch action {
			case ActionDiagnose:
				in := diagnosis()
				in.RequestID = req
				arg = in
			case ActionClassify:
				arg = ClassifyInput{Change: Change{RequestID: req, Actor: leader}, Dispositions: []string{"RECTIFY"}}
			case ActionRefer:
				arg = referral(req, "2026-03-02", "")
			case ActionReportRectification:
				arg = rectification(req)
			case ActionVerify:
				arg = VerifyInput{Change: Change{RequestID: req, Actor: office}, Accept: accept, Reason: "理由"}
			case ActionWithdraw:
				arg = WithdrawInput{Change: Change{RequestID: req, Actor: office}, Reason: "理由"}
			}
			steps = append(steps, sent{action: action, accept: accept, r: h.update(delay, action, req, arg)})
		}
		// End the workflow whatever the script did.
		h.update(time.Duration(len(script)+2)*time.Hour, ActionWithdraw, "end", WithdrawInput{Change: Change{RequestID: "end", Actor: office}, Reason: "结束"})
		h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: newFinding(SeverityGeneral)})
		require.True(t, h.env.IsWorkflowCompleted())
		require.NoError(t, h.env.GetWorkflowError())

		stage := FindingListed
		wantActions := []string{"record", "list"}
		for i, s := range steps {
			if !FindingMachine.Open(stage) {
				// The workflow has finished: nothing more reaches it (the
				// API answers FailedPrecondition from the ledger's stage).
				require.False(t, s.r.done && s.r.rejected == nil, "step %d: %s accepted after %s", i, s.action, stage)
				continue
			}
			require.True(t, s.r.done, "step %d (%s) not answered", i, s.action)
			next := modelStep(stage, s.action, s.accept)
			if next == "" {
				require.Error(t, s.r.rejected, "step %d: model forbids %s in %s", i, s.action, stage)
				continue
			}
			require.NoError(t, s.r.rejected, "step %d: model allows %s in %s", i, s.action, stage)
			require.NoError(t, s.r.failed)
			require.Equal(t, next, s.r.state.Finding.Stage, "step %d", i)
			stage = next
			wantActions = append(wantActions, s.action)
		}
		if stage != FindingClosed && stage != FindingWithdrawn {
			wantActions = append(wantActions, ActionWithdraw)
		}
		got := h.fl.actions()
		var changes []string
		for _, a := range got {
			if a != "escalate" {
				changes = append(changes, a)
			}
		}
		require.Equal(t, wantActions, changes, "every accepted change recorded once, nothing else")
		require.Len(t, got, h.fl.row.Version, "row version counts the events")
	})
}
