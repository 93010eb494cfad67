package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// lifecycle is what a workflow with stage-changing updates provides to
// registerChange.
type lifecycle[S any] interface {
	// mutex serialises changes and escalation steps.
	mutex() workflow.Mutex
	// checkChange refuses, without side effects, an action the current
	// stage, the recording state or the caller's role does not allow.
	checkChange(action string, who actor.Actor) error
	// snapshot is what updates and the state query return.
	snapshot() S
}

// registerChange registers one stage change as a Temporal Update. Its
// validator checks the stage, the role and the fields without side effects,
// so a refused change is never recorded; its handler re-checks under the
// mutex (another change may have won meanwhile), applies the change — which
// returns only after its ledger write — and returns the new state.
func registerChange[S, In any](ctx workflow.Context, l lifecycle[S], action string,
	check func(In) (who actor.Actor, fieldsErr error),
	apply func(workflow.Context, In) error,
) error {
	return registerAdmitted(ctx, l, action, check, nil, apply)
}

// registerAdmitted is registerChange with admit, when set, a check of the
// validator alone, after the others: what a request must pass when it
// arrives (a day it records against today), never part of the handler's
// re-check, which also runs when a running workflow replays the changes it
// accepted under the rules of their day.
func registerAdmitted[S, In any](ctx workflow.Context, l lifecycle[S], action string,
	check func(In) (who actor.Actor, fieldsErr error),
	admit func(workflow.Context, In) error,
	apply func(workflow.Context, In) error,
) error {
	validate := func(in In) error {
		who, fieldsErr := check(in)
		if err := l.checkChange(action, who); err != nil {
			return err
		}
		return fieldsErr
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, action,
		func(ctx workflow.Context, in In) (S, error) {
			var zero S
			mu := l.mutex()
			if err := mu.Lock(ctx); err != nil {
				return zero, err
			}
			defer mu.Unlock()
			if err := validate(in); err != nil {
				return zero, derrors.ToTemporal(err)
			}
			fingerprint := fingerprintOf(in)
			if err := apply(withFingerprint(ctx, fingerprint), in); err != nil {
				return zero, derrors.ToTemporal(err)
			}
			return answering(l.snapshot(), fingerprint), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in In) error {
			if err := validate(in); err != nil || admit == nil {
				return derrors.ToTemporal(err)
			}
			return derrors.ToTemporal(admit(ctx, in))
		}},
	)
}

// fingerprintOf is the fingerprint of the request the change in carries
// (Change.Fingerprint, which every change's input embeds); none for an
// input without one.
func fingerprintOf[In any](in In) []byte {
	if h, ok := any(&in).(interface{ Header() *Change }); ok {
		return h.Header().Fingerprint
	}
	return nil
}

// answering is state as the answer to the change whose fingerprint is
// fingerprint: it echoes it (Progress.Answers). Every lifecycle's state
// embeds Progress; a type that does not is answered with as it is.
func answering[S any](state S, fingerprint []byte) S {
	if p, ok := any(&state).(interface{ answers(fingerprint []byte) }); ok {
		p.answers(fingerprint)
	}
	return state
}

// fingerprintKey is the workflow context key of the fingerprint of the
// change an Update handler applies (withFingerprint).
type fingerprintKey struct{}

// withFingerprint is ctx carrying the fingerprint of the change being
// applied, for the event it writes under the Update's ID (changeEvent).
func withFingerprint(ctx workflow.Context, fingerprint []byte) workflow.Context {
	if len(fingerprint) == 0 {
		return ctx
	}
	return workflow.WithValue(ctx, fingerprintKey{}, fingerprint)
}

// answers sets the fingerprint an answer echoes.
func (p *Progress) answers(fingerprint []byte) { p.Answers = fingerprint }

// registerState registers a lifecycle's state query and its await-created
// update: sent with the start (update-with-start), the update returns once
// the first ledger write is done (c.recorded), so that a read after the
// create sees it, or with the ledger's refusal of the create (c.refused, see
// failCreation); a different request under the same ID is refused as
// already existing.
func registerState[S, R any](ctx workflow.Context, l lifecycle[S], c *core[R]) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (S, error) { return l.snapshot(), nil }); err != nil {
		return fmt.Errorf("registering query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAwaitCreated,
		func(ctx workflow.Context, in AwaitCreatedInput) (S, error) {
			var zero S
			if err := workflow.Await(ctx, func() bool { return c.recorded || c.refused != nil }); err != nil {
				return zero, err
			}
			if c.refused != nil {
				return zero, derrors.ToTemporal(c.refused)
			}
			return l.snapshot(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in AwaitCreatedInput) error {
			if in.RequestID != c.f().RequestID {
				return derrors.ToTemporal(derrors.New(derrors.ErrAlreadyExists,
					"%s %q already exists, created by another request", c.kind(), c.id()))
			}
			return nil
		}},
	); err != nil {
		return fmt.Errorf("registering update %s: %w", UpdateAwaitCreated, err)
	}
	return nil
}

// changeEvent completes the event of a change of subject id from stage
// before to after: subject, stages, time, and — inside an update, when the
// event has no key of its own — the update ID as its key, so that a retried
// ledger write records nothing twice, and the fingerprint of the request
// the update carries, so that the ledger tells that request's retry from
// another request under its request_id once the history is gone.
func changeEvent(ctx workflow.Context, e casework.Event, subjectType, id, before, after string) casework.Event {
	e.SubjectType = subjectType
	e.SubjectID = id
	e.StageBefore = before
	e.StageAfter = after
	e.OccurredAt = workflow.Now(ctx).UTC()
	if e.Key == "" {
		e.Key = workflow.GetCurrentUpdateInfo(ctx).ID
		e.RequestFingerprint, _ = ctx.Value(fingerprintKey{}).([]byte)
	}
	return e
}

// ledgerFailure is what a change answers when its ledger activity failed:
// the domain error the activity refused with — a non-retryable refusal such
// as data PostgreSQL will never accept (activities.ClassifyLedgerError) —
// so that the Update is refused with its kind and message; an
// derrors.ErrUnavailable when the activity's retries ran out (its schedule-
// to-close window, ledgerRetryWindow, passed); else err with
// context. The caller leaves its state as it was: nothing was written.
func ledgerFailure(what string, err error) error {
	app, hasApp := applicationError(err)
	if hasApp && slices.Contains(derrors.NonRetryableTypes, app.Type()) {
		return derrors.FromTemporal(err)
	}
	// A timeout, or a retryable failure that came back at all, means the
	// retry policy gave up: the window passed (the server says
	// RETRY_STATE_TIMEOUT; the test environment says nothing).
	var timeout *temporal.TimeoutError
	var activityErr *temporal.ActivityError
	if errors.As(err, &activityErr) && (errors.As(err, &timeout) || (hasApp && !app.NonRetryable())) {
		return derrors.New(derrors.ErrUnavailable, "%s: the ledger could not be written in time; retry later", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// applicationError returns the application error a ledger call failed with,
// if any: its type says whether it is a refusal (derrors.NonRetryableTypes).
func applicationError(err error) (*temporal.ApplicationError, bool) {
	var app *temporal.ApplicationError
	return app, errors.As(err, &app)
}

// refused reports whether a ledger call failed with a refusal that no retry
// changes: a derrors refusal type, or an error marked non-retryable.
func refused(err error) bool {
	app, ok := applicationError(err)
	return ok && (app.NonRetryable() || slices.Contains(derrors.NonRetryableTypes, app.Type()))
}

// failCreation ends a run whose first ledger write failed. A domain refusal
// (the ledger's check of the new row: non-repetition, the recording window,
// an unknown inspection) is kept in *refused, for the await-created update to
// answer the creating request with; the run then fails, recording nothing,
// so that a retry of the same request may start the ID again and is judged
// again. Any other failure is returned with what for context.
func failCreation(ctx workflow.Context, what string, err error, refused *error) error {
	refusal := ledgerFailure(what, err)
	if !derrors.IsRefusal(refusal) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return refuseCreation(ctx, what, refusal, refused)
}

// versionCreateInputChecked: a create's workflow checks its input against
// the rules the API asked as it built it (ValidateFinding,
// InspectionInput.Validate, InterviewInput.Validate), and a refused input
// answers the creating request and fails the run, recording nothing.
// Asked only when the input fails them, so that a run whose input passes
// records no marker, and a running workflow whose input a rule made
// stricter later would refuse replays as it ran (no marker: version
// DefaultVersion, not refused). A rule loosened later leaves a refused
// run's history unreplayable, the marker then unasked: such a run ended
// in its first workflow task, so only a replay of the closed run (a
// query, a reset, the Web UI's stack trace; never the API, which asks
// only workflows with a ledger row) would meet it.
const versionCreateInputChecked = "create-input-checked"

// refuseCreation ends a run whose input refusal (a domain refusal) refuses,
// as failCreation does: kept in *refused for the await-created update, the
// run failed, nothing recorded.
func refuseCreation(ctx workflow.Context, what string, refusal error, refused *error) error {
	*refused = refusal
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(what+" was refused: "+refusal.Error(), "CREATE_REFUSED", nil)
}

// dayHasCome is the day a change records, refused when it is after today
// (workflow time, in the calendar's zone): a step is recorded once it has
// happened, and a day ahead would put off the deadline that counts from
// it. Meant for admit (registerAdmitted); the fields are checked by then.
// An interview's hold asks it in its check (checkHeldOn), as it always
// checked the day there: a replay's workflow time is the original's.
func dayHasCome(ctx workflow.Context, field, day string) (calendar.Date, error) {
	d, err := calendar.ParseDate(day)
	if err != nil {
		return d, derrors.Invalid(field, "must be a date YYYY-MM-DD")
	}
	if today := calendar.DateOf(workflow.Now(ctx)); d.After(today) {
		return d, derrors.Invalid(field, "must not be after today (%s): record a step once it has happened", today)
	}
	return d, nil
}
