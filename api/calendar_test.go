package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// notice2028 is a fictional notice for a year the built-in calendar lacks.
func notice2028(requestID string, newYearEnd string) map[string]any {
	return map[string]any{
		"request_id": requestID,
		"doc_number": "国办发明电〔2027〕测试号",
		"doc_date":   "2027-11-01",
		"holidays": []map[string]any{
			{"name": "New Year's Day", "start": "2028-01-01", "end": newYearEnd},
			{"name": "National Day", "start": "2028-10-01", "end": "2028-10-07"},
		},
		"makeup_days": []map[string]any{{"date": "2028-10-08", "name": "National Day"}},
	}
}

func TestCalendarVersionsREST(t *testing.T) {
	s := setup(t)

	// A year without data is refused, never guessed.
	code, body := s.do("GET", "/v1/calendar/2028", &office, nil)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["message"], "no data for year 2028")
	code, body = s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2027-12-28", "working_days": 5})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "CALENDAR_NO_DATA", errorInfo(body)["reason"])
	resp, body := s.askIn("", "POST", "/v1/calendar:deadline", s.authorization(office), map[string]any{"from": "2027-12-28", "working_days": 5})
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%v", body)
	require.Equal(t, "日历中没有 2028 年的数据：请先载入国务院关于 2028 年部分节假日安排的通知", body["message"], "in Chinese, by default")

	// Malformed notices and requests name the field and change nothing.
	bad := []struct {
		name  string
		path  string
		body  map[string]any
		field string
	}{
		{"make-up day on a weekday", "/v1/calendar/2028", func() map[string]any {
			n := notice2028("bad-1", "2028-01-03")
			n["makeup_days"] = []map[string]any{{"date": "2028-10-09", "name": "National Day"}}
			return n
		}(), "makeup_days[0].date"},
		{"holiday outside the year", "/v1/calendar/2028", notice2028("bad-2", "2029-01-02"), "holidays[0].end"},
		{"no document number", "/v1/calendar/2028", func() map[string]any {
			n := notice2028("bad-3", "2028-01-03")
			delete(n, "doc_number")
			return n
		}(), "doc_number"},
	}
	for _, tt := range bad {
		code, body := s.do("PUT", tt.path, &office, tt.body)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tt.name, body)
		require.Contains(t, fieldViolations(body), tt.field, tt.name)
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"count below 1", map[string]any{"from": "2026-09-30", "working_days": -1}, "working_days"},
		{"more than 12 months", map[string]any{"from": "2026-01-31", "months": 13}, "months"},
		{"both", map[string]any{"from": "2026-01-31", "months": 1, "working_days": 1}, "working_days"},
		{"bad date", map[string]any{"from": "2026-02-30", "months": 1}, "from"},
	} {
		code, body := s.do("POST", "/v1/calendar:deadline", &office, tt.body)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tt.name, body)
		require.Contains(t, fieldViolations(body), tt.field, tt.name)
	}
	code, body = s.do("GET", "/v1/calendar/versions", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body["versions"])

	// The office loads 2028: a new version, used by the next computation.
	code, v1 := s.do("PUT", "/v1/calendar/2028", &office, notice2028("load-1", "2028-01-03"))
	require.Equal(t, http.StatusOK, code, "%v", v1)
	require.Equal(t, "calendar version "+v1["id"].(string), v1["label"])
	code, d := s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2027-12-28", "working_days": 5})
	require.Equal(t, http.StatusOK, code, "%v", d)
	// 12-29, 12-30, 12-31 (Fri), then 2028-01-01..01-03 New Year, 01-04, 01-05.
	require.Equal(t, "2028-01-05", d["due"])
	require.Contains(t, d["explanation"].([]any)[0], "calendar version "+v1["id"].(string))
	require.Equal(t, []any{
		map[string]any{"id": "0", "year": float64(2027), "label": "built-in 2027"},
		map[string]any{"id": v1["id"], "year": float64(2028), "label": "calendar version " + v1["id"].(string)},
	}, versionsOf(d), "a built-in version is id 0 with its year; a loaded one has its ledger id")

	// The holidays keep their Chinese names, given or known (元旦 and 国庆节
	// for the English names of the built-in notices), and explanations in
	// Chinese, the default, say them and the version in Chinese.
	code, year := s.do("GET", "/v1/calendar/2028", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", year)
	var zhNames []any
	for _, h := range year["holidays"].([]any) {
		zhNames = append(zhNames, h.(map[string]any)["name_zh"])
	}
	require.Equal(t, []any{"元旦", "国庆节"}, zhNames)
	resp, zh := s.askIn("", "POST", "/v1/calendar:deadline", s.authorization(office),
		map[string]any{"from": "2028-09-28", "working_days": 3})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zh)
	require.Contains(t, fmt.Sprint(zh["explanation"]), "国庆节放假", "%v", zh)
	require.Contains(t, fmt.Sprint(zh["explanation"]), "日历版本 "+v1["id"].(string))
	require.NotContains(t, fmt.Sprint(zh), "National Day", "the rule, the days passed over and the make-up days too")
	require.NotContains(t, fmt.Sprint(zh), "working days after")
	require.Equal(t, "2028-09-28 之后 3 个工作日", zh["rule"])
	require.Equal(t, []any{map[string]any{"start": "2028-09-30", "end": "2028-09-30", "reason": "周末"},
		map[string]any{"start": "2028-10-01", "end": "2028-10-07", "reason": "国庆节"}}, zh["skipped"])
	require.Equal(t, []any{map[string]any{"date": "2028-10-08", "name": "国庆节"}}, zh["makeup_days"])
	require.Equal(t, "日历版本 "+v1["id"].(string), zh["versions"].([]any)[0].(map[string]any)["label"])

	// An amended notice is a second version; the first is still listed.
	code, v2 := s.do("PUT", "/v1/calendar/2028", &office, notice2028("load-2", "2028-01-04"))
	require.Equal(t, http.StatusOK, code, "%v", v2)
	require.NotEqual(t, v1["id"], v2["id"])
	code, d = s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2027-12-28", "working_days": 5})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "2028-01-06", d["due"], "the amended New Year holiday moves the deadline")
	code, body = s.do("GET", "/v1/calendar/versions", &office, nil)
	require.Equal(t, http.StatusOK, code)
	versions := body["versions"].([]any)
	require.Len(t, versions, 2)
	require.Equal(t, v2["id"], versions[0].(map[string]any)["id"], "newest first")
	require.Equal(t, v1["id"], versions[1].(map[string]any)["id"])
	code, year = s.do("GET", "/v1/calendar/2028", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, v2["id"], year["version"].(map[string]any)["id"])

	// Repeating a load returns the first answer and adds no version; the same
	// request_id with another notice is a conflict.
	code, again := s.do("PUT", "/v1/calendar/2028", &office, notice2028("load-2", "2028-01-04"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, v2["id"], again["id"])
	code, _ = s.do("PUT", "/v1/calendar/2028", &office, notice2028("load-2", "2028-01-05"))
	require.Equal(t, http.StatusConflict, code)
	code, body = s.do("GET", "/v1/calendar/versions", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, body["versions"], 2)

	// Only the office loads notices.
	code, _ = s.do("PUT", "/v1/calendar/2028", &unit, notice2028("load-3", "2028-01-04"))
	require.Equal(t, http.StatusForbidden, code)

	// A notice whose New Year holiday begins in the December before its
	// year (as the 2019 notice's did) is loaded as issued, and decides that
	// day: Friday 2027-12-31 is no longer counted.
	fromDecember := notice2028("load-4", "2028-01-04")
	fromDecember["holidays"].([]map[string]any)[0]["start"] = "2027-12-31"
	code, v4 := s.do("PUT", "/v1/calendar/2028", &office, fromDecember)
	require.Equal(t, http.StatusOK, code, "%v", v4)
	code, d = s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2027-12-28", "working_days": 5})
	require.Equal(t, http.StatusOK, code, "%v", d)
	// 12-29, 12-30, then 2027-12-31..2028-01-04 New Year, 01-05, 01-06, 01-07.
	require.Equal(t, "2028-01-07", d["due"])
	require.Contains(t, fmt.Sprint(d["skipped"]), "2027-12-31")
	require.Equal(t, []any{
		map[string]any{"id": "0", "year": float64(2027), "label": "built-in 2027"},
		map[string]any{"id": v4["id"], "year": float64(2028), "label": "calendar version " + v4["id"].(string)},
	}, versionsOf(d))
	tooEarly := notice2028("load-5", "2028-01-04")
	tooEarly["holidays"].([]map[string]any)[0]["start"] = "2027-11-30"
	code, body = s.do("PUT", "/v1/calendar/2028", &office, tooEarly)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "holidays[0].start")
}

// versionsOf keeps the id, year and label of a deadline's calendar versions.
func versionsOf(deadline map[string]any) []any {
	var out []any
	for _, v := range deadline["versions"].([]any) {
		m := v.(map[string]any)
		out = append(out, map[string]any{"id": m["id"], "year": m["year"], "label": m["label"]})
	}
	return out
}

// TestCalendarLoadNamesTheVersionItReplaces: two clerks read the same
// version of a year and each sends a whole notice; with expected_version
// the second is refused (409) and changes nothing, where it silently
// undid the first's notice and re-dated every open deadline by its own.
func TestCalendarLoadNamesTheVersionItReplaces(t *testing.T) {
	s := setup(t)
	load := func(requestID, newYearEnd string, expected any) (int, map[string]any) {
		b := notice2028(requestID, newYearEnd)
		if expected != nil {
			b["expected_version"] = expected
		}
		return s.do("PUT", "/v1/calendar/2028", &office, b)
	}
	code, v1 := load("first", "2028-01-03", 0)
	require.Equal(t, http.StatusOK, code, "%v", v1)
	code, body := load("stale", "2028-01-04", 0)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["message"], "the calendar of 2028 is at version "+v1["id"].(string)+", not 0")
	require.Equal(t, "VERSION_CHANGED", errorInfo(body)["reason"], "a reason a client can act on: %v", body)
	code, again := load("first", "2028-01-03", 0)
	require.Equal(t, http.StatusOK, code, "a retry answers as the first time: %v", again)
	require.Equal(t, v1["id"], again["id"])
	code, v2 := load("amended", "2028-01-04", v1["id"])
	require.Equal(t, http.StatusOK, code, "%v", v2)
	code, year := s.do("GET", "/v1/calendar/2028", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, v2["id"], year["version"].(map[string]any)["id"])
	code, _ = load("unversioned", "2028-01-05", nil)
	require.Equal(t, http.StatusOK, code, "without expected_version a load replaces whatever is in force, as before")
}
