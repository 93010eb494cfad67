package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// TestReceiverSeesOnlyItsReferralsEscalations: a receiving body sees the
// receipt ladder's steps of its own referrals and the finding's own steps,
// never another receiver's — told apart by the escalation's ID, whatever
// language the message is in (a message naming the receiver proves nothing).
func TestReceiverSeesOnlyItsReferralsEscalations(t *testing.T) {
	const subject = "finding/f-1"
	esc := func(seq int, step, message string) *xunchav1.Escalation {
		return &xunchav1.Escalation{Id: casework.EscalationID(subject, seq, step), Subject: subject, Step: step, Message: message}
	}
	f := &xunchav1.Finding{
		ClueReferrals: []*xunchav1.ClueReferral{{Seq: 1, Receiver: "长沙市纪委监委"}, {Seq: 2, Receiver: "长沙市委组织部"}},
		Escalations: []*xunchav1.Escalation{
			esc(1, workflows.StepReferralReminder, "到期提醒：长沙市纪委监委 须在 2026-03-09 前回执 …"),
			esc(2, workflows.StepReferralReminder, "reminder: 长沙市委组织部 owes its receipt …"),
			// Another receiver's step whose message happens to name this one.
			esc(2, workflows.StepReferralUnacknowledged, "unacknowledged: 长沙市纪委监委 has not acknowledged …"),
			esc(1, casework.StepOverdue, "overdue: the rectification report …"),
		},
	}
	onlyReferralsShown(f, func(receiver string) bool { return receiver == "长沙市纪委监委" })
	require.Len(t, f.GetClueReferrals(), 1)
	var kept []string
	for _, e := range f.GetEscalations() {
		kept = append(kept, e.GetStep()+" "+e.GetId())
	}
	require.Equal(t, []string{
		workflows.StepReferralReminder + " " + casework.EscalationID(subject, 1, workflows.StepReferralReminder),
		casework.StepOverdue + " " + casework.EscalationID(subject, 1, casework.StepOverdue),
	}, kept)
}
