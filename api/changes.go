package api

import (
	"context"
	"errors"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/updatechain"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// changeRequest is what every change request of the API names: the
// subject's ID and the client's request ID.
type changeRequest interface {
	GetId() string
	GetRequestId() string
}

// changeInput is an update's argument (a *workflows.XxxInput): the fields
// its action needs, checked by Validate, and the workflows.Change every
// input embeds, which the change path fills (Header).
type changeInput interface {
	Validate() error
	Header() *workflows.Change
}

// lifecycleChange is one stage change a caller asks for, as every
// lifecycle's API sends it: the handler translates the request into the
// input, and sendChange does the rest.
type lifecycleChange struct {
	req    changeRequest
	action string
	input  changeInput
	// actAs, when set, is who the change is made as, given the caller: the
	// office on behalf of a unit (onBehalfOf).
	actAs func(ctx context.Context, who actor.Actor) (actor.Actor, error)
	// precheck, when set, previews what needs the ledger (the calendar,
	// evidence), so that an obvious refusal costs the workflow nothing; the
	// workflow's own answer is the one that counts.
	precheck func(ctx context.Context) error
	// taskQueue is where a workflow that adopts its ledger row is started
	// (lifecycleAPI.adopt).
	taskQueue string
}

// lifecycleAPI is what the change path needs to know of one lifecycle: its
// stage machine, its ledger row R and state S, and their answers P.
type lifecycleAPI[S any, R casework.Record, P any] struct {
	machine workflows.Machine
	// get reads the ledger's row, only once the workflow has finished.
	get func(*ledger.Store, context.Context, string) (R, error)
	// fromState answers with the workflow's state; fromRow with the
	// ledger's row (a retry of the change that finished the workflow).
	fromState func(context.Context, *ledger.Store, S) (P, error)
	fromRow   func(context.Context, *ledger.Store, R) (P, error)
	// adopt, when set, is how the workflow of a row the ledger holds but
	// no workflow ever drove (an imported finding whose workflow is not
	// started yet) is started on a task queue, adopting the row: a change
	// to it is sent with that start (update-with-start).
	adopt func(row R, taskQueue string) (client.StartWorkflowOptions, any, string)
}

// plainLifecycle is the lifecycleAPI of a lifecycle whose answer is its
// record and its escalations in proto's conversion, from the workflow's
// state (parts) as from the ledger's row: an inspection's, an interview's.
func plainLifecycle[S any, R casework.Record, P any](machine workflows.Machine, get func(*ledger.Store, context.Context, string) (R, error),
	parts func(S) (R, []casework.Escalation), proto func(i18n.Lang, R, []casework.Escalation) P,
) lifecycleAPI[S, R, P] {
	return lifecycleAPI[S, R, P]{
		machine: machine,
		get:     get,
		fromState: func(ctx context.Context, _ *ledger.Store, st S) (P, error) {
			row, escalations := parts(st)
			return proto(i18n.FromContext(ctx), row, escalations), nil
		},
		fromRow: fromLedger(proto),
	}
}

// fromLedger is the answer a lifecycle gives from its ledger row (its
// lifecycleAPI.fromRow, and its Get when the workflow cannot answer): the
// row with its escalations, which the ledger keeps apart (one read), in
// proto's conversion.
func fromLedger[R casework.Record, P any](proto func(i18n.Lang, R, []casework.Escalation) P) func(context.Context, *ledger.Store, R) (P, error) {
	return func(ctx context.Context, l *ledger.Store, row R) (P, error) {
		escalations, err := l.EscalationsOf(ctx, row.Head().WorkflowID)
		if err != nil {
			var none P
			return none, err
		}
		return proto(i18n.FromContext(ctx), row, escalations), nil
	}
}

// sendChange is the one change path of every lifecycle: it learns the
// caller, refuses a change that names no subject before anything is read,
// checks the caller's role, its scope (a unit or team caller's reach is read
// from the ledger; nothing is read for a caller who reaches the province),
// fills the input's request ID and actor and checks its fields, then learns
// whom the caller acts as (on_behalf_of, which may read the subject), runs
// the preview, and sends the update to the
// workflow whose ID derives from the subject's — the ledger is read
// otherwise only when the update finds no workflow. It answers with the new
// state, or, for a retry of the change that finished the workflow, with the
// ledger's row. Refusals come back as the workflow's domain errors. The
// request_id's idempotency key, when withIdempotency left it to the change
// path (deferredKey), rides in the Update as its fingerprint and is checked
// against the answer's echo, or, once the workflow's history is gone,
// against the fingerprint the change's event keeps (deferredKey).
func sendChange[S any, R casework.Record, P any](ctx context.Context, tc client.Client, l *ledger.Store, k lifecycleAPI[S, R, P], c lifecycleChange,
) (answer P, err error) {
	var (
		sent bool // the Update was sent
		// outOfScope: the caller does not reach the subject, which a
		// reused key's refusal would say the same way (targetInReach).
		outOfScope bool
	)
	// The request_id, when its key is deferred to here (deferredKey),
	// rides in the Update as its fingerprint, which the answer echoes and
	// the change's event keeps; a request refused before its Update is
	// refused as a reused key first, when it is one.
	key := deferredKeyOf(ctx)
	if key != nil {
		key.taken = true
		defer func() {
			if err != nil && !sent && !outOfScope && c.req.GetId() != "" && changedNothing(err) {
				u := lifecycleUpdate{workflowID: k.machine.WorkflowID(c.req.GetId()), action: c.action, requestID: c.req.GetRequestId()}
				if reused := key.reusedBefore(ctx, tc, u, k.machine.SubjectType(), c.req.GetId()); reused != nil {
					err = reused
				}
			}
			if err != nil {
				key.settle(ctx, err)
			}
		}()
	}
	who, err := actor.Require(ctx)
	if err != nil {
		return answer, err
	}
	id, requestID := c.req.GetId(), c.req.GetRequestId()
	if id == "" {
		return answer, derrors.Invalid("id", "must not be empty")
	}
	if err := k.machine.CheckRole(c.action, who); err != nil {
		return answer, err
	}
	// Scope: a unit or team caller changes only what it reaches, and learns
	// nothing of the rest (one ledger read; none for the province).
	// A team's caller acts as their position on it (reachAs).
	if who, err = reachAs(ctx, l, who, k.machine.SubjectType(), id, func(as actor.Actor) error {
		return k.machine.CheckRole(c.action, as)
	}); err != nil {
		outOfScope = errors.Is(err, derrors.ErrNotFound)
		return answer, err
	}
	*c.input.Header() = workflows.Change{RequestID: requestID, Actor: who, Fingerprint: key.fingerprint()}
	if err := c.input.Validate(); err != nil {
		return answer, err
	}
	// Whom the caller acts as changes the actor, never its role, and the
	// fields are checked by then: a malformed request is refused for what
	// it says before the subject is read for on_behalf_of.
	if c.actAs != nil {
		if who, err = c.actAs(ctx, who); err != nil {
			return answer, err
		}
		c.input.Header().Actor = who
	}
	if c.precheck != nil {
		if err := c.precheck(ctx); err != nil {
			return answer, err
		}
	}
	var row R
	u := lifecycleUpdate{workflowID: k.machine.WorkflowID(id), action: c.action, requestID: requestID, input: c.input}
	if key != nil {
		u.vouch = key.vouch
	}
	if k.adopt != nil {
		u.adopt = func() (client.StartWorkflowOptions, any, string) { return k.adopt(row, c.taskQueue) }
	}
	sent = true
	state, replay, err := sendUpdate[S](ctx, tc, l, u,
		func(ctx context.Context) (finished, error) {
			var err error
			if row, err = k.get(l, ctx, id); err != nil {
				return finished{}, err
			}
			stage := row.Head().Stage
			return finished{subjectType: k.machine.SubjectType(), id: id, stage: stage,
				open: k.machine.Open(stage), allowed: k.machine.Allowed(stage)}, nil
		})
	switch {
	case err != nil:
		return answer, err
	case replay:
		return k.fromRow(ctx, l, row)
	}
	if key != nil {
		if err := key.answered(ctx, answerTo(state)); err != nil {
			return answer, err
		}
	}
	return k.fromState(ctx, l, state)
}

// answerTo is the fingerprint of the change a lifecycle's state answers
// (workflows.Progress.Answers), none for a state that says none.
func answerTo(state any) []byte {
	if a, ok := state.(interface{ AnswerTo() []byte }); ok {
		return a.AnswerTo()
	}
	return nil
}

// changeRequestedBy is who asks for a change the API writes to the ledger
// itself, with no lifecycle's Update (the pool, line-ups, webhooks, the
// calendar, State Council inspections), and the violations its request_id
// has so far; the handler adds its fields' own.
func changeRequestedBy(ctx context.Context, requestID string) (actor.Actor, derrors.Violations, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return who, nil, err
	}
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", requestID)
	return who, v, nil
}

// lifecycleUpdate is a stage change sent to a running workflow.
type lifecycleUpdate struct {
	workflowID, action, requestID string
	input                         any
	// adopt, when set, gives the start (its options, input and workflow
	// type) of a workflow that adopts the row reread found, for a row no
	// workflow ever drove.
	adopt func() (client.StartWorkflowOptions, any, string)
	// vouch, when set, is asked where Temporal cannot answer the change
	// from an earlier send of its request_id: before it is sent again
	// under updatechain's next ID and decided anew (recorded nil), and
	// before it is answered from the ledger once its workflow has ended,
	// with the fingerprint recorded with its event (deferredKey.vouch).
	vouch func(ctx context.Context, recorded []byte) error
}

// finished describes a lifecycle whose workflow no longer runs, for
// answering a change sent to it.
type finished struct {
	subjectType, id, stage string
	open                   bool
	allowed                []string
}

// sendUpdate sends a stage change as a Temporal update (its ID derived from
// the request ID, so a retry is answered with the first result) and decodes
// the new state. When the workflow has finished, reread is called for what
// the ledger holds: a retry of the change that finished it is answered from
// the ledger (replay true), anything else is refused naming the final stage.
func sendUpdate[S any](ctx context.Context, tc client.Client, l *ledger.Store, u lifecycleUpdate,
	reread func(context.Context) (finished, error),
) (state S, replay bool, err error) {
	updateID := workflows.UpdateID(u.action, u.requestID)
	// A refusal or an unavailable ledger that an earlier send of this
	// request left in the run does not answer it (updatechain).
	var guard func(context.Context) error
	if u.vouch != nil {
		guard = func(ctx context.Context) error { return u.vouch(ctx, nil) }
	}
	err = updatechain.SendGuarded(ctx, tc, client.UpdateWorkflowOptions{
		WorkflowID:   u.workflowID,
		UpdateID:     updateID,
		UpdateName:   u.action,
		Args:         []any{u.input},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, &state, guard)
	if err == nil {
		return state, false, nil
	}
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return state, false, derrors.FromTemporal(err)
	}
	f, err := reread(ctx)
	if err != nil {
		return state, false, err
	}
	events, err := l.Events(ctx, f.subjectType, f.id)
	if err != nil {
		return state, false, err
	}
	if e := chainEvent(events, updateID); e != nil {
		if u.vouch != nil {
			if err := u.vouch(ctx, e.RequestFingerprint); err != nil {
				return state, false, err
			}
		}
		return state, true, nil
	}
	if f.open && u.adopt != nil {
		state, err := adoptAndUpdate[S](ctx, tc, u, updateID)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) {
			return state, false, err
		}
		// A workflow of this ID ran and ended while the row is open: it
		// is not started again.
	}
	reason := "STAGE_NOT_ALLOWED"
	if f.open {
		reason = "WORKFLOW_NOT_RUNNING"
	}
	return state, false, derrors.StageError{
		Reason: reason, Subject: u.workflowID, Action: u.action, Stage: f.stage, Allowed: f.allowed,
	}.Says("%s %q is %s: no further changes", i18n.Term(i18n.SubjectKind, f.subjectType), f.id,
		i18n.Text{EN: f.stage, ZH: i18n.StageOf(f.subjectType+"/"+f.id, f.stage)})
}

// chainEvent is the event of events that the Update updateID wrote, or a
// resend of it under updatechain's next IDs; nil when none did.
func chainEvent(events []casework.Event, updateID string) *casework.Event {
	i := slices.IndexFunc(events, func(e casework.Event) bool { return updatechain.InChain(updateID, e.Key) })
	if i < 0 {
		return nil
	}
	return &events[i]
}

// sendCreate starts a lifecycle's workflow with opts, workflowType and
// input, and its await-created Update for requestID in the same call
// (update-with-start), and decodes the state the Update answers once the
// workflow's first ledger write is done, or its refusal. A run of the ID
// that exists is used as it is (a retry of the create is answered as the
// first was); opts.WorkflowIDReusePolicy says whether an ID whose run
// ended may start again. The error is the client's, for the caller to
// explain.
//
// A create the workflow refused (its run failed, CREATE_REFUSED) changed
// nothing, and the request may be sent again, corrected or once the
// refusal's reason is gone (the team on site): the refused run's answer,
// which Temporal keeps, does not answer it (updatechain.SendWithStart).
func sendCreate[S any](ctx context.Context, tc client.Client, opts client.StartWorkflowOptions, workflowType string, input any,
	requestID string,
) (state S, err error) {
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	err = updatechain.SendWithStart(ctx, tc, opts, workflowType, input, client.UpdateWorkflowOptions{
		UpdateID:     workflows.AwaitCreatedUpdateID(requestID),
		UpdateName:   workflows.UpdateAwaitCreated,
		Args:         []any{workflows.AwaitCreatedInput{RequestID: requestID}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, &state)
	return state, err
}

// createdBefore explains why the create of id by request requestID failed
// (sendCreate's error). A workflow of the ID that has already ended
// (serviceerror.WorkflowExecutionAlreadyStarted) was started by this very
// request when the ledger's row says so and the caller reaches the row:
// that is a retry, answered from the ledger as the first was. Otherwise
// the ID is taken, and taken says so (a format with the ID): a caller who
// names another's ID and request_id learns nothing more of it.
func (k lifecycleAPI[S, R, P]) createdBefore(ctx context.Context, l *ledger.Store, err error, id, requestID, taken string) (answer P, _ error) {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		return answer, derrors.FromTemporal(err)
	}
	row, rerr := k.get(l, ctx, id)
	// The row's request is the one that created it: a create whose
	// workflow has ended is answered from the ledger when it is the same.
	if rerr == nil && row.Head().RequestID == requestID {
		if err := k.ownCreate(ctx, l, id, taken); err != nil {
			return answer, err
		}
		return k.fromRow(ctx, l, row)
	}
	if rerr != nil && !errors.Is(rerr, derrors.ErrNotFound) {
		return answer, rerr
	}
	return answer, derrors.New(derrors.ErrAlreadyExists, taken, id)
}

// ownCreate refuses to answer a create with a record the caller does not
// reach. A create names its request_id, and a request_id named again is
// answered with the record it created (Temporal keeps the create's Update
// outcome; createdBefore reads the ledger): a caller who names another
// team's ID and request_id would otherwise be shown that team's record.
// Out of reach, the ID is taken (taken, a format with the ID), as for any
// other request; a caller who reaches the province is not asked.
func (k lifecycleAPI[S, R, P]) ownCreate(ctx context.Context, l *ledger.Store, id, taken string) error {
	switch err := inReach(ctx, l, k.machine.SubjectType(), id); {
	case err == nil:
		return nil
	case errors.Is(err, derrors.ErrNotFound):
		return derrors.New(derrors.ErrAlreadyExists, taken, id)
	default:
		return err
	}
}

// adoptAndUpdate starts the workflow that adopts a row no workflow ever
// drove (an imported finding's, before the import's starter reached it)
// with the change sent as its first update. An existing run is used as it
// is (the starter may win the race); an ID that ever ran is not started
// again: that is serviceerror.WorkflowExecutionAlreadyStarted, for the
// caller to answer as for any ended workflow.
func adoptAndUpdate[S any](ctx context.Context, tc client.Client, u lifecycleUpdate, updateID string) (state S, err error) {
	opts, input, workflowType := u.adopt()
	handle, err := tc.UpdateWithStartWorkflow(payloadcrypt.WithStart(ctx, opts, workflowType, input), client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: tc.NewWithStartWorkflowOperation(opts, workflowType, input),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: updateID, UpdateName: u.action, Args: []any{u.input}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		err = handle.Get(ctx, &state)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return state, err
	}
	if err != nil {
		return state, derrors.FromTemporal(err)
	}
	return state, nil
}

// checkLimits previews deadlines with the calendar and ladder in force (read
// once), so that a limit past the statutory one, or a year without calendar
// data, is refused before anything is recorded. The rules come from the same
// deadline constructors the workflows use and go through the same
// deadline.Resolve, so the preview and the workflow's own computation differ
// only when their inputs do: a rule counted from "today" (the wall clock here,
// workflow time there) near midnight, or a calendar loaded in between. The
// workflow's answer is the one that counts.
func checkLimits(ctx context.Context, l *ledger.Store, rules ...deadline.Rule) error {
	r, err := activities.LoadResolver(ctx, l)
	if err != nil {
		return err
	}
	for _, rule := range rules {
		if _, err := r.Resolve(rule); err != nil {
			return err
		}
	}
	return nil
}

// onBehalfOf is the on_behalf_of rule of what a unit sends (what: its
// report — a finding's or an inspection's rectification report, an
// interview's follow-up — or its request for more time), as a change's
// actAs: the unit sends it for itself and names nobody; the office enters
// a unit's paper one only on behalf of the unit it is from (unitOf reads
// the subject's unit), and the actor it gives records both.
func onBehalfOf(what i18n.Text, requested string, unitOf func(context.Context) (string, error)) func(context.Context, actor.Actor) (actor.Actor, error) {
	return func(ctx context.Context, who actor.Actor) (actor.Actor, error) {
		if who.Role != actor.RoleOffice {
			if requested != "" {
				return who, derrors.Invalid("on_behalf_of", "only the office acts on behalf of a unit; a %s sends its %s as itself",
					i18n.Term(i18n.Role, who.Role), what)
			}
			return who, nil
		}
		if requested == "" {
			return who, derrors.Invalid("on_behalf_of",
				"the office enters a unit's %s only on behalf of that unit: name the unit code of the unit it is from", what)
		}
		unit, err := unitOf(ctx)
		if err != nil {
			return who, err
		}
		if requested != unit {
			return who, derrors.Invalid("on_behalf_of", "must be %s, the unit this %s is from", unit, what)
		}
		who.OnBehalfOf = unit
		return who, nil
	}
}
