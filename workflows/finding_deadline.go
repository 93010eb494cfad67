package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// startLadder starts the rectification deadline's ladder.
func (w *finding) startLadder(ctx workflow.Context, rule deadline.Rule, resolved deadline.Resolved, fired map[string]bool) {
	w.deadline.start(ctx, w.mu, rule, resolved, fired,
		func() bool { return w.row.Stage == FindingReferred }, w.escalate)
}

// escalate takes a step of the ladder: an escalation row, an event, the
// overdue mark, and a webhook to each subscriber. A reminder whose deadline
// has already passed (a late referral, a worker that was down) is skipped:
// the later steps say more.
func (w *finding) escalate(ctx workflow.Context, step deadline.ScheduledStep) error {
	now := workflow.Now(ctx).UTC()
	due := w.row.Deadline
	if step.Step == ledger.StepReminder && !now.Before(due.DueAt) {
		return nil
	}
	next := w.row
	var message string
	switch step.Step {
	case ledger.StepReminder:
		message = fmt.Sprintf("reminder: the rectification report of %s is due %s", w.label(), due.Due)
	case ledger.StepOverdue:
		next.Overdue = true
		next.MissedDeadlines++
		message = fmt.Sprintf("overdue: the rectification report of %s was due %s; escalated to the office", w.label(), due.Due)
	case ledger.StepInterviewProposed:
		next.Overdue = true
		message = fmt.Sprintf("still overdue %d working days after %s: an interview (约谈) of the leaders of unit %s is proposed",
			step.WorkingDays, due.Due, w.row.UnitCode)
	default:
		message = fmt.Sprintf("%s: the rectification report of %s is due %s", step.Step, w.label(), due.Due)
	}
	esc := ledger.Escalation{
		Subject: w.subject(), DeadlineSeq: w.row.DeadlineSeq, Step: step.Step, UnitCode: w.row.UnitCode,
		DueAt: due.DueAt, FiredAt: now, Message: message,
	}
	next.Version = w.row.Version + 1
	next.UpdatedAt = now
	event := ledger.Event{
		SubjectType: ledger.SubjectFinding, SubjectID: w.row.ID,
		Key:    fmt.Sprintf("escalate/%d/%s", w.row.DeadlineSeq, step.Step),
		Action: "escalate", StageBefore: w.row.Stage, StageAfter: next.Stage,
		Actor: actor.System, Note: message, OccurredAt: now,
		Data: dataJSON(map[string]any{"step": step.Step, "deadline_seq": w.row.DeadlineSeq, "due": due.Due}),
	}
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var res activities.EscalateResult
	if err := workflow.ExecuteActivity(actx, acts.Escalate, activities.EscalateInput{Escalation: esc, Finding: next, Event: event}).Get(ctx, &res); err != nil {
		return fmt.Errorf("recording escalation %s: %w", step.Step, err)
	}
	w.row = next
	w.escalations = append(w.escalations, res.Escalation)
	w.publish(ctx)
	if step.Step == ledger.StepInterviewProposed {
		if err := ProposeInterviewFromLadder(ctx, InterviewInput{Subject: w.subject(), UnitCode: w.row.UnitCode,
			Reason: message, DeadlineSeq: w.row.DeadlineSeq}); err != nil {
			workflow.GetLogger(ctx).Error("proposing the interview failed", "finding", w.row.ID, "error", err)
		}
	}
	w.announce(ctx, EventFindingEscalated, fmt.Sprintf("%s/%d/%s", w.subject(), w.row.DeadlineSeq, step.Step), map[string]any{
		"escalation":    res.Escalation,
		"finding_id":    w.row.ID,
		"ledger_number": w.row.LedgerNumber,
		"inspection_id": w.row.InspectionID,
		"unit_code":     w.row.UnitCode,
		"title":         w.row.Title,
		"due":           due.Due,
		"deadline":      due.Explanation,
	})
	return nil
}

func (w *finding) label() string {
	if w.row.LedgerNumber != "" {
		return w.row.LedgerNumber
	}
	return w.subject()
}

// notifyMajor tells the unit and the office about a MAJOR hazard or an
// important problem with the rectification opinion, as soon as it is found.
func (w *finding) notifyMajor(ctx workflow.Context) error {
	next := w.row
	if err := w.apply(ctx, next, ledger.Event{
		Key: "notify/" + w.row.RequestID, Action: "notify", Actor: actor.System,
		Note: fmt.Sprintf("notified to unit %s and the office at once, with the rectification opinion", w.row.UnitCode),
		Data: dataJSON(map[string]any{"recipients": []string{"unit:" + w.row.UnitCode, "office"},
			"rectification_opinion": w.row.RectificationOpinion}),
	}); err != nil {
		return err
	}
	w.announce(ctx, EventMajorFinding, w.subject()+"/major", map[string]any{
		"finding_id":            w.row.ID,
		"ledger_number":         w.row.LedgerNumber,
		"inspection_id":         w.row.InspectionID,
		"unit_code":             w.row.UnitCode,
		"unit_name":             w.row.UnitName,
		"title":                 w.row.Title,
		"kind":                  w.row.Kind,
		"severity":              w.row.Severity,
		"important":             w.row.Important,
		"rectification_opinion": w.row.RectificationOpinion,
	})
	return nil
}

// webhookOptions retry a delivery with backoff for up to a day (in a
// WebhookDeliveryWorkflow; in the lifecycle itself for histories recorded
// before webhookOutboxChange).
var webhookOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    10 * time.Minute,
		// An unknown webhook or a payload that is not JSON will not get better.
		NonRetryableErrorTypes: derrors.NonRetryableTypes,
	},
}

// announce posts an event to every subscribed webhook.
func (w *finding) announce(ctx workflow.Context, eventType, deliveryKey string, data map[string]any) {
	announce(ctx, &w.deliveries, eventType, deliveryKey, data)
}

// announce posts an event to every subscribed webhook. deliveryKey is
// stable for the event; receivers deduplicate by the delivery ID derived
// from it (deliveryKey + "/" + webhook ID). *pending counts the hand-overs
// still running: a workflow waits for them before it ends.
//
// Workflows that reach announce since webhookOutboxChange hand the event to
// the outbox (activities.QueueWebhook, a short ledger write that starts one
// WebhookDeliveryWorkflow per subscriber) and wait only for that, so a
// lifecycle ends when its stage says so whatever the receivers do. Histories
// recorded before the change keep delivering inside the lifecycle, each
// delivery on its own, waited for before the workflow ends.
func announce(ctx workflow.Context, pending *int, eventType, deliveryKey string, data map[string]any) {
	outbox := workflow.GetVersion(ctx, webhookOutboxChange, workflow.DefaultVersion, 1) >= 1
	*pending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { *pending-- }()
		if outbox {
			queueWebhook(ctx, eventType, deliveryKey, data)
			return
		}
		deliverInline(ctx, eventType, deliveryKey, data)
	})
}

// webhookPayload is the body posted for an event.
func webhookPayload(ctx workflow.Context, eventType string, data map[string]any) []byte {
	return dataJSON(map[string]any{
		"type":        eventType,
		"occurred_at": workflow.Now(ctx).UTC(),
		"data":        data,
	})
}

// queueWebhook writes the event's deliveries to the outbox.
func queueWebhook(ctx workflow.Context, eventType, deliveryKey string, data map[string]any) {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	in := activities.QueueWebhookInput{EventType: eventType, DeliveryKey: deliveryKey, Payload: webhookPayload(ctx, eventType, data)}
	if err := workflow.ExecuteActivity(actx, acts.QueueWebhook, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("queuing webhook deliveries failed", "event", eventType, "delivery_key", deliveryKey, "error", err)
	}
}

// deliverInline is announce before webhookOutboxChange: list the
// subscribers, then deliver to each, retrying for up to a day, inside the
// lifecycle. Kept unchanged so that recorded histories replay.
func deliverInline(ctx workflow.Context, eventType, deliveryKey string, data map[string]any) {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var subs activities.SubscribersResult
	if err := workflow.ExecuteActivity(actx, acts.Subscribers, activities.SubscribersInput{EventType: eventType}).Get(ctx, &subs); err != nil {
		workflow.GetLogger(ctx).Error("listing webhook subscribers failed", "event", eventType, "error", err)
		return
	}
	payload := webhookPayload(ctx, eventType, data)
	wctx := workflow.WithActivityOptions(ctx, webhookOptions)
	futures := make([]workflow.Future, 0, len(subs.WebhookIDs))
	for _, id := range subs.WebhookIDs {
		futures = append(futures, workflow.ExecuteActivity(wctx, acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: id, DeliveryID: deliveryKey + "/" + id, EventType: eventType, Payload: payload,
		}))
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("webhook delivery gave up", "webhook", subs.WebhookIDs[i], "event", eventType, "error", err)
		}
	}
}

// receiveCalendarChanges re-dates the running deadline when the office loads
// a new calendar version.
func (w *finding) receiveCalendarChanges(ctx workflow.Context) {
	receiveCalendarChanges(ctx, w.subject(), w.redate)
}

func (w *finding) redate(ctx workflow.Context, sig CalendarChangedSignal) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	if w.row.Stage != FindingReferred || !w.deadline.running() || w.row.Deadline == nil {
		return nil
	}
	rule := *w.deadline.rule
	resolved, err := w.resolve(ctx, rule)
	if err != nil {
		return err
	}
	old := w.row.Deadline
	if resolved.Deadline.DueAt.Equal(old.DueAt) && !w.deadline.moved(resolved) {
		return nil
	}
	fired := w.deadline.fired()
	next := w.row
	next.Deadline = &resolved.Deadline
	note := fmt.Sprintf("re-dated by calendar version %d: due %s (was %s)", sig.Version, resolved.Deadline.Due, old.Due)
	if err := w.apply(ctx, next, ledger.Event{
		Key: fmt.Sprintf("redate/%d/%d", w.row.DeadlineSeq, sig.Version), Action: "redate", Actor: actor.System, Note: note,
		Data: dataJSON(map[string]any{"calendar_version": sig.Version, "old_due": old.Due, "new_due": resolved.Deadline.Due,
			"deadline": resolved.Deadline}),
	}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, fired)
	return nil
}
