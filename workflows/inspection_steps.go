package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// next returns a copy of the row in stage with its own records map.
func (w *inspection) next(stage string) casework.Inspection { return nextInspection(w.row, stage) }

// nextInspection returns a copy of in in stage with its own records map.
func nextInspection(in casework.Inspection, stage string) casework.Inspection {
	n := in
	n.Stage = stage
	n.Records = maps.Clone(in.Records)
	if n.Records == nil {
		n.Records = map[string]string{}
	}
	return n
}

func (w *inspection) approveTeam(ctx workflow.Context, in ApproveTeamInput) error {
	n := w.next(StagePlanned)
	n.TeamApproved = true
	n.Records["team_approved_by"] = in.Actor.String()
	return w.apply(ctx, n, casework.Event{Action: ActionApproveTeam, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"team": w.row.Team})})
}

func (w *inspection) notify(ctx workflow.Context, in NotifyInput) error {
	n := w.next(StageNotified)
	n.Records["notified_on"] = in.NotifiedOn
	var evidence json.RawMessage
	if in.NoticeEvidenceID != "" {
		n.Records["notice_evidence_id"] = in.NoticeEvidenceID
		evidence = evidenceJSON([]string{in.NoticeEvidenceID})
	}
	return w.apply(ctx, n, casework.Event{Action: ActionNotify, Actor: in.Actor, Note: in.Note, Evidence: evidence,
		Data: dataJSON(map[string]any{"notified_on": in.NotifiedOn})})
}

func (w *inspection) station(ctx workflow.Context, in StationInput) error {
	// The entry announcement with the contact channels is a publication
	// (曝光: 巡查组进驻) of its own.
	channels := strings.TrimSpace(strings.Join([]string{in.ContactPhone, in.ContactMailbox}, " "))
	if err := w.ledger.call(ctx, nil, acts.RecordExposure, casework.Exposure{
		RequestID: "station/" + w.row.ID + "/" + in.RequestID, Kind: "ENTRY_ANNOUNCEMENT", Subject: w.subject(),
		Outlet: "巡查组进驻公告", PublishedOn: in.StationedOn, RecordedBy: in.Actor,
		Title: fmt.Sprintf("巡查组进驻%s：%s；举报电话/信箱 %s", w.row.UnitName, in.Announcement, channels),
	}); err != nil {
		return ledgerFailure("recording the entry announcement", err)
	}
	n := w.next(StageStationed)
	n.Records["stationed_on"] = in.StationedOn
	n.Records["announcement"] = in.Announcement
	n.Records["contact_phone"] = in.ContactPhone
	n.Records["contact_mailbox"] = in.ContactMailbox
	return w.apply(ctx, n, casework.Event{Action: ActionStation, Actor: in.Actor,
		Note: "team entered; task announced; contact channels published",
		Data: dataJSON(map[string]any{"stationed_on": in.StationedOn, "announcement": in.Announcement,
			"contact_phone": in.ContactPhone, "contact_mailbox": in.ContactMailbox})})
}

func (w *inspection) endOnsite(ctx workflow.Context, in EndOnsiteInput) error {
	rule := deadline.TeamReport(in.OnsiteEndedOn)
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	n := w.next(StageOnsiteEnded)
	n.Records["onsite_ended_on"] = in.OnsiteEndedOn
	n.ReportDeadline = &resolved.Deadline
	n.DeadlineSeq++
	n.Overdue = false
	if err := w.apply(ctx, n, casework.Event{Action: ActionEndOnsite, Actor: in.Actor,
		Note: "on-site work ended; the team report is due " + resolved.Deadline.Due.String(),
		Data: dataJSON(map[string]any{"onsite_ended_on": in.OnsiteEndedOn, "deadline": resolved.Deadline})}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *inspection) submitReport(ctx workflow.Context, in SubmitReportInput) error {
	n := w.next(StageReported)
	n.Records["report_evidence_id"] = in.ReportEvidenceID
	n.Records["report_summary"] = in.Summary
	n.Overdue = false
	note := "team report submitted in time"
	if d := w.row.ReportDeadline; d != nil && !workflow.Now(ctx).Before(d.DueAt) {
		note = "team report submitted after the deadline " + d.Due.String()
	}
	if err := w.apply(ctx, n, casework.Event{Action: ActionSubmitReport, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON([]string{in.ReportEvidenceID}), Data: dataJSON(map[string]any{"summary": in.Summary})}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

func (w *inspection) review(ctx workflow.Context, in ReviewInput) error {
	n := w.next(StageReviewed)
	n.Records["copied_to_party_inspection_office"] = fmt.Sprint(in.CopyToPartyInspectionOffice)
	return w.apply(ctx, n, casework.Event{Action: ActionReview, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"copy_to_party_inspection_office": in.CopyToPartyInspectionOffice})})
}

func (w *inspection) approve(ctx workflow.Context, in ApproveInput) error {
	n := w.next(StageApproved)
	if in.ApprovedOn != "" {
		// Only a day given: approvals entered late without one (a backlog)
		// bound their feedback by the on-site end alone, as before.
		n.Records["approved_on"] = in.ApprovedOn
	}
	return w.apply(ctx, n, casework.Event{Action: ActionApprove, Actor: in.Actor, Note: in.Note})
}

// versionFeedbackChecksFindingDues: giveFeedback resolves each finding's
// own limit (FindingDueRules) before it refers any finding.
const versionFeedbackChecksFindingDues = "feedback-checks-finding-dues"

// giveFeedback records the feedback, refers every CLASSIFIED finding with
// the same limit (never beyond one month after the feedback), and starts
// the unit's rectification-report deadline.
func (w *inspection) giveFeedback(ctx workflow.Context, in GiveFeedbackInput) error {
	if workflow.GetVersion(ctx, versionFeedbackWaitsForClassification, workflow.DefaultVersion, 1) >= 1 {
		var unclassified activities.FindingsAmongResult
		if err := w.ledger.call(ctx, &unclassified, acts.FindingsAmong, activities.FindingsAmongInput{
			InspectionID: w.row.ID, Stages: []string{FindingFound, FindingListed, FindingDiagnosed},
		}); err != nil {
			return ledgerFailure("counting unclassified findings", err)
		}
		if unclassified.Count > 0 {
			return unclassifiedFindingsError(w.row.ID, w.row.Stage, unclassified)
		}
	}
	rule := in.Rule()
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	// Referring sends an update to each finding's workflow: an activity of
	// its own, as long as those workflows take.
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var classified activities.FindingIDsResult
	if err := w.ledger.call(ctx, &classified, acts.FindingsInStage, activities.InspectionFindingsInput{
		InspectionID: w.row.ID, Stage: FindingClassified,
	}); err != nil {
		return ledgerFailure("listing classified findings", err)
	}
	if err := in.CheckFindingDues(w.row.ID, classified.IDs); err != nil {
		return err
	}
	// Since versionFeedbackChecksFindingDues, a finding's own limit beyond
	// the law refuses the feedback before any finding is referred; before,
	// that finding's referral refused it, and the feedback went on without
	// it. Asked only when the feedback gives findings their own limits.
	if len(in.FindingDues) > 0 && workflow.GetVersion(ctx, versionFeedbackChecksFindingDues, workflow.DefaultVersion, 1) >= 1 {
		for _, r := range in.FindingDueRules() {
			if _, err := w.ledger.resolveDeadline(ctx, r); err != nil {
				return err
			}
		}
	}
	referred, refused := []string{}, map[string]string{}
	for _, id := range classified.IDs {
		args := dataJSON(ReferInput{Change: Change{RequestID: "feedback-" + w.row.ID, Actor: in.Actor}, Note: "referred with the inspection's feedback",
			Referral: casework.Referral{ReceivingAuthority: in.ReceivingAuthority, FeedbackReceivedOn: in.FeedbackDeliveredOn, Due: in.DueOf(id)}})
		var res activities.SendUpdateResult
		if err := workflow.ExecuteActivity(actx, acts.SendUpdate, activities.SendUpdateInput{
			WorkflowID: FindingWorkflowID(id), UpdateName: ActionRefer, UpdateID: UpdateID(ActionRefer, "feedback-"+w.row.ID), Args: args,
		}).Get(ctx, &res); err != nil {
			// Not sent (the finding's ledger write unavailable past its
			// retries): the feedback waits for every referral, UNAVAILABLE;
			// sent again, the findings referred already are answered as before.
			return ledgerFailure("referring finding "+id, err)
		}
		if res.Refused != "" {
			refused[id] = res.Refused
			continue
		}
		referred = append(referred, id)
	}
	n := w.next(StageFeedbackGiven)
	n.Records["feedback_delivered_on"] = in.FeedbackDeliveredOn
	// The names joined as a clerk writes a list (市委书记、市长); it was
	// Go's print of a slice, "[市委书记 市长]". A running inspection whose
	// feedback was recorded before gets the new form with its next change
	// (a replay rebuilds its records; the ledger row is written whole).
	n.Records["feedback_recipients"] = strings.Join(in.Recipients, "、")
	n.Records["receiving_authority"] = in.ReceivingAuthority
	n.RectificationDeadline = &resolved.Deadline
	n.DeadlineSeq++
	n.Overdue = false
	if err := w.apply(ctx, n, casework.Event{Action: ActionGiveFeedback, Actor: in.Actor,
		Note: fmt.Sprintf("feedback delivered; %d findings referred; the rectification report is due %s", len(referred), resolved.Deadline.Due),
		Data: dataJSON(map[string]any{"recipients": in.Recipients, "referred": referred, "refused": refused, "deadline": resolved.Deadline})}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *inspection) reportRectification(ctx workflow.Context, in InspectionRectificationInput) error {
	n := w.next(StageRectificationReported)
	n.Records["rectification_report"] = in.Report
	n.Overdue = false
	note := "rectification report received in time"
	if d := w.row.RectificationDeadline; d != nil && !workflow.Now(ctx).Before(d.DueAt) {
		note = "rectification report received after the deadline " + d.Due.String()
	}
	if err := w.apply(ctx, n, casework.Event{Action: ActionInspectionRectified, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs), Data: dataJSON(map[string]any{"report": in.Report})}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

// close closes the inspection once every finding is CLOSED or WITHDRAWN and
// stores the summary for the results-use record.
func (w *inspection) close(ctx workflow.Context, in ApproveInput) error {
	var sum casework.InspectionSummary
	if err := w.ledger.call(ctx, &sum, acts.FindingCounts, activities.InspectionFindingsInput{InspectionID: w.row.ID}); err != nil {
		return ledgerFailure("counting findings", err)
	}
	if sum.Open > 0 {
		return openFindingsError(w.row.ID, w.row.Stage, ActionClose, sum)
	}
	sum.DeadlinesMissed += w.row.MissedDeadlines
	n := w.next(StageClosed)
	n.Summary = &sum
	n.Overdue = false
	if err := w.apply(ctx, n, casework.Event{Action: ActionClose, Actor: in.Actor, Note: in.Note, Data: dataJSON(sum)}); err != nil {
		return err
	}
	w.ended(ctx, "closed", ActionClose)
	return nil
}

func (w *inspection) cancel(ctx workflow.Context, in CancelInput) error {
	if workflow.GetVersion(ctx, versionCancelWaitsForFindings, workflow.DefaultVersion, 1) >= 1 {
		var sum casework.InspectionSummary
		if err := w.ledger.call(ctx, &sum, acts.FindingCounts, activities.InspectionFindingsInput{InspectionID: w.row.ID}); err != nil {
			return ledgerFailure("counting findings", err)
		}
		if sum.Open > 0 {
			return openFindingsError(w.row.ID, w.row.Stage, ActionCancel, sum)
		}
	}
	n := w.next(StageCancelled)
	n.CancelReason = in.Reason
	// A cancelled inspection owes no report: it is no longer overdue.
	n.Overdue = false
	if err := w.apply(ctx, n, casework.Event{Action: ActionCancel, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	// Before the ladder stops, as for a withdrawn finding.
	w.ended(ctx, "cancelled", ActionCancel)
	w.deadline.stop()
	return nil
}

// checkDay admits a step only when the day it records has come: not after
// today (workflow time, in the calendar's zone), and not before the days
// recorded by the steps it follows (each earlier record the inspection
// has). Deadlines count from these days, so a typo would otherwise
// escalate at once (a day before the step could have happened) or put the
// deadline off (a day ahead). A day already past stays allowed: steps are
// often recorded late. The fields are checked by then (registerAdmitted).
func (w *inspection) checkDay(ctx workflow.Context, field, day string, earlier ...string) error {
	d, err := dayHasCome(ctx, field, day)
	if err != nil {
		return err
	}
	for _, e := range earlier {
		if prev, err := calendar.ParseDate(w.row.Records[e]); err == nil && d.Before(prev) {
			return derrors.Invalid(field, "must not be before %s, the inspection's %s", prev, i18n.Term(i18n.RecordDay, e))
		}
	}
	return nil
}

// validateRecheck refuses, besides a malformed request, a re-check of a
// finding this inspection re-checked and passed already: each would add
// an event to the finding and to the inspection's history, without end.
// (A validator, not run on replay: earlier histories with a repeated
// re-check replay as they ran.)
func (w *inspection) validateRecheck(in RecheckInput) (actor.Actor, error) {
	if err := in.Validate(); err != nil {
		return in.Actor, err
	}
	if w.row.Records["recheck:"+in.FindingID] == "passed" {
		return in.Actor, derrors.StageError{Reason: "ALREADY_RECHECKED", Subject: FindingWorkflowID(in.FindingID), Action: ActionRecheck,
			Stage: FindingClosed}.Says("finding %q was re-checked by this inspection and passed already", in.FindingID)
	}
	return in.Actor, nil
}

// CheckFollowedFinding refuses a re-check of findingID (f, when found)
// unless it is a finding of followed, the inspection the re-checking one
// looks back at. A finding of another inspection is answered as one that
// does not exist: the team learns neither that it exists nor whose it is
// (another team's, out of its reach). The API's preview asks it too.
func CheckFollowedFinding(followed, findingID string, f casework.Finding, found bool) error {
	if !found || f.InspectionID != followed {
		return derrors.Invalid("finding_id", "inspection %q, which this one looks back at, has no finding %q", followed, findingID)
	}
	return nil
}

// recheck records a FOLLOW_UP inspection's re-check of a closed finding of
// the inspection it looks back at. A failed re-check reopens the finding: a
// new run of its workflow starts in REFERRED with a new deadline.
func (w *inspection) recheck(ctx workflow.Context, in RecheckInput) error {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var f casework.Finding
	err := w.ledger.call(ctx, &f, acts.GetFinding, activities.FindingIDInput{ID: in.FindingID})
	if err != nil {
		if err = derrors.FromTemporal(err); !errors.Is(err, derrors.ErrNotFound) {
			return err
		}
	}
	if err := CheckFollowedFinding(w.row.FollowsInspectionID, in.FindingID, f, err == nil); err != nil {
		return err
	}
	switch {
	case f.Stage != FindingClosed:
		return derrors.StageError{Reason: "FINDING_NOT_CLOSED", Subject: FindingWorkflowID(f.ID), Action: ActionRecheck, Stage: f.Stage}.
			Says("finding %q is %s: only CLOSED findings are re-checked", f.ID, f.Stage)
	}
	key := fmt.Sprintf("recheck/%s/%s", w.row.ID, in.RequestID)
	outcome := "passed"
	if !in.Passed {
		outcome = "failed: reopened"
		today := calendar.DateOf(workflow.Now(ctx))
		reopen := ReopenInput{RequestID: key, InspectionID: w.row.ID, Actor: in.Actor, Reason: in.Note, From: today.String(), Due: in.Due}
		// The limit is checked before anything is recorded.
		if _, err := w.ledger.resolveDeadline(ctx, reopen.rule()); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(actx, acts.StartWorkflow, activities.StartWorkflowInput{
			WorkflowID: FindingWorkflowID(f.ID), WorkflowType: FindingWorkflowName,
			Input: dataJSON(FindingInput{Finding: f, Reopen: &reopen}),
		}).Get(ctx, nil); err != nil {
			return fmt.Errorf("reopening finding %s: %w", f.ID, err)
		}
	} else if err := w.ledger.call(ctx, nil, acts.AppendEvent, casework.Event{
		SubjectType: casework.SubjectFinding, SubjectID: f.ID, Key: key, Action: ActionRecheck,
		StageBefore: f.Stage, StageAfter: f.Stage, Actor: in.Actor, Note: "re-check passed: " + in.Note,
		OccurredAt: workflow.Now(ctx).UTC(), Data: dataJSON(map[string]any{"inspection_id": w.row.ID, "passed": true}),
	}); err != nil {
		return ledgerFailure("recording the re-check on finding "+f.ID, err)
	}
	n := w.next(w.row.Stage)
	n.Records["recheck:"+f.ID] = outcome
	return w.apply(ctx, n, casework.Event{Action: ActionRecheck, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"finding_id": f.ID, "ledger_number": f.LedgerNumber, "passed": in.Passed})})
}
