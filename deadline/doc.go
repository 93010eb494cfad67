// Package deadline is every deadline xuncha keeps, computed in one place: the
// rule of each lifecycle step (the team report, the rectification report, an
// interview's follow-up report), the deadline a rule gives on a calendar, the
// instants of the office's escalation ladder around it, and the explanation of
// each ("due 2026-10-13: 5 working days after 2026-09-30; …").
//
// Everything here is a pure function of its arguments — a calendar, an
// escalation policy, the rule's dates, and "today" when a rule counts from
// today. Nothing reads a clock or the ledger, so the API's pre-check, the
// calendar CLI and the workflows compute the same answer from the same
// inputs:
//
//   - a workflow decides with workflow time (calendar.DateOf(workflow.Now))
//     and reads the calendar and the policy in an activity
//     (activities.ResolveDeadline), because they are data;
//   - the API, before it sends a change to a workflow, previews the same
//     deadline with the wall clock and the ledger's calendar (LoadResolver
//     in activities) to refuse a limit past the statutory one before
//     anything is recorded. A preview is not the decision: the workflow
//     computes again and its answer is the one that counts.
//
// Why a package beside calendar rather than inside it: calendar is the
// Civil Code's period arithmetic on the State Council's working-day
// calendar, a general tool that knows nothing of inspections. This package
// holds the office's rules on top of it — which period each step gets, a
// limit the office may shorten but not extend, the escalation ladder (whose
// policy type, [casework.EscalationPolicy], is what the office set, as the
// workflows read it) — and the explanations those add. Keeping them apart keeps
// calendar free of the ledger and of the charter's vocabulary.
package deadline
