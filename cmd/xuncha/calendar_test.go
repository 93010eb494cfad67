package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// run executes the CLI with args and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	for _, v := range []string{"DATABASE_URL", "MIGRATE_DATABASE_URL", "XUNCHA_APP_ROLE"} {
		t.Setenv(v, "")
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCalendarDeadlineCLI(t *testing.T) {
	tests := []struct {
		args []string
		due  string
		line string
	}{
		{[]string{"--from", "2024-09-30", "--working-days", "5"}, "2024-10-12", "10-12 Saturday is a working day (National Day make-up)"},
		{[]string{"--from", "2025-01-31", "--months", "1"}, "2025-02-28", "February has no 31st"},
		{[]string{"--from", "2024-01-31", "--months", "1"}, "2024-02-29", "February has no 31st"},
	}
	for _, tt := range tests {
		out, err := run(t, append([]string{"calendar", "deadline"}, tt.args...)...)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Equal(t, tt.due, lines[0], "the due date alone on the first line")
		require.Contains(t, out, tt.line)
	}
	_, err := run(t, "calendar", "deadline", "--from", "2031-01-01", "--months", "1")
	require.ErrorContains(t, err, "no data for year 2031")
	_, err = run(t, "calendar", "deadline", "--from", "2026-01-01", "--months", "13")
	require.ErrorContains(t, err, "months: must be between 1 and 12")

	// Printed in the user's language, Chinese unless the locale is
	// English: refusals were English whatever the locale.
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "")
	_, err = run(t, "calendar", "deadline", "--from", "2026-13-01", "--months", "1")
	require.Equal(t, "from：必须是实际存在的日期，格式为 YYYY-MM-DD", errorText(err))
	_, err = run(t, "calendar", "deadline", "--from", "2031-01-01", "--months", "1")
	require.Equal(t, "日历中没有 2031 年的数据：请先载入国务院关于 2031 年部分节假日安排的通知", errorText(err))
	_, err = run(t, "calendar", "show", "abc")
	require.Equal(t, `YEAR：必须是数字，例如 2026，而不是 "abc"`, errorText(err))
	t.Setenv("LANG", "en_US.UTF-8")
	require.Equal(t, `YEAR: must be a number such as 2026, not "abc"`, errorText(err))
	require.Equal(t, "connecting: refused", errorText(errors.New("connecting: refused")), "an operator's error as it is")
	// The flag a refusal is about stays in front (it was left out in
	// Chinese: "锚点 …" without --expect-anchor).
	t.Setenv("LANG", "")
	wrapped := fmt.Errorf("--from: %w", derrors.Invalid("from", "must be a date YYYY-MM-DD"))
	require.Equal(t, "--from: from：必须是实际存在的日期，格式为 YYYY-MM-DD", errorText(wrapped))
	require.Equal(t, "--from: from: must be a date YYYY-MM-DD", func() string { t.Setenv("LANG", "en_US.UTF-8"); return errorText(wrapped) }())

	out, err := run(t, "calendar", "show", "2026")
	require.NoError(t, err)
	require.Contains(t, out, "2026-10-01..2026-10-07")
	require.Contains(t, out, "2026-10-10 Saturday")
}

// TestCalendarCLIMatchesAPI loads a calendar version into a real ledger and
// checks that the CLI (with DATABASE_URL) and the API answer alike.
func TestCalendarCLIMatchesAPI(t *testing.T) {
	// The CLI speaks the user's language (LANG), the API the caller's.
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "zh_CN.UTF-8")
	ctx := i18n.NewContext(context.Background(), i18n.Chinese)
	store, db := testenv.Ledger(t)

	n := calendar.Notice{Year: 2028, DocNumber: "测试通知", Holidays: []calendar.Holiday{
		{Name: "New Year's Day", Start: calendar.MustParseDate("2028-01-01"), End: calendar.MustParseDate("2028-01-03")},
	}}
	notice, err := json.Marshal(n)
	require.NoError(t, err)
	_, _, err = store.InsertCalendarVersion(ctx, ledger.CalendarVersion{Year: 2028, RequestID: "cli-1", DocNumber: n.DocNumber,
		Notice: notice, LoadedBy: actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: "省安委办"}}, nil)
	require.NoError(t, err)

	for _, args := range [][]string{
		{"--from", "2027-12-28", "--working-days", "5"},
		{"--from", "2026-09-30", "--working-days", "5"},
		{"--from", "2027-12-31", "--months", "1"},
	} {
		out, err := run(t, append([]string{"calendar", "deadline", "--database-url", db.URL}, args...)...)
		require.NoError(t, err)
		req := &xunchav1.ComputeDeadlineRequest{From: args[1]}
		if args[2] == "--months" {
			req.Months = 1
		} else {
			req.WorkingDays = 5
		}
		server := &api.CalendarServer{Ledger: store}
		d, err := server.ComputeDeadline(ctx, req)
		require.NoError(t, err)
		want := append([]string{d.GetDue()}, d.GetExplanation()...)
		require.Equal(t, want, strings.Split(strings.TrimSpace(out), "\n"), "CLI and API agree for %v", args)
	}
	out, err := run(t, "calendar", "deadline", "--database-url", db.URL, "--from", "2027-12-28", "--working-days", "5")
	require.NoError(t, err)
	require.Contains(t, out, "日历版本 1", "the loaded version is used and named")
	require.Contains(t, out, "元旦放假", "the holiday by its Chinese name, though the notice gives none")
	require.Contains(t, out, "2027-12-28 之后第 5 个工作日", "in Chinese by default")
	t.Setenv("LANG", "en_US.UTF-8")
	out, err = run(t, "calendar", "deadline", "--database-url", db.URL, "--from", "2027-12-28", "--working-days", "5")
	require.NoError(t, err)
	require.Contains(t, out, "5 working days after 2027-12-28", "in English for an English locale")
}

// TestRefusalKeepsItsVariable: a setting's refusal keeps the variable and
// flag it is about in front, in Chinese too (it said "访问日志保留 30 天不予接受"
// without XUNCHA_ACCESS_LOG_RETENTION).
func TestRefusalKeepsItsVariable(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "")
	err := fmt.Errorf("XUNCHA_ACCESS_LOG_RETENTION / --access-log-retention: %w", derrors.New(derrors.ErrInvalidArgument,
		"access log retention of %d days is refused: network logs are kept at least %d days (Cybersecurity Law art. 21)", 30, 180))
	require.Equal(t, "XUNCHA_ACCESS_LOG_RETENTION / --access-log-retention: 访问日志保留 30 天不予接受：网络日志至少保留 180 天（《网络安全法》第二十一条）", errorText(err))
	wrapped := fmt.Errorf("opening the ledger: %w", err)
	require.Equal(t, "访问日志保留 30 天不予接受：网络日志至少保留 180 天（《网络安全法》第二十一条）", errorText(wrapped), "other context, English, is left out")
}

// TestLogSettingsNameTheirVariable: a log level or format that does not
// parse is refused naming its variable and flag (it said only `log level
// "loud": …`).
func TestLogSettingsNameTheirVariable(t *testing.T) {
	t.Setenv("LANG", "en_US.UTF-8")
	t.Setenv("XUNCHA_LOG_LEVEL", "loud")
	_, err := run(t, "migrate", "--database-url", "postgres://x@127.0.0.1:1/x")
	require.ErrorContains(t, err, `XUNCHA_LOG_LEVEL / --log-level: log level "loud": must be debug, info, warn or error`)
	t.Setenv("XUNCHA_LOG_LEVEL", "")
	_, err = run(t, "migrate", "--database-url", "postgres://x@127.0.0.1:1/x", "--log-format", "xml")
	require.ErrorContains(t, err, `XUNCHA_LOG_FORMAT / --log-format: log format "xml": must be console or json`)
}
