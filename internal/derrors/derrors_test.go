package derrors

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/internal/i18n"
)

// TestMessagesInBothLanguages: every kind of domain error answers in
// Chinese and in English, also after a round trip through a Temporal
// application error, and keeps its kind.
func TestMessagesInBothLanguages(t *testing.T) {
	var v Violations
	v.Add("unit.code", "must not be empty")
	v.Add("team", "has %d leaders (组长); the charter requires exactly one", 2)
	stage := StageError{Reason: "TEAM_NOT_APPROVED", Subject: "inspection/i-1", Action: "notify", Stage: "PLANNED"}.
		Says("the team line-up is already approved")
	for _, tt := range []struct {
		name   string
		err    error
		kind   error
		en, zh string
	}{
		{"violations", v.Err(), ErrInvalidArgument,
			"unit.code: must not be empty; team: has 2 leaders (组长); the charter requires exactly one",
			"unit.code：不能为空；team：有 2 名组长；《巡查工作制度》要求恰好一名"},
		{"stage", stage, ErrFailedPrecondition, "the team line-up is already approved", "巡查组组成已获批准"},
		{"default stage", &StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "finding/f-1", Action: "refer", Stage: "LISTED", Allowed: []string{"diagnose", "withdraw"}},
			ErrFailedPrecondition, "finding/f-1: refer is not allowed in stage LISTED (allowed: diagnose, withdraw)",
			"问题 f-1：当前阶段“已建立清单”不允许“移交督办”（允许的操作：诊断分析、撤销）"},
		{"new", fmt.Errorf("reading: %w", New(ErrNotFound, "inspection %q not found", "i-9")), ErrNotFound,
			`reading: inspection "i-9" not found`, `未找到巡查 "i-9"`},
	} {
		if got := Message(tt.err, i18n.English); got != tt.en {
			t.Errorf("%s in English: %q, want %q", tt.name, got, tt.en)
		}
		if got := Message(tt.err, i18n.Chinese); got != tt.zh {
			t.Errorf("%s in Chinese: %q, want %q", tt.name, got, tt.zh)
		}
		back := FromTemporal(ToTemporal(tt.err))
		if !errors.Is(back, tt.kind) {
			t.Errorf("%s: the round trip lost the kind: %v", tt.name, back)
		}
		if got := Message(back, i18n.Chinese); got != tt.zh {
			t.Errorf("%s in Chinese after a round trip: %q, want %q", tt.name, got, tt.zh)
		}
	}
}

// TestTextRules: the one text rule of request fields. Blank is empty for
// RequireText; the limit counts characters, not bytes, so a field of max
// Chinese characters passes and one more does not.
func TestTextRules(t *testing.T) {
	for _, tt := range []struct {
		name     string
		value    string
		required bool
		want     string
	}{
		{"empty required", "", true, "reason: must not be empty"},
		{"blank required", " \t\n", true, "reason: must not be empty"},
		{"empty optional", "", false, ""},
		{"at the limit", "整改不到位", true, ""},
		{"at the limit, optional", "整改不到位", false, ""},
		{"over the limit", "整改不到位啊", true, "reason: must be at most 5 characters"},
		{"over the limit, optional", "整改不到位啊", false, "reason: must be at most 5 characters"},
	} {
		var v Violations
		if tt.required {
			v.RequireText("reason", tt.value, 5)
		} else {
			v.LimitText("reason", tt.value, 5)
		}
		got := ""
		if err := v.Err(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestNotSignedIsUnavailable: a worker's refusal of a change's signature
// reaches the API's caller as unavailable, to be sent again, in both
// languages, and says nothing of the worker's own words.
func TestNotSignedIsUnavailable(t *testing.T) {
	err := FromTemporal(temporal.NewNonRetryableApplicationError("payloadcrypt: … signed at 2026-12-01T10:00:00Z", TypeNotSigned, nil))
	require.ErrorIs(t, err, ErrUnavailable)
	require.NotContains(t, err.Error(), "payloadcrypt")
	require.Contains(t, Message(err, i18n.Chinese), "请重新发送")
	require.Contains(t, Message(err, i18n.English), "send the request again")
}
