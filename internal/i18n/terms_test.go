package i18n

import "testing"

// TestStageOfItsOwnLifecycle: a stage code is named as its subject's
// lifecycle names it; the first lifecycle that knew the code named it
// (an interview APPROVED read as an inspection's 已审定).
func TestStageOfItsOwnLifecycle(t *testing.T) {
	for _, tc := range []struct{ subject, stage, want string }{
		{"interview/iv-1", "APPROVED", InterviewStage("APPROVED")},
		{"inspection/ins-1", "APPROVED", InspectionStage("APPROVED")},
		{"invitation/l-1.p-1", "WITHDRAWN", InvitationStage("WITHDRAWN")},
		{"finding/f-1", "WITHDRAWN", FindingStage("WITHDRAWN")},
		{"lineup/l-1", "CANCELLED", LineupState("CANCELLED")},
		{"webhook/w-1", "CANCELLED", "CANCELLED"}, // a kind without stage names: the code
	} {
		if got := StageOf(tc.subject, tc.stage); got != tc.want {
			t.Errorf("StageOf(%q, %q) = %q, want %q", tc.subject, tc.stage, got, tc.want)
		}
	}
	if InterviewStage("APPROVED") == InspectionStage("APPROVED") {
		t.Fatalf("the test needs a code two lifecycles name apart")
	}
}

// TestActionOfItsOwnLifecycle: an invitation is withdrawn (撤回), a finding
// revoked (撤销); alternatives are joined with 或.
func TestActionOfItsOwnLifecycle(t *testing.T) {
	for _, tc := range []struct{ subject, action, want string }{
		{"invitation/l-1.p-1", "withdraw", "撤回"},
		{"finding/f-1", "withdraw", "撤销"},
		{"finding/f-1", "diagnose", "诊断分析"},
	} {
		if got := ActionOf(tc.subject, tc.action); got != tc.want {
			t.Errorf("ActionOf(%q, %q) = %q, want %q", tc.subject, tc.action, got, tc.want)
		}
	}
	if got := Alternatives(LineupState, "PROPOSED", "INVITING"); got != (Text{EN: "PROPOSED or INVITING", ZH: "已抽选或邀请中"}) {
		t.Errorf("Alternatives: %+v", got)
	}
}
