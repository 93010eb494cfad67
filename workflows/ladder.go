package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/deadline"
)

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
			if err := mu.Lock(ctx); err != nil {
				return
			}
			if gen != l.gen || !active() {
				mu.Unlock()
				return
			}
			l.schedule[i].Fired = true
			if err := take(ctx, step.ScheduledStep); err != nil {
				workflow.GetLogger(ctx).Error("escalation step failed", "step", step.Step, "error", err)
			}
			mu.Unlock()
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
