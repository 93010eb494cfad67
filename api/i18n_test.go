package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/i18n"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// han matches a Chinese character.
var han = regexp.MustCompile(`\p{Han}`)

// askIn sends a REST request with Accept-Language lang ("" sends none)
// and the Authorization header authorization ("" sends none), and decodes
// the answer. It uses a client of its own: http.DefaultClient asks for
// English (main_test.go).
func (s *stack) askIn(lang, method, path, authorization string, body any) (*http.Response, map[string]any) {
	s.t.Helper()
	data, err := json.Marshal(body)
	require.NoError(s.t, err)
	req, err := http.NewRequest(method, s.BaseURL+path, bytes.NewReader(data))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := (&http.Client{Transport: http.DefaultTransport}).Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	out := map[string]any{}
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp, out
}

// TestAnswersInChinese: the same bad request answers in Chinese by default
// (no Accept-Language, or zh-CN) and in English with Accept-Language: en,
// with the same code, reason and fields — through REST and through gRPC
// metadata.
func TestAnswersInChinese(t *testing.T) {
	s := setup(t)
	ask := func(lang, method, path string, body any) (int, map[string]any) {
		t.Helper()
		resp, out := s.askIn(lang, method, path, s.authorization(office), body)
		return resp.StatusCode, out
	}
	descriptions := func(body map[string]any) []string {
		var out []string
		details, _ := body["details"].([]any)
		for _, d := range details {
			dm, _ := d.(map[string]any)
			fvs, _ := dm["field_violations"].([]any)
			for _, fv := range fvs {
				m := fv.(map[string]any)
				out = append(out, fmt.Sprint(m["field"], ": ", m["description"]))
			}
		}
		return out
	}

	// A plan with nothing in it: every violation named, in each language.
	bad := map[string]any{"request_id": "i18n-bad", "inspection": map[string]any{"kind": "SPECIAL"}}
	enCode, en := ask("en", http.MethodPost, "/v1/inspections", bad)
	require.Equal(t, http.StatusBadRequest, enCode, "%v", en)
	enRules := descriptions(en)
	require.NotEmpty(t, enRules)
	for _, lang := range []string{"", "zh-CN", "zh-CN,zh;q=0.9,en;q=0.8"} {
		code, zh := ask(lang, http.MethodPost, "/v1/inspections", bad)
		require.Equal(t, enCode, code, "Accept-Language %q: %v", lang, zh)
		require.Equal(t, en["code"], zh["code"])
		zhRules := descriptions(zh)
		require.Equal(t, fieldViolations(en), fieldViolations(zh), "the same fields in every language")
		for i, rule := range zhRules {
			require.Regexp(t, han, rule, "Accept-Language %q: described in Chinese", lang)
			require.NotEqual(t, enRules[i], rule)
		}
		require.Regexp(t, han, zh["message"], "Accept-Language %q: the message is Chinese", lang)
	}
	for _, rule := range enRules {
		field, rule, _ := strings.Cut(rule, ": ")
		require.Regexp(t, `^[\x00-\x7f]*(\([^)]*\p{Han}[^)]*\)[\x00-\x7f]*)*$`, rule, "%s is described in English (Chinese terms only in brackets)", field)
	}
	require.Contains(t, en["message"], "must")

	// A refused stage: the same 409 and reason, explained in each language.
	code, created := ask("en", http.MethodPost, "/v1/inspections", procedureBody("i18n-plan", validTeam()))
	require.Equal(t, http.StatusOK, code, "%v", created)
	notify := map[string]any{"request_id": "i18n-notify", "notified_on": today().String()}
	path := "/v1/inspections/" + created["id"].(string) + ":notify"
	enCode, en = ask("en", http.MethodPost, path, notify)
	zhCode, zh := ask("", http.MethodPost, path, notify)
	require.Equal(t, http.StatusConflict, enCode, "%v", en)
	require.Equal(t, enCode, zhCode, "%v", zh)
	require.Equal(t, "TEAM_NOT_APPROVED", errorInfo(en)["reason"])
	require.Equal(t, errorInfo(en)["reason"], errorInfo(zh)["reason"])
	require.Equal(t, "the committee approves the team line-up before the advance notice (approveTeam)", en["message"])
	require.Equal(t, "发出巡查预告前，须由省安委会批准巡查组组成（approveTeam）", zh["message"])

	// A change to an inspection that has ended names its kind and stage in
	// Chinese ("inspection … 已是 CANCELLED").
	cancelPath := "/v1/inspections/" + created["id"].(string) + ":cancel"
	code, _ = ask("", http.MethodPost, cancelPath, map[string]any{"request_id": "i18n-cancel", "reason": "计划调整"})
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		code, zh = ask("", http.MethodPost, cancelPath, map[string]any{"request_id": "i18n-cancel-again", "reason": "再次取消"})
		return code == http.StatusConflict && strings.Contains(fmt.Sprint(zh["message"]), "不能再变更")
	}, 10*time.Second, 100*time.Millisecond, "refused once the workflow has ended")
	require.Equal(t, fmt.Sprintf("巡查 %q 已是“已取消”：不能再变更", created["id"]), zh["message"])

	// A deadline's explanation: Chinese by default, English on request.
	body := map[string]any{"from": "2026-09-30", "working_days": 5}
	code, zhDeadline := ask("", http.MethodPost, "/v1/calendar:deadline", body)
	require.Equal(t, http.StatusOK, code, "%v", zhDeadline)
	require.Equal(t, "2026-10-13 截止：2026-09-30 之后第 5 个工作日", zhDeadline["explanation"].([]any)[0])
	require.Contains(t, zhDeadline["explanation"], "10-01 至 10-07 国庆节放假")
	code, enDeadline := ask("en", http.MethodPost, "/v1/calendar:deadline", body)
	require.Equal(t, http.StatusOK, code, "%v", enDeadline)
	require.Contains(t, enDeadline["explanation"].([]any)[0], "due 2026-10-13: 5 working days after 2026-09-30")
	require.Equal(t, zhDeadline["due"], enDeadline["due"])

	// Not found: the object's kind named in Chinese, not in English in a
	// Chinese sentence ("未找到 inspection").
	for path, want := range map[string]string{
		"/v1/inspections/ins-nope": `未找到巡查 "ins-nope"`,
		"/v1/lineups/nope":         `未找到巡查组名单 "nope"`,
		"/v1/experts/nope":         `未找到专家 "nope"`,
		"/v1/interviews/nope":      `未找到约谈 "nope"`,
	} {
		code, zh := ask("", http.MethodGet, path, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: %v", path, zh)
		require.Equal(t, want, zh["message"], path)
	}

	// gRPC: the accept-language metadata.
	client := xunchav1.NewInspectionServiceClient(s.Conn)
	grpcRules := func(lang string) (codes.Code, []string) {
		ctx := metadata.AppendToOutgoingContext(s.ctx(office), "accept-language", lang)
		_, err := client.CreateInspection(ctx, &xunchav1.CreateInspectionRequest{RequestId: "i18n-grpc",
			Inspection: &xunchav1.Inspection{Kind: xunchav1.Inspection_SPECIAL}})
		st := status.Convert(err)
		var out []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					out = append(out, v.GetField()+": "+v.GetDescription())
				}
			}
		}
		return st.Code(), out
	}
	enGRPC, enGRPCRules := grpcRules("en")
	zhGRPC, zhGRPCRules := grpcRules("zh-CN")
	require.Equal(t, codes.InvalidArgument, enGRPC)
	require.Equal(t, enGRPC, zhGRPC)
	require.Equal(t, enRules, enGRPCRules, "gRPC and REST describe alike")
	require.Len(t, zhGRPCRules, len(enGRPCRules))
	for _, rule := range zhGRPCRules {
		require.Regexp(t, han, rule)
	}

	// The JSON parser's and the boundary's rules, computed apart from the
	// handlers, are in the catalogue too: a number where a string belongs,
	// an unknown enum value, a control character in a title.
	parsed := map[string]any{"request_id": 7, "inspection": map[string]any{"kind": "SPECIALLY"}}
	enCode, en = ask("en", http.MethodPost, "/v1/inspections", parsed)
	zhCode, zh = ask("", http.MethodPost, "/v1/inspections", parsed)
	require.Equal(t, http.StatusBadRequest, enCode, "%v", en)
	require.Equal(t, enCode, zhCode, "%v", zh)
	require.Equal(t, fieldViolations(en), fieldViolations(zh))
	require.Contains(t, descriptions(en), "request_id: must be a string")
	require.Contains(t, descriptions(zh), "request_id: 必须是字符串")
	require.Contains(t, descriptions(zh), `inspection.kind: 未知取值 "SPECIALLY"：必须是以下之一：COMPREHENSIVE（综合巡查）、SPECIAL（专项巡查）、FOLLOW_UP（巡查“回头看”）`)
	_, boundary := ask("", http.MethodPost, "/v1/inspections", map[string]any{"request_id": "i18n-control\u0007", "inspection": map[string]any{}})
	require.Contains(t, descriptions(boundary), "request_id: 不得包含控制字符（第 13 个字符为 U+0007）", "%v", boundary)

	// A body that is not JSON: 415, explained in the caller's language.
	req, err := http.NewRequest(http.MethodPost, s.BaseURL+"/v1/inspections", strings.NewReader("x"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", s.authorization(office))
	resp, err := (&http.Client{Transport: http.DefaultTransport}).Do(req) // not DefaultClient: it asks for English
	require.NoError(t, err)
	defer resp.Body.Close()
	mediaType := map[string]any{}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&mediaType))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Equal(t, []string{"Content-Type: 必须是 application/json（可带 charset=utf-8），而不是 text/plain"}, descriptions(mediaType))
}

// TestRefusalsAtTheDoorInChinese: the answers given before any handler
// runs — no or a bad token (401), a role the table does not allow (403), a
// path nothing serves (404), a method the path does not take (405, with
// Allow; the gateway alone answered 501), a request_id reused (409) — are
// in Chinese by default and in English with Accept-Language: en.
func TestRefusalsAtTheDoorInChinese(t *testing.T) {
	s := setup(t)
	ask := s.askIn
	plan := inspectionBody("door-1")
	_, first := ask("", http.MethodPost, "/v1/inspections", s.authorization(office), plan)
	require.NotEmpty(t, first["id"], "%v", first)
	reused := inspectionBody("door-1")
	spec(reused)["round"] = "另一轮"
	for _, tc := range []struct {
		name, method, path, authorization string
		body                              any
		status                            int
		en                                string
	}{
		{"no token", http.MethodGet, "/v1/inspections", "", nil, http.StatusUnauthorized, "no bearer token"},
		{"not a JWT", http.MethodGet, "/v1/inspections", "Bearer not-a-jwt", nil, http.StatusUnauthorized, "not a signed JWT"},
		{"role", http.MethodPost, "/v1/inspections", s.authorization(unit), plan, http.StatusForbidden, "may be called by office"},
		{"no such path", http.MethodGet, "/v1/nowhere", s.authorization(office), nil, http.StatusNotFound, "no API resource"},
		{"wrong method", http.MethodDelete, "/v1/inspections/" + first["id"].(string), s.authorization(office), nil, http.StatusMethodNotAllowed, "does not take DELETE; it takes GET"},
		{"key reused", http.MethodPost, "/v1/inspections", s.authorization(office), reused, http.StatusConflict, "was already used for a different request"},
	} {
		resp, en := ask("en", tc.method, tc.path, tc.authorization, tc.body)
		require.Equal(t, tc.status, resp.StatusCode, "%s: %v", tc.name, en)
		require.Contains(t, en["message"], tc.en, tc.name)
		for _, lang := range []string{"", "zh-CN"} {
			resp, zh := ask(lang, tc.method, tc.path, tc.authorization, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%s: %v", tc.name, zh)
			require.Regexp(t, han, zh["message"], "%s, Accept-Language %q: %v", tc.name, lang, zh)
			require.Equal(t, en["code"], zh["code"], tc.name)
			if tc.name == "role" {
				// Roles by their Chinese names: it read "可由 office 调用".
				require.NotContains(t, zh["message"], "office", "%v", zh)
				require.Contains(t, zh["message"], i18n.Role("office"))
				// It opens in Chinese, the method last in brackets: it
				// opened with "/xuncha.v1.InspectionService/…".
				require.Equal(t, "此操作可由省安委办调用，角色被巡查单位无权调用（POST /v1/inspections）", zh["message"], "named as a REST client calls it, not by its gRPC method")
			}
		}
		if tc.status == http.StatusMethodNotAllowed {
			require.Equal(t, "GET", resp.Header.Get("Allow"))
		}
		// A 401's challenge is RFC 6750's, in ASCII, whatever the language:
		// it was the refusal's message, in Chinese by default.
		if tc.status == http.StatusUnauthorized {
			want := `Bearer realm="xuncha"`
			if tc.authorization != "" {
				want += `, error="invalid_token"`
			}
			for _, lang := range []string{"", "en"} {
				resp, _ := ask(lang, tc.method, tc.path, tc.authorization, tc.body)
				require.Equal(t, want, resp.Header.Get("WWW-Authenticate"), tc.name)
			}
		}
	}
}
