package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// The lifecycle core: what every lifecycle (inspection, finding, interview)
// does the same way, written once. A lifecycle plugs in with data — its
// stage machine (stages.go), the record it keeps (R: a casework type, which
// the ledger maps to its row) and a spec that says which of the record's
// fields the core keeps, which deadline runs, how the ledger is written and
// how an escalation reads — and keeps for itself only what its charter step
// truly says (its change handlers).
//
// The core's commands are those each lifecycle issued before it existed, in
// the same order, so that recorded histories replay; since
// versionLocalLedger, a ledger call is a local activity's marker in place
// of an activity (ledgerRunner).

// spec is what a lifecycle tells the core about itself.
type spec[R any] struct {
	// machine is the stage table and the division of powers; it names the
	// lifecycle (subjectType).
	machine *stageMachine
	// lifecycle is the row's Lifecycle, the fields the core keeps.
	lifecycle func(*R) *casework.Lifecycle
	// deadline is the field of the row that holds the deadline whose
	// ladder runs in the row's stage (running), nil when none does.
	deadline func(*R) **calendar.Deadline
	// write is the ledger activity, and its input, that makes a change
	// durable.
	write func(R, casework.Event) (activity, input any)
	// writeEscalation is the ledger activity, and its input, that records
	// an escalation step with the row it leaves (its result is an
	// activities.EscalateResult).
	writeEscalation func(casework.Escalation, R, casework.Event) (activity, input any)
	// keepSteps, when set, keeps only some of the office's ladder steps
	// for the row's running deadline (reminderAndOverdue; an inspection's
	// team report keeps no interview, teamReportNoInterview).
	keepSteps func(R, deadline.ScheduledStep) bool
	// keepStepsSince, when set, is the workflow.GetVersion change ID under
	// which keepSteps first left out a step that runs recorded before it
	// took: asked only when keepSteps leaves one out, and those runs keep
	// every step.
	keepStepsSince string
	// escalation says what a ladder step means for the row; "" takes no
	// step.
	escalation func(R, deadline.ScheduledStep, calendar.Deadline) i18n.Text
	// announcement is the webhook event of a step taken, and what names the
	// row in its data; the core adds the step and its deadline
	// (escalationData).
	announcement func(R) (eventType string, data map[string]any)
	// The Web UI's details are in Chinese (the catalogue's, internal/i18n;
	// the Web UI asks in no language): title is their bold head, stageName
	// names a stage, dueWhat what the running deadline is for (the
	// catalogue's key, "rectification report", or "" for just "due"; or,
	// when set, dueWhatOf the row's, for a lifecycle whose deadlines are
	// for different things), and footer, when set, ends them.
	title     func(R) string
	stageName func(string) string
	dueWhat   string
	dueWhatOf func(R) string
	footer    func(R) string
	// attributes, when set, are search attributes of the lifecycle's own,
	// upserted with the core's in one command.
	attributes func(R) []temporal.SearchAttributeUpdate
	// guard, when set, refuses a change the stage table allows but the
	// row's state does not (an inspection's team not yet approved).
	guard func(R, string) error
	// changesWhileRecording accepts changes before the first ledger write
	// is done; they wait for it.
	changesWhileRecording bool
}

// runsIn is the deadline of a lifecycle whose one deadline runs in one
// stage: field, in that stage; nil in the others.
func runsIn[R casework.Record](stage string, field func(*R) **calendar.Deadline) func(*R) **calendar.Deadline {
	return func(row *R) **calendar.Deadline {
		if (*row).Head().Stage != stage {
			return nil
		}
		return field(row)
	}
}

// reminderAndOverdue keeps the office's REMINDER and OVERDUE steps: the
// ladder of a lifecycle that is itself the last rung (an interview) or whose
// lapse is its own consequence (an invitation).
func reminderAndOverdue[R any](_ R, s deadline.ScheduledStep) bool {
	return s.Step == casework.StepReminder || s.Step == casework.StepOverdue
}

// Progress is what the state of every lifecycle says beside its row (the
// …State types embed it): the escalations taken, the ladder's steps still
// to fire for the running deadline, and whether the ledger holds the row.
type Progress struct {
	Escalations []casework.Escalation    `json:"escalations"`
	Pending     []deadline.ScheduledStep `json:"pending"`
	Recorded    bool                     `json:"recorded"`
	// Answers is, in a change's answer, the Fingerprint of the change it
	// answers (Change); empty elsewhere (the state query, a create's
	// answer) and from workers before it was echoed.
	Answers []byte `json:"answers,omitempty"`
}

// AnswerTo is the fingerprint of the change an update's answer answers
// (Progress.Answers).
func (p Progress) AnswerTo() []byte { return p.Answers }

// LifecycleResult is what a finished lifecycle workflow returns: the stage
// it ended in.
type LifecycleResult struct {
	Stage string `json:"stage"`
}

// running is the deadline whose ladder runs in row's stage, nil when none
// does.
func (s *spec[R]) running(row R) *calendar.Deadline {
	if p := s.deadline(&row); p != nil {
		return *p
	}
	return nil
}

// withDeadline is row with its running deadline re-dated to d.
func (s *spec[R]) withDeadline(row R, d calendar.Deadline) R {
	*s.deadline(&row) = &d
	return row
}

// progress is the lifecycle's Progress, its slices the state's own.
func (c *core[R]) progress() Progress {
	return Progress{Escalations: slices.Clone(c.escalations), Pending: c.deadline.pending(), Recorded: c.recorded}
}

// core is the state and machinery a lifecycle workflow shares with the
// others: its row as the ledger holds it, the escalations taken, whether
// the first ledger write is done, the mutex that serialises changes and
// ladder steps, the running deadline's ladder and the webhook hand-overs in
// flight.
type core[R any] struct {
	spec        *spec[R]
	row         R
	escalations []casework.Escalation
	recorded    bool
	// refused is the ledger's refusal of the first write, when it refused.
	refused    error
	mu         workflow.Mutex
	deadline   ladder
	deliveries int
	// ledger runs the ledger calls.
	ledger ledgerRunner
}

func newCore[R any](ctx workflow.Context, s *spec[R], row R) core[R] {
	return core[R]{spec: s, row: row, mu: workflow.NewMutex(ctx), ledger: newLedgerRunner(ctx)}
}

func (c *core[R]) f() *casework.Lifecycle { return c.spec.lifecycle(&c.row) }

// kind names the lifecycle: its subject type ("finding"), in the ledger's
// events, messages and logs.
func (c *core[R]) kind() string { return c.spec.machine.subjectType }

func (c *core[R]) id() string    { return c.f().ID }
func (c *core[R]) stage() string { return c.f().Stage }

// subject is the lifecycle's workflow ID ("finding/f-1").
func (c *core[R]) subject() string { return c.spec.machine.workflowID(c.id()) }

func (c *core[R]) mutex() workflow.Mutex { return c.mu }

// checkChange refuses, without side effects, what the stage table, the
// recording state, the lifecycle's guard or the caller's role does not
// allow.
func (c *core[R]) checkChange(action string, who actor.Actor) error {
	if _, err := c.spec.machine.next(c.id(), c.stage(), action); err != nil {
		return err
	}
	if !c.recorded && !c.spec.changesWhileRecording {
		return derrors.StageError{Reason: "NOT_RECORDED", Subject: c.subject(), Action: action, Stage: c.stage()}.
			Says("%s is still being recorded; retry shortly", c.subject())
	}
	if c.spec.guard != nil {
		if err := c.spec.guard(c.row, action); err != nil {
			return err
		}
	}
	return c.spec.machine.checkRole(action, who)
}

// apply writes a change to the ledger and, once written, makes it the
// workflow's state. The event key is the Temporal update ID when there is
// one, so a retried write records nothing twice. A change accepted while
// the first write was under way (changesWhileRecording) waits for it.
func (c *core[R]) apply(ctx workflow.Context, next R, e casework.Event) error {
	return c.applyVia(ctx, next, e, c.spec.write, nil, nil)
}

// applyVia is apply with the ledger activity (and its input) write gives
// in place of the lifecycle's own; its result is decoded into result.
// written, when set, completes next with the result before the row becomes
// next, or says that the activity wrote nothing (false): the row stays as
// it was and nothing is published.
func (c *core[R]) applyVia(ctx workflow.Context, next R, e casework.Event, write func(R, casework.Event) (activity, input any),
	result any, written func(*R) bool,
) error {
	if c.spec.changesWhileRecording {
		if err := workflow.Await(ctx, func() bool { return c.recorded || c.refused != nil }); err != nil {
			return err
		}
		if !c.recorded {
			return c.refused // the first write was refused: nothing to change
		}
	}
	nf := c.spec.lifecycle(&next)
	e = changeEvent(ctx, e, c.kind(), c.id(), c.stage(), nf.Stage)
	nf.Version = c.f().Version + 1
	nf.UpdatedAt = e.OccurredAt
	fn, in := write(next, e)
	if err := c.ledger.call(ctx, result, fn, in); err != nil {
		return ledgerFailure(fmt.Sprintf("writing %s of %s to the ledger", e.Action, c.subject()), err)
	}
	if written != nil && !written(&next) {
		return nil
	}
	c.row = next
	c.publish(ctx)
	return nil
}

// publish keeps the search attributes and the Web UI's details current.
func (c *core[R]) publish(ctx workflow.Context) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, c.spec.searchUpdates(c.row)...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
	workflow.SetCurrentDetails(ctx, c.details())
}

// searchUpdates are the search attributes publish sets for row: its
// stage, whether it is overdue, its running deadline's instant and the
// lifecycle's own, in one upsert as before (replay compares the command,
// not the attributes it sets).
func (s *spec[R]) searchUpdates(row R) []temporal.SearchAttributeUpdate {
	f := s.lifecycle(&row)
	updates := []temporal.SearchAttributeUpdate{
		searchattr.Stage.ValueSet(f.Stage),
		searchattr.Overdue.ValueSet(f.Overdue),
	}
	if d := s.running(row); d != nil {
		updates = append(updates, searchattr.DueAt.ValueSet(d.DueAt))
	} else {
		updates = append(updates, searchattr.DueAt.ValueUnset())
	}
	if s.attributes != nil {
		updates = append(updates, s.attributes(row)...)
	}
	return updates
}

// details is the Web UI's details of the row: its title, stage, running
// deadline and what the lifecycle adds.
func (c *core[R]) details() string {
	f := c.f()
	details := c.spec.title(c.row) + i18n.Zh(" — stage %s", c.spec.stageName(f.Stage))
	if d := c.spec.running(c.row); d != nil {
		what := c.spec.dueWhat
		if c.spec.dueWhatOf != nil {
			what = c.spec.dueWhatOf(c.row)
		}
		if what != "" {
			details += i18n.Zh("; %s due %s", i18n.Zh(what), d.Due)
		} else {
			details += i18n.Zh("; due %s", d.Due)
		}
	}
	if f.Overdue {
		details += i18n.Zh(" — OVERDUE")
	}
	if c.spec.footer != nil {
		details += c.spec.footer(c.row)
	}
	return details
}

// versionLocalLedger is the workflow.GetVersion change ID asked once as a
// run starts (newLedgerRunner). Its version is the run's code level:
//
//   - DefaultVersion, histories recorded before it: ledger calls are
//     activities;
//   - 1: a ledger call is first a local activity, in the workflow task that
//     asked for it, so that an Update is accepted, written to the ledger,
//     published and answered in one task (issue 9 item 5);
//   - 2 (levelTwo): as 1, and the run takes the changes of levelTwoChanges
//     without asking workflow.GetVersion for each.
//
// Runs below level 2 ask each change's own GetVersion, as they did. Level 3
// (levelThree) is not a marker's: a workflow type carries it (typeLevels).
const versionLocalLedger = "ledger-local-activities"

// levelTwo is the code level of runs started since it: they know every
// change of levelTwoChanges from the start.
const levelTwo workflow.Version = 2

// levelThree is the code level of the runs of a type in typeLevels: as
// level 2, and a finding started by CreatingStart publishes nothing more
// when its record lists it (FindingInput.StartedListed).
const levelThree workflow.Version = 3

// typeLevels are the workflow types whose runs are at a code level from
// the start, without asking versionLocalLedger: the type, which the
// started event holds, says it. That spares the marker and the upsert of
// TemporalChangeVersion that workflow.GetVersion writes, two events a run,
// and keeps the marker's guard: a worker of an older release has no
// workflow of that type, so its task fails until a newer worker takes it.
// A type named here keeps its level for good; a new level is a new type.
var typeLevels = map[string]workflow.Version{
	FindingWorkflowName: levelThree,
}

// levelTwoChanges are the changes a level-2 run takes at the version given,
// without a marker of its own. Each workflow.GetVersion a run asks for the
// first time writes a marker and an upsert of TemporalChangeVersion: four
// events a finding paid at its sign-off check and its end, four more at its
// first webhook (the outbox and the hand-over's context). Level-2 runs
// depend on this table as it is: a change of one of these versions, or a
// change added here, needs a new level (TestLevelTwoChanges pins it).
var levelTwoChanges = map[string]workflow.Version{
	webhookOutboxChange:                  1,
	versionAnnounceOutlivesLadder:        1,
	versionEndCancelsProposals:           2,
	versionSignoff:                       1,
	versionSignoffDeadline:               1,
	versionLadderInterviewOutlivesLadder: 1,
	versionInterviewRecordsCancellation:  1,
	versionAnswerLimitFromPolicy:         1,
}

// ledgerRunner runs a lifecycle's ledger calls (idempotent writes and
// reads), and knows the code level its run started at (versionLocalLedger),
// which decides how they run and which changes the run knows. Since level
// 1 a call is first one attempt of a local activity; when that attempt
// fails without a refusal (the database is away, slow or restarting), the
// same call is retried as an activity with ledgerActivityOptions, so the
// retries, their window and the UNAVAILABLE answer after it are the
// server's, as before. A refusal (a domain error, data PostgreSQL will
// never accept) is answered at once either way.
type ledgerRunner struct{ level workflow.Version }

// ledgerLocalOptions give the local attempt a short bound and no retry of
// its own: retrying is the activity's job.
var ledgerLocalOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: 10 * time.Second,
	StartToCloseTimeout:    10 * time.Second,
	RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
}

// newLedgerRunner learns, once at the start of a run, its code level: from
// its workflow type (typeLevels), or else by asking versionLocalLedger.
// Either way it is not a field of the input that a starter could set: a
// worker of an older release ignores a field it does not know, would run
// the workflow at its own level and leave a history the newer code cannot
// replay; a marker of a version it does not know, or a type it does not
// have, makes its workflow task fail until a newer worker takes it.
func newLedgerRunner(ctx workflow.Context) ledgerRunner {
	if level, ok := typeLevels[workflow.GetInfo(ctx).WorkflowType.Name]; ok {
		return ledgerRunner{level: level}
	}
	return ledgerRunner{level: workflow.GetVersion(ctx, versionLocalLedger, workflow.DefaultVersion, levelTwo)}
}

// version is workflow.GetVersion(ctx, changeID, DefaultVersion, max) for
// the run: a level-2 run takes a change of levelTwoChanges at its version
// there, without asking.
func (r ledgerRunner) version(ctx workflow.Context, changeID string, max workflow.Version) workflow.Version {
	if v, ok := levelTwoChanges[changeID]; ok && r.level >= levelTwo {
		return v
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, max)
}

// call runs the ledger activity fn with args and decodes its result into
// result (nil for none).
func (r ledgerRunner) call(ctx workflow.Context, result any, fn any, args ...any) error {
	if r.level >= 1 {
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, ledgerLocalOptions), fn, args...).Get(ctx, result)
		if err == nil || refused(err) || temporal.IsCanceledError(err) {
			return err
		}
		workflow.GetLogger(ctx).Warn("the ledger did not answer at once; retrying as an activity", "error", err)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ledgerActivityOptions), fn, args...).Get(ctx, result)
}

// resolveDeadline computes a deadline with the calendar and ladder in force,
// in an activity because the calendar and the ladder are data; the activity
// reads them and computes with deadline.Resolve. A refusal (a limit past the
// statutory one, a year without calendar data) comes back as the domain
// error.
func (r ledgerRunner) resolveDeadline(ctx workflow.Context, rule deadline.Rule) (deadline.Resolved, error) {
	var resolved deadline.Resolved
	if err := r.call(ctx, &resolved, acts.ResolveDeadline, activities.ResolveDeadlineInput{Rule: rule}); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return deadline.Resolved{}, derrors.FromTemporal(err)
		}
		return deadline.Resolved{}, fmt.Errorf("computing the deadline: %w", err)
	}
	return resolved, nil
}

// steps are the ladder steps the lifecycle keeps of a resolved deadline
// for the row as it is.
func (c *core[R]) steps(ctx workflow.Context, resolved deadline.Resolved) deadline.Resolved {
	if c.spec.keepSteps == nil {
		return resolved
	}
	kept := slices.DeleteFunc(slices.Clone(resolved.Steps), func(s deadline.ScheduledStep) bool {
		return !c.spec.keepSteps(c.row, s)
	})
	if len(kept) < len(resolved.Steps) && c.spec.keepStepsSince != "" &&
		c.ledger.version(ctx, c.spec.keepStepsSince, 1) == workflow.DefaultVersion {
		return resolved
	}
	resolved.Steps = kept
	return resolved
}

// startLadder starts the running deadline's ladder; it stays active while
// the stage it started in lasts.
func (c *core[R]) startLadder(ctx workflow.Context, rule deadline.Rule, resolved deadline.Resolved, fired map[string]bool) {
	stage := c.stage()
	c.deadline.start(ctx, c.mu, rule, c.steps(ctx, resolved), fired, func() bool { return c.stage() == stage }, c.escalate)
}

// escalate takes a step of the ladder: an escalation row, an event, the
// overdue mark, an interview proposed where the ladder says so, and a
// webhook to each subscriber. A reminder whose deadline has already passed
// (a late start, a worker that was down) is skipped: the later steps say
// more.
func (c *core[R]) escalate(ctx workflow.Context, step deadline.ScheduledStep) error {
	now := workflow.Now(ctx).UTC()
	due := c.spec.running(c.row)
	if due == nil || (step.Step == casework.StepReminder && !now.Before(due.DueAt)) {
		return nil
	}
	message := c.spec.escalation(c.row, step, *due)
	if message.EN == "" {
		return nil
	}
	f := c.f()
	seq := f.DeadlineSeq
	next := c.row
	nf := c.spec.lifecycle(&next)
	switch step.Step {
	case casework.StepOverdue:
		nf.Overdue = true
		nf.MissedDeadlines++
	case casework.StepInterviewProposed:
		nf.Overdue = true
	}
	nf.Version = f.Version + 1
	nf.UpdatedAt = now
	esc := casework.Escalation{Subject: c.subject(), DeadlineSeq: seq, Step: step.Step, UnitCode: f.UnitCode,
		DueAt: due.DueAt, FiredAt: now, Message: message.EN, MessageZH: message.ZH}
	event := casework.Event{SubjectType: c.kind(), SubjectID: c.id(),
		Key: fmt.Sprintf("escalate/%d/%s", seq, step.Step), Action: "escalate",
		StageBefore: c.stage(), StageAfter: nf.Stage, Actor: actor.System, Note: message.EN, OccurredAt: now,
		Data: dataJSON(map[string]any{"step": step.Step, "deadline_seq": seq, "due": due.Due})}
	var res activities.EscalateResult
	fn, in := c.spec.writeEscalation(esc, next, event)
	if err := c.ledger.call(ctx, &res, fn, in); err != nil {
		return fmt.Errorf("recording escalation %s: %w", step.Step, err)
	}
	c.row = next
	c.escalations = append(c.escalations, res.Escalation)
	c.publish(ctx)
	if step.Step == casework.StepInterviewProposed {
		if err := proposeInterviewFromLadder(ctx, c.ledger, InterviewInput{Subject: c.subject(), UnitCode: f.UnitCode,
			Reason: message.EN, ReasonZH: message.ZH, DeadlineSeq: seq}); err != nil {
			workflow.GetLogger(ctx).Error("proposing the interview failed", c.kind(), c.id(), "error", err)
		}
	}
	eventType, data := c.spec.announcement(c.row)
	announce(ctx, c.ledger, &c.deliveries, eventType, fmt.Sprintf("%s/%d/%s", c.subject(), seq, step.Step),
		escalationData(res.Escalation, *due, data))
	return nil
}

// escalationData is the webhook payload of a ladder's step: the
// escalation and the deadline it was taken for, beside what names the row
// (data, which it fills in).
func escalationData(esc casework.Escalation, due calendar.Deadline, data map[string]any) map[string]any {
	data["escalation"] = esc
	data["due"] = due.Due
	data["deadline"] = due.Explanation
	data["deadline_zh"] = due.ExplanationZH
	return data
}

// versionRedateUnmisses: a re-date that moves a deadline already missed
// (its OVERDUE step taken) to a day still ahead clears the overdue mark and
// the missed count it added and starts the deadline anew under the next
// number, its ladder complete. Before it, the finding, inspection or
// interview stayed overdue, and the new deadline, its OVERDUE step counted
// as taken, never escalated when it passed. Asked only in that case.
const versionRedateUnmisses = "redate-unmisses"

// receiveCalendarChanges re-dates the running deadline whenever the office
// loads a new calendar version.
func (c *core[R]) receiveCalendarChanges(ctx workflow.Context) {
	receiveCalendarChanges(ctx, c.subject(), c.redate)
}

// redate recomputes the running deadline with the calendar now in force;
// when it moved, the change is recorded and the ladder starts again without
// the steps already taken.
func (c *core[R]) redate(ctx workflow.Context, sig CalendarChangedSignal) error {
	if err := c.mu.Lock(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	old := c.spec.running(c.row)
	if old == nil || !c.deadline.running() {
		return nil
	}
	rule := *c.deadline.rule
	if c.deadline.holdsStepsNotTaken(rule) {
		// Resolved before Rule.Steps (the rule is built anew as a run
		// replays): re-dated as it was resolved, with every step, which
		// the lifecycle keeps or leaves out as it did then (c.steps; an
		// old run's team report keeps its interview).
		rule.Steps = nil
	}
	resolved, err := c.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	if resolved.Deadline.DueAt.Equal(old.DueAt) && !c.deadline.moved(c.steps(ctx, resolved)) {
		return nil
	}
	fired := c.deadline.fired()
	seq := c.f().DeadlineSeq
	by := redatedBy(resolved, sig)
	note := fmt.Sprintf("re-dated by calendar version %d: due %s (was %s)", by, resolved.Deadline.Due, old.Due) +
		unchangedDue(resolved, *old)
	next := c.spec.withDeadline(c.row, resolved.Deadline)
	if fired[casework.StepOverdue] && workflow.Now(ctx).Before(resolved.Deadline.DueAt) &&
		workflow.GetVersion(ctx, versionRedateUnmisses, workflow.DefaultVersion, 1) >= 1 {
		// Missed under the calendar it was set by, not under the one now
		// in force: no longer overdue nor counted missed, and a deadline of
		// its own number, whose ladder takes its steps again when they
		// come (what the old one took stays on record; an interview it
		// proposed stays for the office to decide).
		nf := c.spec.lifecycle(&next)
		nf.DeadlineSeq++
		nf.Overdue = false
		nf.MissedDeadlines = max(nf.MissedDeadlines-1, 0)
		fired = nil
		note += "; not missed under this calendar, so no longer overdue"
	}
	if err := c.apply(ctx, next, casework.Event{
		Key: redateKey(fmt.Sprintf("redate/%d", seq), resolved), Action: "redate", Actor: actor.System, Note: note,
		Data: dataJSON(map[string]any{"calendar_version": by, "old_due": old.Due, "new_due": resolved.Deadline.Due,
			"deadline": resolved.Deadline}),
	}); err != nil {
		return err
	}
	c.startLadder(ctx, rule, resolved, fired)
	return nil
}

// redateKey is the event key of a re-date (prefix names the deadline and
// its sequence number) by what it was resolved with: the newest calendar
// version loaded it used (0 for the built-in notices alone) and the
// escalation policy's version, never the signal's word, which anyone who
// reaches Temporal can send. Two re-dates of one deadline under one key
// resolve alike, and the second finds nothing to move; a key taken by a
// re-date a forged signal set off is the one a real signal's would take,
// and its re-date changed nothing the real one would not have. (Keyed by
// the signal's version, a forged signal's re-date could take the key of
// the real one to come, whose move the ledger then refuses.)
func redateKey(prefix string, resolved deadline.Resolved) string {
	return fmt.Sprintf("%s/%d/p%d", prefix, newestCalendar(resolved), resolved.PolicyVersion)
}

// newestCalendar is the newest loaded calendar version a deadline was
// resolved with; 0 for the built-in notices alone.
func newestCalendar(resolved deadline.Resolved) int64 {
	var newest int64
	for _, v := range resolved.Deadline.Versions {
		newest = max(newest, v.ID)
	}
	return newest
}

// redatedBy is the calendar version a re-date names: the newest of those
// the deadline was resolved with. A signal's version can be older than
// the calendar in force when it is taken (a second notice loaded while the
// first one's signals were still going out): its re-date used the second,
// and named the first. The signal's own when the resolution names no
// loaded version (the built-in notices). The event's key is redateKey's,
// never the signal's word.
func redatedBy(resolved deadline.Resolved, sig CalendarChangedSignal) int64 {
	if newest := newestCalendar(resolved); newest != 0 {
		return newest
	}
	return sig.Version
}

// unchangedDue is what a re-date's note adds when only the ladder moved:
// the steps are computed anew with the escalation policy in force, which
// may have changed since the deadline was set.
func unchangedDue(resolved deadline.Resolved, old calendar.Deadline) string {
	if resolved.Deadline.Due != old.Due {
		return ""
	}
	return fmt.Sprintf("; the due day is unchanged, its reminders and escalations computed anew (escalation policy version %d)", resolved.PolicyVersion)
}

// ended finishes what the lifecycle's end (how: "withdrawn", "closed",
// "cancelled"; the stage it ended in names it in Chinese) makes moot: the
// interviews its ladder proposed that nobody approved.
func (c *core[R]) ended(ctx workflow.Context, how, action string) {
	why := i18n.T("%s %s was %s", i18n.Text{EN: c.kind(), ZH: i18n.SubjectKind(c.kind())}, c.id(),
		i18n.Text{EN: how, ZH: i18n.StageOf(c.subject(), c.stage())})
	cancelProposedInterviews(ctx, c.ledger, c.subject(), why, c.subject()+"/"+action, ladderInterviewIDs(c.subject(), c.escalations))
}

// begin starts a lifecycle's run: it registers the handlers (register)
// and, when the create's input broke the rules the API asked as it built
// the input (invalid; versionCreateInputChecked), ends the run recording
// nothing (refuseCreation), after refusing, when not nil, did what the
// refusal needs first.
func (c *core[R]) begin(ctx workflow.Context, register func(workflow.Context) error, invalid error, refusing func()) error {
	if err := register(ctx); err != nil {
		return err
	}
	if invalid == nil || c.ledger.version(ctx, versionCreateInputChecked, 1) < 1 {
		return nil
	}
	if refusing != nil {
		refusing()
	}
	return refuseCreation(ctx, c.creating(), invalid, &c.refused)
}

// creating is what the errors of a run ended by its first write call that
// write: "recording <kind> <id>".
func (c *core[R]) creating() string { return "recording " + c.kind() + " " + c.id() }

// live is the rest of a lifecycle's run once the ledger holds it:
// it takes the calendar's changes with receive (the lifecycle's
// receiveCalendarChanges, which may take the place of the core's) and
// waits for the end (awaitEnd).
func (c *core[R]) live(ctx workflow.Context, receive func(workflow.Context)) (LifecycleResult, error) {
	workflow.Go(ctx, receive)
	if err := c.awaitEnd(ctx); err != nil {
		return LifecycleResult{}, err
	}
	return LifecycleResult{Stage: c.stage()}, nil
}

// awaitEnd waits until the stage is final, every change handler has
// returned and every webhook hand-over is done.
func (c *core[R]) awaitEnd(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool {
		return !c.spec.machine.open(c.stage()) && workflow.AllHandlersFinished(ctx) && c.deliveries == 0
	})
}
