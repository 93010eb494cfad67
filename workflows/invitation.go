package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Invitations of the drawn (issue 15 item 3): each person drawn for a
// line-up is invited and answers within a number of working days; a
// decline, or silence past the deadline, draws a replacement under the same
// rules (DrawReplacement); the office judges a decline's reason, and an
// unjustified one requests a notice of criticism (通报批评) from the
// person's unit; an acceptance notifies the unit of the secondment dates.
// The invitation is a lifecycle on the core (lifecycle.go): its stage
// machine, its answer deadline on the ladder, its ledger row.

// InvitationWorkflowName is the type of invitation workflows.
const InvitationWorkflowName = "InvitationWorkflow"

// InvitationWorkflowID is the workflow ID of invitation id.
func InvitationWorkflowID(id string) string { return "invitation/" + id }

// InvitationID is the invitation of one person to one line-up.
func InvitationID(lineupID, expertID string) string { return lineupID + "." + expertID }

// Invitation stages.
const (
	InvitationInvited            = "INVITED"
	InvitationAccepted           = "ACCEPTED"
	InvitationDeclined           = "DECLINED"
	InvitationDeclineJustified   = "DECLINE_JUSTIFIED"
	InvitationDeclineUnjustified = "DECLINE_UNJUSTIFIED"
	InvitationExpired            = "EXPIRED"
	InvitationWithdrawn          = "WITHDRAWN"
)

// InvitationStages lists the invitation's stages.
var InvitationStages = []string{InvitationInvited, InvitationAccepted, InvitationDeclined, InvitationDeclineJustified,
	InvitationDeclineUnjustified, InvitationExpired, InvitationWithdrawn}

// Invitation actions: the update names of an InvitationWorkflow ("expire"
// is the system's, when the answer deadline passes).
const (
	ActionAcceptInvitation   = "accept"
	ActionDeclineInvitation  = "decline"
	ActionJudgeDecline       = "judgeDecline"
	ActionExpireInvitation   = "expire"
	ActionWithdrawInvitation = "withdraw"
)

// Judgements of a decline's reason.
const (
	JudgementJustified   = "JUSTIFIED"
	JudgementUnjustified = "UNJUSTIFIED"
)

// Webhook event types of invitations.
const (
	// EventSecondmentNotice tells a person's unit of their secondment dates
	// when they accept.
	EventSecondmentNotice = "invitation.secondment_notice"
	// EventCriticismRequested asks a person's unit for a notice of
	// criticism (通报批评) after an unjustified decline (charter 四(一)3).
	EventCriticismRequested = "invitation.criticism_requested"
	// EventInvitationEscalated is posted for each step of an invitation's
	// answer deadline (the reminder, the lapse).
	EventInvitationEscalated = "invitation.escalated"
)

// invitationMachine is the invitation's stages and who may take each step.
var invitationMachine = &stageMachine{
	subjectType: casework.SubjectInvitation,
	noun:        "an invitation",
	workflowID:  InvitationWorkflowID,
	moves: map[string][]move{
		InvitationInvited: {{ActionAcceptInvitation, InvitationAccepted}, {ActionDeclineInvitation, InvitationDeclined},
			{ActionExpireInvitation, InvitationExpired}},
		// judgeDecline leads to DECLINE_JUSTIFIED or DECLINE_UNJUSTIFIED.
		InvitationDeclined: {{ActionJudgeDecline, InvitationDeclineJustified}},
	},
	anytime: move{ActionWithdrawInvitation, InvitationWithdrawn},
	final:   []string{InvitationAccepted, InvitationDeclineJustified, InvitationDeclineUnjustified, InvitationExpired, InvitationWithdrawn},
	roles: map[string][]string{
		"invite":                 {actor.RoleOffice},
		ActionAcceptInvitation:   {actor.RoleExpert, actor.RoleOffice},
		ActionDeclineInvitation:  {actor.RoleExpert, actor.RoleOffice},
		ActionJudgeDecline:       {actor.RoleOffice},
		ActionExpireInvitation:   {actor.RoleSystem},
		ActionWithdrawInvitation: {actor.RoleOffice},
	},
}

// InvitationMachine is the invitation's stage machine for the API.
var InvitationMachine = Machine{invitationMachine}

// InvitationInput starts an InvitationWorkflow.
type InvitationInput struct {
	ID        string                `json:"id"`
	RequestID string                `json:"request_id"`
	LineupID  string                `json:"lineup_id"`
	Member    casework.LineupMember `json:"member"`
	// SecondFrom, SecondTo and InspectedUnit are the line-up's plan.
	SecondFrom    string `json:"second_from"`
	SecondTo      string `json:"second_to"`
	InspectedUnit string `json:"inspected_unit"`
	// AnswerWorkingDays was the invite request's answer limit (0: the
	// default); histories from before versionAnswerLimitFromPolicy use it,
	// later invitations read the escalation policy's when they are sent.
	AnswerWorkingDays int         `json:"answer_working_days"`
	InvitedBy         actor.Actor `json:"invited_by"`
}

// versionAnswerLimitFromPolicy is the workflow.GetVersion change ID under
// which an invitation reads its answer limit from the office's escalation
// policy (an activity, InvitationTerms) when it is sent, and records the
// policy's version. Histories recorded before it took the limit from
// their input (the invite request's answer_working_days).
const versionAnswerLimitFromPolicy = "pool-answer-limit-from-policy"

// versionInvitationRetriesExpire: a lapse whose ledger write failed is
// written again later (retryAgain), instead of failing the run, which left
// the row INVITED and overdue, no replacement drawn and nothing able to
// change the invitation. Asked only when the write fails.
const versionInvitationRetriesExpire = "invitation-retries-expire"

// InvitationState is what the state query and every update return.
type InvitationState struct {
	Invitation casework.Invitation `json:"invitation"`
	Progress
}

// AnswerInvitationInput accepts or declines (Reason required) an
// invitation.
type AnswerInvitationInput struct {
	Change
	Reason string `json:"reason"`
}

// Validate checks an acceptance.
func (in AnswerInvitationInput) Validate() error { return in.validateAnswer(false) }

// validateAnswer checks an answer; a decline must give its reason.
func (in AnswerInvitationInput) validateAnswer(declining bool) error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireTextIf(declining, "reason", in.Reason, 1000)
	return v.Err()
}

// DeclineInvitationInput declines an invitation with a reason.
type DeclineInvitationInput AnswerInvitationInput

// Validate checks a decline: the charter lets nobody decline without a
// reason.
func (in DeclineInvitationInput) Validate() error {
	return AnswerInvitationInput(in).validateAnswer(true)
}

// JudgeDeclineInput is the office's judgement of a decline's reason.
type JudgeDeclineInput struct {
	Change
	Judgement string `json:"judgement"`
	Note      string `json:"note"`
}

// Validate checks a judgement.
func (in JudgeDeclineInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if in.Judgement != JudgementJustified && in.Judgement != JudgementUnjustified {
		v.Add("judgement", "must be one of %s, %s", JudgementJustified, JudgementUnjustified)
	}
	v.RequireTextIf(in.Judgement == JudgementUnjustified, "note", in.Note, 1000)
	return v.Err()
}

// WithdrawInvitationInput withdraws an invitation (the office).
type WithdrawInvitationInput struct {
	Change
	Reason string `json:"reason"`
	// ReasonZH is Reason in Chinese where the system words it (the
	// line-up was cancelled).
	ReasonZH string `json:"reason_zh,omitempty"`
}

// MaxWithdrawReason is the longest reason of a withdrawal, in characters.
const MaxWithdrawReason = 1000

// Validate checks a withdrawal.
func (in WithdrawInvitationInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("reason", in.Reason, MaxWithdrawReason)
	v.LimitText("reason_zh", in.ReasonZH, MaxWithdrawReason)
	return v.Err()
}

// invitationSpec plugs the invitation into the lifecycle core. Its ladder
// keeps the reminder and the overdue step: the overdue step is the lapse
// that draws a replacement, not a proposed interview.
var invitationSpec = &spec[casework.Invitation]{
	machine:   invitationMachine,
	lifecycle: func(inv *casework.Invitation) *casework.Lifecycle { return &inv.Lifecycle },
	deadline:  runsIn(InvitationInvited, func(inv *casework.Invitation) **calendar.Deadline { return &inv.AnswerDeadline }),
	write: func(next casework.Invitation, e casework.Event) (any, any) {
		return acts.ApplyInvitationChange, activities.InvitationChangeInput{Invitation: next, Event: e}
	},
	writeEscalation: func(esc casework.Escalation, next casework.Invitation, e casework.Event) (any, any) {
		return acts.EscalateInvitation, activities.EscalateInvitationInput{Escalation: esc, Invitation: next, Event: e}
	},
	keepSteps: reminderAndOverdue[casework.Invitation],
	escalation: func(inv casework.Invitation, step deadline.ScheduledStep, due calendar.Deadline) i18n.Text {
		switch step.Step {
		case casework.StepReminder:
			return i18n.T("reminder: %s (%s) has not answered the invitation to line-up %s; the answer is due %s",
				inv.ExpertName, inv.Organisation, inv.LineupID, due.Due)
		case casework.StepOverdue:
			return i18n.T("lapsed: %s (%s) did not answer the invitation to line-up %s by %s; a replacement is drawn",
				inv.ExpertName, inv.Organisation, inv.LineupID, due.Due)
		}
		return i18n.Text{}
	},
	announcement: func(inv casework.Invitation) (string, map[string]any) {
		return EventInvitationEscalated, map[string]any{"invitation_id": inv.ID, "lineup_id": inv.LineupID,
			"expert_id": inv.ExpertID, "unit_code": inv.UnitCode}
	},
	title: func(inv casework.Invitation) string {
		return i18n.Zh("**invitation of %s** (%s, line-up %s)", inv.ExpertName, i18n.TeamRole(inv.TeamRole), inv.LineupID)
	},
	stageName: i18n.InvitationStage,
	dueWhat:   "answer",
}

// InvitationWorkflow drives one invitation from the invite to its answer,
// the office's judgement of a decline, or its lapse, and draws the
// replacement a decline or a lapse calls for.
func InvitationWorkflow(ctx workflow.Context, in InvitationInput) (LifecycleResult, error) {
	info := workflow.GetInfo(ctx)
	id := in.ID
	if id == "" {
		id = strings.TrimPrefix(info.WorkflowExecution.ID, "invitation/")
	}
	now := workflow.Now(ctx).UTC()
	m := in.Member
	w := &invitation{core: newCore(ctx, invitationSpec, casework.Invitation{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: info.WorkflowExecution.ID, RequestID: in.RequestID, UnitCode: m.UnitCode,
			Stage: InvitationInvited, CreatedAt: now, UpdatedAt: now, Version: 1},
		LineupID: in.LineupID,
		ExpertID: m.ExpertID, ExpertName: m.Name, Subject: m.Subject, Organisation: m.Organisation,
		TeamRole: m.Role, Rank: m.Rank, SecondFrom: in.SecondFrom, SecondTo: in.SecondTo, InspectedUnit: in.InspectedUnit,
		InvitedOn:         calendar.DateOf(now).String(),
		AnswerWorkingDays: deadline.InvitationAnswer("", in.AnswerWorkingDays).WorkingDays,
		InvitedBy:         in.InvitedBy,
	})}
	return w.run(ctx)
}

// invitation is the state behind InvitationWorkflow.
type invitation struct {
	core[casework.Invitation]
	// policyRead: the answer limit is the escalation policy's.
	policyRead bool
}

func (w *invitation) snapshot() InvitationState {
	return InvitationState{Invitation: w.row, Progress: w.progress()}
}

func (w *invitation) run(ctx workflow.Context) (LifecycleResult, error) {
	if err := w.registerHandlers(ctx); err != nil {
		return LifecycleResult{}, err
	}
	if err := w.readAnswerLimit(ctx); err != nil {
		w.refused = err
		return LifecycleResult{}, fmt.Errorf("reading the answer limit of invitation %q: %w", w.row.ID, err)
	}
	rule := deadline.InvitationAnswer(w.row.InvitedOn, w.row.AnswerWorkingDays)
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		w.refused = err
		return LifecycleResult{}, fmt.Errorf("computing the answer deadline of invitation %q: %w", w.row.ID, err)
	}
	w.row.AnswerDeadline = &resolved.Deadline
	w.row.DeadlineSeq = 1
	if err := w.ledger.call(ctx, nil, acts.ApplyInvitationChange, activities.InvitationChangeInput{
		Invitation: w.row,
		Event: casework.Event{SubjectType: casework.SubjectInvitation, SubjectID: w.row.ID, Key: "invite", Action: "invite",
			StageAfter: InvitationInvited, Actor: w.row.InvitedBy, OccurredAt: w.row.CreatedAt,
			Note: fmt.Sprintf("invited as %s to line-up %s (%s to %s); answer due %s", w.row.TeamRole, w.row.LineupID,
				w.row.SecondFrom, w.row.SecondTo, resolved.Deadline.Due),
			Data: dataJSON(w.inviteData(resolved.Deadline))},
	}); err != nil {
		w.refused = err
		return LifecycleResult{}, fmt.Errorf("recording invitation %q: %w", w.row.ID, err)
	}
	w.recorded = true
	w.publish(ctx)
	w.startLadder(ctx, rule, resolved, nil)
	workflow.Go(ctx, w.receiveCalendarChanges)

	// Silence past the deadline: the ladder's overdue step marks it, and
	// the invitation lapses.
	if err := workflow.Await(ctx, func() bool { return w.row.Stage != InvitationInvited || w.row.Overdue }); err != nil {
		return LifecycleResult{}, err
	}
	for attempt := 1; ; attempt++ {
		if err := w.mu.Lock(ctx); err != nil {
			return LifecycleResult{}, err
		}
		if w.row.Stage != InvitationInvited {
			w.mu.Unlock()
			break
		}
		next := w.row
		next.Stage = InvitationExpired
		next.Overdue = false
		err := w.apply(ctx, next, casework.Event{Key: "expire", Action: ActionExpireInvitation, Actor: actor.System,
			Note: "no answer by " + w.row.AnswerDeadline.Due.String()})
		if err == nil {
			w.deadline.stop()
			w.mu.Unlock()
			break
		}
		// The lapse's write failed: made again later, in a run since
		// versionInvitationRetriesExpire; the run failed with it before.
		workflow.GetLogger(ctx).Error("the lapse could not be written", "invitation", w.row.ID, "attempt", attempt, "error", err)
		waited := false
		if !retryAgain(ctx, versionInvitationRetriesExpire, attempt, err, func() { w.mu.Unlock(); waited = true }) {
			if !waited {
				w.mu.Unlock()
			}
			return LifecycleResult{}, err
		}
	}
	if w.row.Stage == InvitationDeclined || w.row.Stage == InvitationExpired {
		w.replace(ctx)
	}
	if err := w.awaitEnd(ctx); err != nil {
		return LifecycleResult{}, err
	}
	return LifecycleResult{Stage: w.row.Stage}, nil
}

// readAnswerLimit takes the answer limit from the escalation policy in
// force, since versionAnswerLimitFromPolicy; before it, the input's.
func (w *invitation) readAnswerLimit(ctx workflow.Context) error {
	if w.ledger.version(ctx, versionAnswerLimitFromPolicy, 1) == workflow.DefaultVersion {
		return nil
	}
	var terms activities.InvitationTerms
	if err := w.ledger.call(ctx, &terms, acts.InvitationTerms, activities.InvitationTermsInput{}); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return derrors.FromTemporal(err)
		}
		return err
	}
	w.row.AnswerWorkingDays = deadline.InvitationAnswer("", terms.AnswerWorkingDays).WorkingDays
	w.row.PolicyVersion = terms.PolicyVersion
	w.policyRead = true
	return nil
}

// inviteData is the invite event's data: the limit's policy version once
// the limit is the policy's (histories from before keep their data).
func (w *invitation) inviteData(due calendar.Deadline) map[string]any {
	data := map[string]any{"lineup_id": w.row.LineupID, "expert_id": w.row.ExpertID, "team_role": w.row.TeamRole,
		"deadline": due}
	if w.policyRead {
		data["answer_working_days"], data["policy_version"] = w.row.AnswerWorkingDays, w.row.PolicyVersion
	}
	return data
}

func (w *invitation) registerHandlers(ctx workflow.Context) error {
	for _, err := range []error{
		registerState(ctx, w, &w.core),
		registerChange(ctx, w, ActionAcceptInvitation, func(in AnswerInvitationInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.accept),
		registerChange(ctx, w, ActionDeclineInvitation, func(in DeclineInvitationInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.decline),
		registerChange(ctx, w, ActionJudgeDecline, func(in JudgeDeclineInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.judge),
		registerChange(ctx, w, ActionWithdrawInvitation, func(in WithdrawInvitationInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.withdraw),
	} {
		if err != nil {
			return fmt.Errorf("registering invitation handlers: %w", err)
		}
	}
	return nil
}

// answered is the row of the invitation answered now, in stage
// (InvitationAccepted or InvitationDeclined): the answer ends its
// deadline, so it is no longer overdue.
func (w *invitation) answered(ctx workflow.Context, stage string) casework.Invitation {
	now := workflow.Now(ctx).UTC()
	next := w.row
	next.Stage = stage
	next.AnsweredAt = &now
	next.Overdue = false
	return next
}

func (w *invitation) accept(ctx workflow.Context, in AnswerInvitationInput) error {
	next := w.answered(ctx, InvitationAccepted)
	next.Note, next.NoteZH = in.Reason, ""
	notice := fmt.Sprintf("notice of secondment to %s (%s): %s is seconded to the inspection team of %s from %s to %s as %s",
		w.row.Organisation, w.row.UnitCode, w.row.ExpertName, w.row.InspectedUnit, w.row.SecondFrom, w.row.SecondTo, w.row.TeamRole)
	if err := w.apply(ctx, next, casework.Event{Action: ActionAcceptInvitation, Actor: in.Actor, Note: notice,
		Data: dataJSON(map[string]any{"notice": "secondment", "unit_code": w.row.UnitCode, "organisation": w.row.Organisation,
			"expert_id": w.row.ExpertID, "from": w.row.SecondFrom, "to": w.row.SecondTo, "lineup_id": w.row.LineupID})}); err != nil {
		return err
	}
	w.deadline.stop()
	announce(ctx, w.ledger, &w.deliveries, EventSecondmentNotice, w.subject()+"/accept", map[string]any{
		"invitation_id": w.row.ID, "lineup_id": w.row.LineupID, "expert_id": w.row.ExpertID, "name": w.row.ExpertName,
		"unit_code": w.row.UnitCode, "organisation": w.row.Organisation, "team_role": w.row.TeamRole,
		"inspected_unit": w.row.InspectedUnit, "from": w.row.SecondFrom, "to": w.row.SecondTo, "notice": notice})
	return nil
}

func (w *invitation) decline(ctx workflow.Context, in DeclineInvitationInput) error {
	next := w.answered(ctx, InvitationDeclined)
	next.DeclineReason = in.Reason
	if err := w.apply(ctx, next, casework.Event{Action: ActionDeclineInvitation, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

func (w *invitation) judge(ctx workflow.Context, in JudgeDeclineInput) error {
	next := w.row
	by := in.Actor
	next.Judgement, next.JudgeNote, next.JudgedBy = in.Judgement, in.Note, &by
	if in.Judgement == JudgementJustified {
		next.Stage = InvitationDeclineJustified
		return w.apply(ctx, next, casework.Event{Action: ActionJudgeDecline, Actor: in.Actor,
			Note: "the reason is accepted: " + in.Note, Data: dataJSON(map[string]any{"judgement": in.Judgement})})
	}
	next.Stage = InvitationDeclineUnjustified
	request := fmt.Sprintf("request to %s (%s) for a notice of criticism (通报批评) of %s, who declined the invitation to line-up %s without a valid reason (%q): %s",
		w.row.Organisation, w.row.UnitCode, w.row.ExpertName, w.row.LineupID, w.row.DeclineReason, in.Note)
	data := map[string]any{"judgement": in.Judgement, "request": "criticism", "unit_code": w.row.UnitCode,
		"organisation": w.row.Organisation, "expert_id": w.row.ExpertID, "name": w.row.ExpertName,
		"lineup_id": w.row.LineupID, "decline_reason": w.row.DeclineReason, "office_note": in.Note}
	if err := w.apply(ctx, next, casework.Event{Action: "requestCriticism", Actor: in.Actor, Note: request,
		Data: dataJSON(data)}); err != nil {
		return err
	}
	data["invitation_id"], data["message"] = w.row.ID, request
	announce(ctx, w.ledger, &w.deliveries, EventCriticismRequested, w.subject()+"/criticism", data)
	return nil
}

func (w *invitation) withdraw(ctx workflow.Context, in WithdrawInvitationInput) error {
	next := w.row
	next.Stage = InvitationWithdrawn
	next.Overdue = false
	next.Note, next.NoteZH = in.Reason, in.ReasonZH
	if err := w.apply(ctx, next, casework.Event{Action: ActionWithdrawInvitation, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

// versionPoolThroughEnd: a replacement must be in the pool on every day of
// the inspection, not only on its first (DrawInput.InPoolOnStartOnly for
// runs from before it).
const versionPoolThroughEnd = "pool-through-end"

// versionCodesAnyCase: a replacement's conflict of interest compares unit
// codes whatever the case of their letters (DrawInput.CodesExact for runs
// from before it).
const versionCodesAnyCase = "codes-any-case"

// maxReplacementTries bounds the draws of one replacement that lose a race
// with another change of the line-up.
const maxReplacementTries = 5

// replace draws a replacement for this person (declined or lapsed) with
// the line-up's seed, records it under the pool's lock and invites the
// person drawn. A line-up no longer inviting needs none; a pool that has
// nobody eligible left is recorded as such, for the office to swap in
// someone by hand.
func (w *invitation) replace(ctx workflow.Context) {
	log := workflow.GetLogger(ctx)
	for try := 0; try < maxReplacementTries; try++ {
		var lp activities.LineupPoolResult
		if err := w.ledger.call(ctx, &lp, acts.LineupPool, activities.LineupPoolInput{LineupID: w.row.LineupID}); err != nil {
			log.Error("reading the line-up for a replacement failed", "invitation", w.row.ID, "error", err)
			return
		}
		l := lp.Lineup
		if i := slices.IndexFunc(l.Members, func(m casework.LineupMember) bool { return m.Replaces == w.row.ExpertID }); i >= 0 {
			w.inviteReplacement(ctx, l, l.Members[i])
			return
		}
		if l.State != casework.LineupInviting {
			log.Info("no replacement: the line-up is not inviting", "lineup", l.ID, "state", l.State)
			return
		}
		m, exclusions, err := DrawReplacement(ReplaceInput{Lineup: l, Leaving: w.row.ExpertID, Draw: DrawInput{
			UnitCode: l.UnitCode, PlannedStart: l.PlannedStart, PlannedEnd: l.PlannedEnd, ContentAreas: l.ContentAreas,
			TeamSize: l.TeamSize, ConflictYears: l.ConflictYears, Seed: l.Seed, Pool: lp.Pool,
			InPoolOnStartOnly: workflow.GetVersion(ctx, versionPoolThroughEnd, workflow.DefaultVersion, 1) == workflow.DefaultVersion,
			CodesExact:        workflow.GetVersion(ctx, versionCodesAnyCase, workflow.DefaultVersion, 1) == workflow.DefaultVersion}})
		if err != nil {
			w.noteNoReplacement(ctx, err)
			return
		}
		m.State = casework.MemberInvited
		m.InvitationID = InvitationID(l.ID, m.ExpertID)
		var rec activities.RecordReplacementResult
		err = w.ledger.call(ctx, &rec, acts.RecordReplacement, activities.RecordReplacementInput{
			LineupID: l.ID, Version: l.Version, Leaving: w.row.ExpertID, Member: m, Exclusions: exclusions,
			Event: casework.Event{Key: "replace/" + w.row.ExpertID, Action: "drawReplacement", Actor: actor.System,
				OccurredAt: workflow.Now(ctx).UTC(), StageBefore: l.State, StageAfter: l.State,
				Note: fmt.Sprintf("%s drawn (draw %d of seed %d) in the place of %s (%s)", m.Name, m.Draw, l.Seed,
					w.row.ExpertName, w.row.Stage),
				Data: dataJSON(map[string]any{"seed": l.Seed, "draw": m.Draw, "replaces": w.row.ExpertID, "expert_id": m.ExpertID,
					"role": m.Role, "invitation_id": w.row.ID})},
		})
		var stage *derrors.StageError
		if err != nil && errors.As(derrors.FromTemporal(err), &stage) && stage.Reason == "LINEUP_CHANGED" {
			continue
		}
		if err != nil {
			var booked *derrors.StageError
			if errors.As(derrors.FromTemporal(err), &booked) && booked.Reason == "EXPERT_BOOKED" {
				continue
			}
			log.Error("recording the replacement failed", "invitation", w.row.ID, "error", err)
			return
		}
		w.inviteReplacement(ctx, rec.Lineup, m)
		return
	}
	w.noteNoReplacement(ctx, derrors.New(derrors.ErrUnavailable, "the line-up kept changing over %d draws", maxReplacementTries))
}

// inviteReplacement starts the replacement's invitation (it outlives this
// one) and records who replaced this person.
func (w *invitation) inviteReplacement(ctx workflow.Context, l casework.Lineup, m casework.LineupMember) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	cctx := workflow.WithChildOptions(dctx, workflow.ChildWorkflowOptions{
		WorkflowID:            InvitationWorkflowID(m.InvitationID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	child := workflow.ExecuteChildWorkflow(cctx, InvitationWorkflowName, InvitationInput{
		ID: m.InvitationID, RequestID: ReplacementRequestID(w.row.ID), LineupID: l.ID, Member: m,
		SecondFrom: l.PlannedStart, SecondTo: l.PlannedEnd, InspectedUnit: w.row.InspectedUnit,
		AnswerWorkingDays: w.row.AnswerWorkingDays, InvitedBy: actor.System,
	})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		workflow.GetLogger(ctx).Error("starting the replacement's invitation failed", "invitation", m.InvitationID, "error", err)
		return
	}
	if err := w.mu.Lock(ctx); err != nil {
		return
	}
	defer w.mu.Unlock()
	if w.row.ReplacedBy != "" {
		return
	}
	next := w.row
	next.ReplacedBy = m.ExpertID
	if err := w.apply(ctx, next, casework.Event{Key: "replaced", Action: "replaced", Actor: actor.System,
		Note: fmt.Sprintf("replaced by %s (%s), invitation %s", m.Name, m.ExpertID, m.InvitationID)}); err != nil {
		workflow.GetLogger(ctx).Error("recording the replacement failed", "invitation", w.row.ID, "error", err)
	}
}

// ReplacementRequestID is the request under which the invitation
// replacedID starts its replacement's: the API's sending again of a
// line-up's invitations starts it under the same (api/pool.go ·
// SendInvitations).
func ReplacementRequestID(replacedID string) string { return "replace/" + replacedID }

// noteNoReplacement records that no replacement could be drawn.
func (w *invitation) noteNoReplacement(ctx workflow.Context, why error) {
	if err := w.mu.Lock(ctx); err != nil {
		return
	}
	defer w.mu.Unlock()
	next := w.row
	note := i18n.T("no replacement drawn: %s", i18n.Text{EN: why.Error(), ZH: derrors.Message(why, i18n.Chinese)})
	next.Note, next.NoteZH = note.EN, note.ZH
	if err := w.apply(ctx, next, casework.Event{Key: "no-replacement", Action: "noReplacement", Actor: actor.System,
		Note: next.Note}); err != nil {
		workflow.GetLogger(ctx).Error("recording that no replacement was drawn failed", "invitation", w.row.ID, "error", err)
	}
}
