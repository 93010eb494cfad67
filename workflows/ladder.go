package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
)

// versionLadderRetriesStep: a step whose take failed (its ledger write not
// made within the ledger's retry window: PostgreSQL away for longer) is
// taken again later, on a durable timer (retryAgain), instead of being
// dropped for good, which left an invitation INVITED for ever and a finding
// overdue without its OVERDUE step or count. Asked only when a take fails:
// a run in which none failed records no marker.
const versionLadderRetriesStep = "ladder-retries-failed-step"

// A write that failed is made again after retryFirst, the wait doubling
// up to retryLongest, retryAttempts times in all (about a week); then it
// is given up, as before versionLadderRetriesStep.
const (
	retryFirst    = 10 * time.Minute
	retryLongest  = 6 * time.Hour
	retryAttempts = 32
)

// writeRetrying makes write, and, while it fails, makes it again later
// (retryAgain under changeID) with nothing held between the attempts; the
// last error when it is given up. what names the write in the log.
func writeRetrying(ctx workflow.Context, changeID, what string, write func() error) error {
	for attempt := 1; ; attempt++ {
		err := write()
		if err == nil {
			return nil
		}
		workflow.GetLogger(ctx).Error(what+" could not be written", "attempt", attempt, "error", err)
		if !retryAgain(ctx, changeID, attempt, err, func() {}) {
			return err
		}
	}
}

// retryAgain reports whether a write that failed with err for the
// attempt-th time (1, 2, …) is to be made again, in a run at changeID's
// version 1, and waits the attempt's time first (unlocked runs before the
// wait); false when it is given up, or ctx was cancelled while waiting. A
// refusal (derrors.IsRefusal: the ledger judged the write, and will judge
// it so again) is given up at once, without asking the version; old runs,
// at DefaultVersion, give up at once too.
func retryAgain(ctx workflow.Context, changeID string, attempt int, err error, unlocked func()) bool {
	if derrors.IsRefusal(ledgerFailure("", err)) || attempt >= retryAttempts ||
		workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	unlocked()
	wait := retryFirst
	for range attempt - 1 {
		if wait *= 2; wait >= retryLongest {
			wait = retryLongest
			break
		}
	}
	return workflow.NewTimer(ctx, wait).Get(ctx, nil) == nil
}

// ladder runs one deadline's escalation schedule on durable timers. Its
// owner (a finding, an inspection) says when the deadline is still running
// and what taking a step means; the ladder sleeps until each step, takes it
// under the owner's mutex, and never takes a step twice.
type ladder struct {
	// rule is how the running deadline is computed (kept to re-date it);
	// nil when no deadline runs.
	rule     *deadline.Rule
	schedule []scheduled
	// gen changes whenever the schedule is replaced or stopped, so a timer
	// of an earlier schedule does nothing.
	gen    int
	cancel workflow.CancelFunc
	// seq is the number of the item a follow-through ladder runs for (a
	// referral, a round of sign-off; finding_followthrough.go).
	seq int
}

// scheduled is one step of the running deadline's ladder.
type scheduled struct {
	deadline.ScheduledStep
	Fired bool
}

// running reports whether a deadline runs.
func (l *ladder) running() bool { return l.rule != nil }

// pending lists the steps still to fire.
func (l *ladder) pending() []deadline.ScheduledStep {
	var out []deadline.ScheduledStep
	for _, s := range l.schedule {
		if !s.Fired {
			out = append(out, s.ScheduledStep)
		}
	}
	return out
}

// fired lists the steps taken for the running deadline.
func (l *ladder) fired() map[string]bool {
	out := map[string]bool{}
	for _, s := range l.schedule {
		if s.Fired {
			out[s.Step] = true
		}
	}
	return out
}

// holdsStepsNotTaken reports whether the schedule holds a step rule does
// not take: a schedule resolved before deadline.Rule.Steps, with every step
// of the office's ladder (the lifecycle left out what it did not keep).
func (l *ladder) holdsStepsNotTaken(rule deadline.Rule) bool {
	return slices.ContainsFunc(l.schedule, func(s scheduled) bool { return !rule.Takes(s.Step) })
}

// moved reports whether a recomputed deadline differs from the schedule.
func (l *ladder) moved(resolved deadline.Resolved) bool {
	if len(resolved.Steps) != len(l.schedule) {
		return true
	}
	for i, s := range resolved.Steps {
		if !s.At.Equal(l.schedule[i].At) {
			return true
		}
	}
	return false
}

// start replaces the schedule and starts its timers. Steps in alreadyFired
// are not taken again. For each step that comes due while active() holds,
// take runs with mu held.
func (l *ladder) start(ctx workflow.Context, mu workflow.Mutex, rule deadline.Rule, resolved deadline.Resolved,
	alreadyFired map[string]bool, active func() bool, take func(workflow.Context, deadline.ScheduledStep) error,
) {
	l.stop()
	l.rule = &rule
	for _, s := range resolved.Steps {
		l.schedule = append(l.schedule, scheduled{ScheduledStep: s, Fired: alreadyFired[s.Step]})
	}
	gen := l.gen
	lctx, cancel := workflow.WithCancel(ctx)
	l.cancel = cancel
	workflow.Go(lctx, func(ctx workflow.Context) {
		for i := 0; gen == l.gen && i < len(l.schedule); i++ {
			step := l.schedule[i]
			if step.Fired {
				continue
			}
			if wait := step.At.Sub(workflow.Now(ctx)); wait > 0 {
				if err := workflow.NewTimer(ctx, wait).Get(ctx, nil); err != nil {
					return // cancelled: met, withdrawn or re-dated
				}
			}
			for attempt := 1; ; attempt++ {
				if err := mu.Lock(ctx); err != nil {
					return
				}
				if gen != l.gen || !active() {
					mu.Unlock()
					return
				}
				l.schedule[i].Fired = true
				err := take(ctx, step.ScheduledStep)
				if err == nil {
					mu.Unlock()
					break
				}
				workflow.GetLogger(ctx).Error("escalation step failed", "step", step.Step, "attempt", attempt, "error", err)
				waited := false
				if !retryAgain(ctx, versionLadderRetriesStep, attempt, err, func() {
					l.schedule[i].Fired = false // pending again, also to a re-date meanwhile
					mu.Unlock()
					waited = true
				}) {
					if waited {
						return // cancelled while waiting: met, withdrawn or re-dated
					}
					mu.Unlock()
					break // given up (or an old run): the step is dropped
				}
			}
		}
	})
}

// stop cancels the pending timers: the deadline was met or no longer
// applies.
func (l *ladder) stop() {
	if l.cancel != nil {
		l.cancel()
		l.cancel = nil
	}
	l.gen++
	l.rule = nil
	l.schedule = nil
}
