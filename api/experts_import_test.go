package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// importExperts posts a workbook to POST /v1/experts:import as who, in
// lang (Accept-Language; "": http.DefaultClient's English), and decodes
// the JSON answer.
func (s *stack) importExperts(who actor.Actor, query, lang string, workbook []byte) (int, map[string]any) {
	s.t.Helper()
	path := s.BaseURL + "/v1/experts:import"
	if query != "" {
		path += "?" + query
	}
	req, err := http.NewRequest(http.MethodPost, path, bytes.NewReader(workbook))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	req.Header.Set("Authorization", s.authorization(who))
	client := http.DefaultClient
	if lang != "" {
		// A client of its own: http.DefaultClient asks for English (main_test.go).
		client = &http.Client{Transport: http.DefaultTransport}
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	out := map[string]any{}
	require.NoError(s.t, json.Unmarshal(body, &out), "%s", body)
	return resp.StatusCode, out
}

// expertsTemplate downloads the pool list's template as who.
func (s *stack) expertsTemplate(who actor.Actor) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/experts:template", nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", s.authorization(who))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp.StatusCode, body
}

// poolRow is one row of a pool list, by header.
func poolRow(name, rank, expertise, region string) map[string]string {
	return map[string]string{"姓名": name, "单位": "省应急管理厅", "单位代码": "hn-yjt", "职级": rank, "类别": "工作人员",
		"专长": expertise, "属地": region, "曾任职单位": "430300:2018-2024；430200:2010-", "登录标识": "expert-" + name}
}

// fillPool writes rows below the template's header, by header.
func fillPool(t *testing.T, f *excelize.File, rows []map[string]string) []byte {
	t.Helper()
	header, err := f.GetRows(problemlist.SheetExperts)
	require.NoError(t, err)
	for i, row := range rows {
		for j, h := range header[0] {
			cell, err := excelize.CoordinatesToCellName(j+1, i+2)
			require.NoError(t, err)
			require.NoError(t, f.SetCellStr(problemlist.SheetExperts, cell, row[h]))
		}
	}
	var buf bytes.Buffer
	_, err = f.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

func (s *stack) poolSize() int {
	s.t.Helper()
	code, body := s.do("GET", "/v1/experts?page_size=500", &office, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	list, _ := body["experts"].([]any)
	return len(list)
}

// TestImportExperts: the pool list's template (office only) reads back
// through the import; a list with bad cells is refused naming each cell,
// in Chinese by default and in English when asked, and adds nobody; with
// partial=true its valid rows are added; the same file again adds nobody
// twice (issue 15 item 1).
func TestImportExperts(t *testing.T) {
	s := setup(t)
	code, _ := s.expertsTemplate(member)
	require.Equal(t, http.StatusForbidden, code, "the office keeps the pool")
	code, tmpl := s.expertsTemplate(office)
	require.Equal(t, http.StatusOK, code)
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	require.NoError(t, err)
	header, err := f.GetRows(problemlist.SheetExperts)
	require.NoError(t, err)
	require.Equal(t, []string{"姓名", "单位", "单位代码", "职级", "类别", "专长", "属地", "曾任职单位", "登录标识"}, header[0])
	dvs, err := f.GetDataValidations(problemlist.SheetExperts)
	require.NoError(t, err)
	require.Len(t, dvs, 2, "drop-down lists on 职级 and 类别")

	rows := []map[string]string{
		poolRow("王强", "厅级", "三(一)1、三(一)2、危险化学品", "430100"),
		poolRow("赵敏", "正处级", "3；4", "430600"),
		poolRow("孙丽", "其他", "三(一)5", "430700"),
		poolRow("李娜", "科员", "三(一)11", "4301"),
	}
	rows[3]["曾任职单位"] = "430300"
	bad := fillPool(t, f, rows)
	code, body := s.importExperts(office, "", "zh-CN", bad)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	text := fmt.Sprint(body)
	require.Contains(t, text, "D5")
	require.Contains(t, text, "职级 必须是以下之一：厅级、一级巡视员、二级巡视员、正处级、副处级、其他", "in Chinese for a Chinese caller (the default)")
	require.Contains(t, text, "属地 必须是 6 位行政区划代码")
	require.Contains(t, text, "F5")
	require.Contains(t, text, "G5")
	require.Contains(t, text, "H5")
	require.Zero(t, s.poolSize(), "nothing recorded")
	code, body = s.importExperts(office, "", "en", bad)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fmt.Sprint(body), "职级 must be one of 厅级、一级巡视员、二级巡视员、正处级、副处级、其他")
	require.Contains(t, fmt.Sprint(body), "属地 must be a six-digit administrative division code")
	code, _ = s.importExperts(member, "", "", bad)
	require.Equal(t, http.StatusForbidden, code)

	code, report := s.importExperts(office, "partial=true", "en", bad)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.EqualValues(t, 3, report["recorded"])
	require.EqualValues(t, 1, report["skipped"])
	require.NotEmpty(t, report["problems"])
	require.Equal(t, 3, s.poolSize())

	// The bad row fixed, the whole file again: only it is added.
	rows[3] = poolRow("李娜", "副处级", "三(一)5、矿山", "430100")
	good := fillPool(t, f, rows)
	code, report = s.importExperts(office, "", "", good)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.EqualValues(t, 1, report["recorded"])
	require.EqualValues(t, 3, report["already_recorded"])
	code, report = s.importExperts(office, "", "", good)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.EqualValues(t, 0, report["recorded"], "the same file again adds nobody twice")
	require.EqualValues(t, 4, report["already_recorded"])
	require.Equal(t, 4, s.poolSize())

	first := report["experts"].([]any)[0].(map[string]any)
	code, x := s.do("GET", "/v1/experts/"+first["id"].(string), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", x)
	require.Equal(t, "王强", x["name"])
	require.Equal(t, "DEPARTMENT_LEVEL", x["rank"])
	require.Equal(t, "STAFF", x["kind"])
	require.Equal(t, []any{float64(1), float64(2)}, x["content_areas"])
	require.Equal(t, []any{"危险化学品"}, x["sectors"])
	require.Equal(t, "expert-王强", x["subject"])
	require.Equal(t, []any{
		map[string]any{"unit_code": "430300", "from_year": float64(2018), "to_year": float64(2024)},
		map[string]any{"unit_code": "430200", "from_year": float64(2010), "to_year": float64(0)},
	}, x["affiliations"])
}

// TestImportExpertsRefusesSharedSubjects: a 登录标识 that two rows give, or
// that links someone already in the pool, is refused with its cell before
// anyone is added: AddExpert refused the later row only after the rows
// above it had been added, and a file the template promises is imported
// whole or not at all was half imported.
func TestImportExpertsRefusesSharedSubjects(t *testing.T) {
	s := setup(t)
	code, tmpl := s.expertsTemplate(office)
	require.Equal(t, http.StatusOK, code)
	sheet := func(rows ...map[string]string) []byte {
		f, err := excelize.OpenReader(bytes.NewReader(tmpl))
		require.NoError(t, err)
		return fillPool(t, f, rows)
	}
	a := poolRow("甲", "厅级", "三(一)1", "430100")
	b := poolRow("乙", "正处级", "三(一)2", "430100")
	a["登录标识"], b["登录标识"] = "shared-subject", "shared-subject"
	code, body := s.importExperts(office, "", "en", sheet(a, b))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"I3"}, fieldViolations(body))
	require.Contains(t, violationRule(body, "I3"), "登录标识 is the sign-in of row 2 too")
	require.Zero(t, s.poolSize(), "nobody added")

	// 甲 alone is added, and again is no refusal; 乙 with 甲's sign-in is.
	code, body = s.importExperts(office, "", "en", sheet(a))
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.importExperts(office, "", "en", sheet(a))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.EqualValues(t, 1, body["already_recorded"])
	code, body = s.importExperts(office, "", "zh-CN", sheet(b))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"I2"}, fieldViolations(body))
	require.Contains(t, violationRule(body, "I2"), "登录标识 已是专家库中专家")
	require.Equal(t, 1, s.poolSize(), "乙 was not added")
}

// TestImportExpertsConcurrently: the same pool list uploaded twice at once
// adds each person once, and the two reports together count each row once
// as added: by two clerks, whose requests for a row share its key, the
// second waits for the first's row (it stopped part-way with 409 naming the
// key); by one clerk, whose second request is a replay of the first
// (Idempotent-Replayed), it reports the row as added already (both
// reported every row as added).
func TestImportExpertsConcurrently(t *testing.T) {
	s := setup(t)
	office2 := actor.Actor{Name: "李明", Role: actor.RoleOffice, Organisation: office.Organisation}
	list := func(prefix string) []byte {
		code, tmpl := s.expertsTemplate(office)
		require.Equal(t, http.StatusOK, code)
		f, err := excelize.OpenReader(bytes.NewReader(tmpl))
		require.NoError(t, err)
		var rows []map[string]string
		for i := range 30 {
			rows = append(rows, poolRow(fmt.Sprintf("%s%02d", prefix, i), "正处级", "三(一)1", "430100"))
		}
		return fillPool(t, f, rows)
	}
	upload := func(who actor.Actor, workbook []byte) (int, map[string]any, error) {
		req, err := http.NewRequest(http.MethodPost, s.BaseURL+"/v1/experts:import", bytes.NewReader(workbook))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		req.Header.Set("Authorization", s.authorization(who))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out := map[string]any{}
		return resp.StatusCode, out, json.NewDecoder(resp.Body).Decode(&out)
	}
	for _, tt := range []struct {
		name, prefix string
		callers      [2]actor.Actor
	}{{"two clerks", "并发甲", [2]actor.Actor{office, office2}}, {"one clerk twice", "并发乙", [2]actor.Actor{office, office}}} {
		t.Run(tt.name, func(t *testing.T) {
			workbook := list(tt.prefix)
			before := s.poolSize()
			var wg sync.WaitGroup
			codes, reports, errs := make([]int, 2), make([]map[string]any, 2), make([]error, 2)
			for i, who := range tt.callers {
				wg.Go(func() { codes[i], reports[i], errs[i] = upload(who, workbook) })
			}
			wg.Wait()
			added, already := 0.0, 0.0
			for i := range 2 {
				require.NoError(t, errs[i])
				require.Equal(t, http.StatusOK, codes[i], "%v", reports[i])
				added += reports[i]["recorded"].(float64)
				already += reports[i]["already_recorded"].(float64)
			}
			require.Equal(t, 30.0, added, "each row counted as added once: %v", reports)
			require.Equal(t, 30.0, already)
			require.Equal(t, before+30, s.poolSize())
		})
	}
}

// TestReplayedOnlyWhenAnEarlierRequestAdded: AddExpert's answer says
// Idempotent-Replayed only when an earlier request of its request_id added
// the person. A first request that timed out (its key kept, nobody added:
// the person's add was held) and its retry, which adds them: the retry was
// told it changed nothing, as any request whose key was claimed before,
// and the pool import counted that person as added by nobody.
func TestReplayedOnlyWhenAnEarlierRequestAdded(t *testing.T) {
	s := setup(t)
	conn, err := pgx.Connect(t.Context(), s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	// Hold the person's add (ledger.Store.CreateExpert's lock on its ID).
	_, err = conn.Exec(t.Context(), `SELECT pg_advisory_lock(hashtext('xuncha.expert'), hashtext('id/p-replay'))`)
	require.NoError(t, err)
	req := &xunchav1.AddExpertRequest{RequestId: rid(t, "add"), ExpertId: "p-replay", Expert: &xunchav1.Expert{
		Subject: "expert-p-replay", Name: "专家甲", Organisation: "省应急管理厅", UnitCode: "hn-yjt",
		Rank: "OTHER", Kind: xunchav1.Expert_STAFF, ContentAreas: []int32{1, 5}, HomeRegion: "430100"}}
	pool := xunchav1.NewExpertPoolServiceClient(s.Conn)
	short, cancel := context.WithTimeout(s.ctx(office), time.Second)
	_, err = pool.AddExpert(short, req)
	cancel()
	require.Error(t, err, "the first attempt runs out of time")
	code, _ := s.do("GET", "/v1/experts/p-replay", &office, nil)
	require.Equal(t, http.StatusNotFound, code, "and added nobody")
	_, err = conn.Exec(t.Context(), `SELECT pg_advisory_unlock(hashtext('xuncha.expert'), hashtext('id/p-replay'))`)
	require.NoError(t, err)

	var first, again metadata.MD
	_, err = pool.AddExpert(s.ctx(office), req, grpc.Header(&first))
	require.NoError(t, err)
	require.Empty(t, first.Get(api.ReplayedHeader), "the retry added the person")
	_, err = pool.AddExpert(s.ctx(office), req, grpc.Header(&again))
	require.NoError(t, err)
	require.Equal(t, []string{"true"}, again.Get(api.ReplayedHeader), "a later retry changes nothing")
}
