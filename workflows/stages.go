package workflows

import (
	"slices"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// stageMachine is one lifecycle's rules as a table a domain expert can check
// against the charter: the moves each open stage allows (action → next
// stage), the move every open stage allows (withdraw, cancel), the final
// stages, and who may ask for each action. It is the one home of these
// rules: the workflow's validators, the API's error details and the tests
// all read it.
type stageMachine struct {
	// subjectType names the lifecycle: the ledger's subject type of its
	// events, and its kind in messages and logs ("finding").
	subjectType string
	// noun names one subject in a refusal ("a finding": "verify a finding").
	noun string
	// workflowID is the subject of a refusal.
	workflowID func(id string) string
	// moves are the actions each stage allows besides anytime, in the
	// order they are listed to a caller.
	moves map[string][]move
	// anytime is allowed in every open stage.
	anytime move
	// anytimeRefusedIn are the open stages whose refusals do not offer
	// anytime: a rule the workflow applies as a change arrives refuses it
	// there (an interview once held is not cancelled, checkNotHeld), so a
	// refusal naming it as the way out would mislead. The move itself stays
	// in the table, for the runs that took it before the rule.
	anytimeRefusedIn []string
	// final are the stages nothing leaves.
	final []string
	// roles says who may ask for each action (and for the create, under its
	// own name).
	roles map[string][]string
}

// move is one row of a stage table.
type move struct{ action, next string }

// open reports whether a stage is not final.
func (m *stageMachine) open(stage string) bool { return !slices.Contains(m.final, stage) }

// allowed lists what a stage allows, in a fixed order.
func (m *stageMachine) allowed(stage string) []string {
	if !m.open(stage) {
		return nil
	}
	var out []string
	for _, mv := range m.moves[stage] {
		out = append(out, mv.action)
	}
	if slices.Contains(m.anytimeRefusedIn, stage) {
		return out
	}
	return append(out, m.anytime.action)
}

// next returns the stage an action leads to from stage, or a
// *derrors.StageError naming the current stage and what it allows.
func (m *stageMachine) next(id, stage, action string) (string, error) {
	if m.open(stage) {
		if action == m.anytime.action {
			return m.anytime.next, nil
		}
		for _, mv := range m.moves[stage] {
			if mv.action == action {
				return mv.next, nil
			}
		}
	}
	return "", &derrors.StageError{
		Reason: "STAGE_NOT_ALLOWED", Subject: m.workflowID(id), Action: action, Stage: stage,
		Allowed: m.allowed(stage),
	}
}

// checkRole refuses an actor whose role may not take the action.
func (m *stageMachine) checkRole(action string, who actor.Actor) error {
	return who.RequireRole(action+" "+m.noun, m.roles[action]...)
}

// Machine is a lifecycle's stage machine as callers outside the workflows
// read it (the API, to check a caller's role before it sends anything and
// to describe a finished lifecycle).
type Machine struct{ m *stageMachine }

// The lifecycles' machines.
var (
	FindingMachine    = Machine{findingMachine}
	InspectionMachine = Machine{inspectionMachine}
	InterviewMachine  = Machine{interviewMachine}
)

// SubjectType is the ledger's subject type of the lifecycle's events
// (casework.SubjectFinding …).
func (m Machine) SubjectType() string { return m.m.subjectType }

// WorkflowID is the workflow ID of the lifecycle's subject id.
func (m Machine) WorkflowID(id string) string { return m.m.workflowID(id) }

// Open reports whether a stage is not final.
func (m Machine) Open(stage string) bool { return m.m.open(stage) }

// Allowed lists what a stage allows, in a fixed order.
func (m Machine) Allowed(stage string) []string { return m.m.allowed(stage) }

// Next returns the stage an action leads to from stage, or a
// *derrors.StageError naming the current stage and what it allows.
func (m Machine) Next(id, stage, action string) (string, error) { return m.m.next(id, stage, action) }

// CheckRole refuses an actor whose role may not take the action.
func (m Machine) CheckRole(action string, who actor.Actor) error { return m.m.checkRole(action, who) }
