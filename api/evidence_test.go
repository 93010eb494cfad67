package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/actor"
)

// uploadAs sends content declared as contentType through POST /v1/evidence
// and returns the answer. The query has working defaults (a PHOTO-like file
// name, a past capture time) that query's values replace.
func (s *stack) uploadAs(who *actor.Actor, kind, contentType string, content []byte, query url.Values) (int, map[string]any) {
	s.t.Helper()
	sum := sha256.Sum256(content)
	q := url.Values{
		"kind":        {kind},
		"sha256":      {hex.EncodeToString(sum[:])},
		"captured_at": {"2026-11-20T09:30:00+08:00"},
		"captured_by": {"张伟"},
		"file_name":   {"现场照片.jpg"},
	}
	for k, v := range query {
		q[k] = v
	}
	req, err := http.NewRequest("POST", s.BaseURL+"/v1/evidence?"+q.Encode(), bytes.NewReader(content))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", contentType)
	if who != nil {
		req.Header.Set("Authorization", s.authorization(*who))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	out := map[string]any{}
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// picture is a real image in format "png" or "jpeg" whose pixels derive
// from seed, so different seeds give different evidence.
func picture(t *testing.T, format, seed string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(seed))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, color.RGBA{R: sum[i%32], G: sum[(i+11)%32], B: sum[(i+23)%32], A: 255})
	}
	var b bytes.Buffer
	switch format {
	case "png":
		require.NoError(t, png.Encode(&b, img))
	case "jpeg":
		require.NoError(t, jpeg.Encode(&b, img, nil))
	default:
		t.Fatalf("unknown image format %q", format)
	}
	return b.Bytes()
}

// blobsNamed lists the files under root named sum (stored blobs) or
// .upload-* (uploads in progress or left behind).
func blobsNamed(t *testing.T, root, sum string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if match, _ := filepath.Match(".upload-*", d.Name()); d.Name() == sum || match {
			found = append(found, path)
		}
		return nil
	})
	require.NoError(t, err)
	return found
}

// TestEvidenceSafety uploads evidence whose declared type, content, kind or
// capture time is or is not acceptable, and checks what is stored and how
// it is served: a refusal names the field and stores nothing, in the ledger
// or on disk; accepted evidence comes back as a download that is never
// rendered on the API's origin.
func TestEvidenceSafety(t *testing.T) {
	s := setup(t)
	// setup's evidence store lives in a t.TempDir() of this test; its
	// directories share one parent.
	tempRoot := filepath.Dir(t.TempDir())

	const (
		html      = "<!DOCTYPE html><html><body><script>fetch('/v1/findings').then(r=>r.text()).then(alert)</script></body></html>"
		svgScript = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>`
	)
	pngPhoto, jpegPhoto := picture(t, "png", t.Name()), picture(t, "jpeg", t.Name())
	tomorrow := time.Now().Add(24 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name        string
		kind        string
		contentType string
		content     []byte
		query       url.Values
		// For a refusal: the field named, and part of its rule.
		field, rule string
		// For accepted evidence: the type stored and the one served.
		stored, served string
		disposition    string
	}{
		{name: "HTML as a photo", kind: "PHOTO", contentType: "text/html", content: []byte(html),
			field: "content_type", rule: "must not be active content for kind PHOTO"},
		{name: "HTML declared image/jpeg", kind: "PHOTO", contentType: "image/jpeg", content: []byte(html),
			field: "content_type", rule: "must match the content: the content is text/html"},
		{name: "HTML declared image/jpeg as a document", kind: "DOCUMENT", contentType: "image/jpeg", content: []byte(html),
			field: "content_type", rule: "not image/jpeg"},
		{name: "SVG with script as a photo", kind: "PHOTO", contentType: "image/svg+xml", content: []byte(svgScript),
			field: "content_type", rule: "must not be active content"},
		{name: "PNG declared image/jpeg", kind: "PHOTO", contentType: "image/jpeg", content: pngPhoto,
			field: "content_type", rule: "the content is image/png, not image/jpeg"},
		{name: "text as a photo", kind: "PHOTO", contentType: "text/plain", content: []byte("现场情况说明"),
			field: "content_type", rule: "must be an image type"},
		{name: "photo named .html", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"现场照片.html"}},
			field: "file_name", rule: "must not end in .html"},
		{name: "photo named .html. (a trailing dot)", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"photo.html."}},
			field: "file_name", rule: "must not end in a dot or a space"},
		{name: "photo named .svg with a trailing space", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"photo.svg "}},
			field: "file_name", rule: "must not end in a dot or a space"},
		{name: "photo named .bat", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"report.bat"}},
			field: "file_name", rule: "must not end in .bat"},
		{name: "file name shown reversed", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"现场照片\u202egnp.png"}},
			field: "file_name", rule: "must not contain bidirectional formatting characters (found U+202E at character 5)"},
		{name: "file name not UTF-8", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"file_name": {"a\xffb.png"}},
			field: "file_name", rule: "must be valid UTF-8"},
		{name: "captured_by not UTF-8", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"captured_by": {"\xfe\xff"}},
			field: "captured_by", rule: "must be valid UTF-8"},
		{name: "captured_by shown reversed", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"captured_by": {"王五\u202e"}},
			field: "captured_by", rule: "must not contain bidirectional formatting characters"},
		{name: "captured in year 1", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"captured_at": {"0001-01-01T00:00:00Z"}},
			field: "captured_at", rule: "must not be before 2000-01-01T00:00:00+08:00"},
		{name: "captured a second before 2000 in Asia/Shanghai", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"captured_at": {"1999-12-31T15:59:59Z"}},
			field: "captured_at", rule: "must not be before"},
		{name: "captured tomorrow", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query: url.Values{"captured_at": {tomorrow}},
			field: "captured_at", rule: "must not be in the future"},

		{name: "PNG photo", kind: "PHOTO", contentType: "image/png", content: pngPhoto,
			query:  url.Values{"file_name": {"现场照片.png"}, "captured_at": {"2000-01-01T00:00:00+08:00"}},
			stored: "image/png", served: "image/png",
			disposition: `attachment; filename="____.png"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png`},
		{name: "JPEG photo declared as image/jpg", kind: "PHOTO", contentType: "image/jpg", content: jpegPhoto,
			query:  url.Values{"file_name": {`a"b;c.jpg`}},
			stored: "image/jpeg", served: "image/jpeg",
			disposition: `attachment; filename="a_b;c.jpg"; filename*=UTF-8''a%22b%3Bc.jpg`},
		{name: "HTML document", kind: "DOCUMENT", contentType: "text/html; charset=utf-8", content: []byte(html),
			query:  url.Values{"file_name": {"report.html"}},
			stored: "text/html", served: "application/octet-stream",
			disposition: `attachment; filename="report.html"; filename*=UTF-8''report.html`},
		{name: "SVG document", kind: "DOCUMENT", contentType: "image/svg+xml", content: []byte(svgScript),
			query:  url.Values{"file_name": {""}},
			stored: "image/svg+xml", served: "application/octet-stream",
			disposition: `attachment; filename="{{id}}"; filename*=UTF-8''{{id}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sumBytes := sha256.Sum256(tt.content)
			sum := hex.EncodeToString(sumBytes[:])
			id := "ev-" + sum[:16]
			code, body := s.uploadAs(&member, tt.kind, tt.contentType, tt.content, tt.query)

			if tt.field != "" {
				require.Equal(t, http.StatusBadRequest, code, "%v", body)
				require.Equal(t, float64(3), body["code"], "the gateway's error shape: google.rpc.Status")
				require.Equal(t, []string{tt.field}, fieldViolations(body))
				require.Contains(t, violationRules(body)[0], tt.rule)
				// Nothing recorded, nothing on disk. (Accepted uploads of
				// the same content come after the refusals.)
				missing, err := s.Ledger.MissingEvidence(context.Background(), []string{id})
				require.NoError(t, err)
				require.Equal(t, []string{id}, missing, "no ledger row for a refused upload")
				require.Empty(t, blobsNamed(t, tempRoot, sum), "no blob for a refused upload")
				code, _ = s.do("GET", "/v1/evidence/"+id+"/content", &office, nil)
				require.Equal(t, http.StatusNotFound, code)
				return
			}

			require.Equal(t, http.StatusOK, code, "%v", body)
			require.Equal(t, id, body["id"])
			require.Equal(t, tt.stored, body["content_type"], "the checked type is stored")
			require.Len(t, blobsNamed(t, tempRoot, sum), 1, "the blob is on disk")
			code, meta := s.do("GET", "/v1/evidence/"+id, &office, nil)
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, tt.stored, meta["content_type"])

			resp, err := s.getAs(office, "/v1/evidence/"+id+"/content")
			require.NoError(t, err)
			served, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, tt.content, served)
			require.Equal(t, tt.served, resp.Header.Get("Content-Type"))
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			require.Equal(t, "sandbox; default-src 'none'", resp.Header.Get("Content-Security-Policy"))
			wantDisposition := bytes.ReplaceAll([]byte(tt.disposition), []byte("{{id}}"), []byte(id))
			require.Equal(t, string(wantDisposition), resp.Header.Get("Content-Disposition"))
		})
	}
}

// violationRules lists the BadRequest rules in a REST error body, in the
// order of fieldViolations.
func violationRules(body map[string]any) []string {
	var rules []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		for _, fv := range fvs {
			rule, _ := fv.(map[string]any)["description"].(string)
			rules = append(rules, rule)
		}
	}
	return rules
}

// TestLaterUploaderSeesOwnUpload: evidence is stored by its content, so a
// second upload of the same bytes is the same evidence. Its second
// uploader sees their own upload, not what the first said of it: here the
// name of the tip's reporter a team member recorded as who captured it,
// which a unit holding the same document learnt by uploading it.
func TestLaterUploaderSeesOwnUpload(t *testing.T) {
	s := setup(t)
	content := []byte("内部通知：夜间停用废气处理设施")
	code, first := s.uploadAs(&member, "DOCUMENT", "text/plain", content,
		url.Values{"captured_by": {"举报人王五"}, "file_name": {"王五提供的通知.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", first)
	id := first["id"].(string)

	code, second := s.uploadAs(&unit, "DOCUMENT", "text/plain", content,
		url.Values{"captured_by": {"李四"}, "file_name": {"通知.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", second)
	require.Equal(t, id, second["id"])
	require.Equal(t, "李四", second["captured_by"])
	require.Equal(t, "通知.txt", second["file_name"])
	require.Equal(t, unit.Name, second["uploaded_by"].(map[string]any)["name"])
	require.NotContains(t, fmt.Sprint(second), "王五")
	code, again := s.uploadAs(&unit, "DOCUMENT", "text/plain", content, url.Values{"captured_by": {"李四"}, "file_name": {"通知.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.NotContains(t, fmt.Sprint(again), "王五", "nor when it uploads it again")

	require.NotEqual(t, first["uploaded_at"], second["uploaded_at"], "nor when the first was uploaded")
	code, meta := s.do("GET", "/v1/evidence/"+id, &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", meta)
	require.NotContains(t, fmt.Sprint(meta), "王五")
	require.NotEqual(t, first["uploaded_at"], meta["uploaded_at"])
	// Later, it is shown its own upload as it was answered then: its file
	// name, capturer and capture time, and when it uploaded.
	for _, field := range []string{"file_name", "captured_by", "captured_at", "uploaded_at"} {
		require.Equal(t, second[field], meta[field], field)
	}
	require.Equal(t, unit.Name, meta["uploaded_by"].(map[string]any)["name"])
	resp, err := s.getAs(unit, "/v1/evidence/"+id+"/content")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, content, body, "the content it holds anyway")
	uploadedAt, err := time.Parse(time.RFC3339Nano, meta["uploaded_at"].(string))
	require.NoError(t, err)
	require.Equal(t, uploadedAt.UTC().Format(http.TimeFormat), resp.Header.Get("Last-Modified"), "its own upload's time")
	require.NotContains(t, resp.Header.Get("Content-Disposition"), url.PathEscape("王五"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), url.PathEscape("通知.txt"), "its own file name")

	// Who uploaded it first, and the province, see what was said of it.
	for _, who := range []actor.Actor{member, office} {
		code, meta = s.do("GET", "/v1/evidence/"+id, &who, nil)
		require.Equal(t, http.StatusOK, code, "%v", meta)
		require.Equal(t, "举报人王五", meta["captured_by"], who.Role)
	}
}

// TestLaterUploaderCannotNameWhatOthersNamed: a team holding the same bytes
// as evidence another team named in its finding (here the name of a tip's
// reporter recorded as who captured it) may not name it in a finding of
// its own: the finding would show it, and its unit, what the first
// uploader said of it. It was taken, and the first upload shown.
func TestLaterUploaderCannotNameWhatOthersNamed(t *testing.T) {
	s := setup(t)
	ours := s.createInspection() // the team lists member
	team := validTeam()
	team[2]["subject"] = "someone-else" // member is not on this one
	theirs := s.createInspectionOf("theirs", "430200", team)
	content := []byte("举报材料：夜间偷排的照片说明")
	code, first := s.uploadAs(&office, "DOCUMENT", "text/plain", content,
		url.Values{"captured_by": {"举报人王五"}, "file_name": {"王五提供的材料.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", first)
	id := first["id"].(string)
	code, body := s.do("POST", "/v1/inspections/"+theirs+"/findings", &office, findingBody(rid(t, "theirs"), "GENERAL", id))
	require.Equal(t, http.StatusOK, code, "%v", body)

	code, second := s.uploadAs(&member, "DOCUMENT", "text/plain", content, url.Values{"captured_by": {"张伟"}, "file_name": {"材料.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", second)
	require.Equal(t, id, second["id"], "the same bytes, the same evidence")
	code, body = s.do("POST", "/v1/inspections/"+ours+"/findings", &member, findingBody(rid(t, "ours"), "GENERAL", id))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"evidence_ids[0]"}, fieldViolations(body), "answered as evidence nobody uploaded")
	code, meta := s.do("GET", "/v1/evidence/"+id, &member, nil)
	require.Equal(t, http.StatusOK, code, "%v", meta)
	require.NotContains(t, fmt.Sprint(meta), "王五", "still its own upload")

	// Content nobody named yet it may name (two units' reports may cite
	// one template), but its finding shows it, and its unit, its own
	// upload, not what the first uploader said (they read the reporter's
	// name through it).
	unnamed := []byte("举报人提供的录音文字稿")
	code, firstUnnamed := s.uploadAs(&office, "DOCUMENT", "text/plain", unnamed, url.Values{"captured_by": {"举报人王五"}})
	require.Equal(t, http.StatusOK, code, "%v", firstUnnamed)
	code, secondUnnamed := s.uploadAs(&member, "DOCUMENT", "text/plain", unnamed, url.Values{"captured_by": {"张伟"}})
	require.Equal(t, http.StatusOK, code, "%v", secondUnnamed)
	unnamedID := firstUnnamed["id"].(string)
	require.Equal(t, unnamedID, secondUnnamed["id"])
	code, body = s.do("POST", "/v1/inspections/"+ours+"/findings", &member, findingBody(rid(t, "unnamed"), "GENERAL", unnamedID))
	require.Equal(t, http.StatusOK, code, "%v", body)
	for _, who := range []actor.Actor{member, unit} {
		code, meta = s.do("GET", "/v1/evidence/"+unnamedID, &who, nil)
		require.Equal(t, http.StatusOK, code, "%s: %v", who.Role, meta)
		require.NotContains(t, fmt.Sprint(meta), "王五", who.Role)
	}
	code, meta = s.do("GET", "/v1/evidence/"+unnamedID, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", meta)
	require.Equal(t, "举报人王五", meta["captured_by"], "the province sees the first upload")

	// Evidence nobody else named it names as before.
	_, fresh := s.uploadAs(&member, "DOCUMENT", "text/plain", []byte("现场检查记录：消防通道堵塞"), nil)
	code, body = s.do("POST", "/v1/inspections/"+ours+"/findings", &member, findingBody(rid(t, "fresh"), "GENERAL", fresh["id"].(string)))
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// TestEvidenceIDClashRevealsNothing: evidence IDs are the first 16 hex
// digits of the content's SHA-256, and a unit sees IDs of evidence it may
// not read (in a sign-off, say). An upload declaring a SHA-256 that begins
// with such an ID is answered as one with an unused ID: the body does not
// match what it declares. Until 2026-12-01 it was answered 409, naming the
// hidden file's whole SHA-256, before the body was read.
func TestEvidenceIDClashRevealsNothing(t *testing.T) {
	s := setup(t)
	secret := "整改材料：举报人 13800000000 " + t.Name()
	ev := s.evidence(secret)
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(secret)))
	code, _ := s.do("GET", "/v1/evidence/"+ev, &zhuzhou, nil)
	require.Equal(t, http.StatusNotFound, code, "out of the unit's reach")

	answer := func(prefix string) (int, string) {
		declared := prefix + strings.Repeat("0", 64-len(prefix))
		code, body := s.uploadAs(&zhuzhou, "DOCUMENT", "text/plain", []byte("anything at all"),
			url.Values{"sha256": {declared}, "file_name": {"x.txt"}})
		return code, strings.ReplaceAll(fmt.Sprint(body["message"]), declared, "<declared>")
	}
	clashCode, clashMessage := answer(strings.TrimPrefix(ev, "ev-"))
	unusedCode, unusedMessage := answer("0123456789abcdef")
	require.Equal(t, http.StatusBadRequest, clashCode, clashMessage)
	require.Equal(t, unusedCode, clashCode)
	require.Equal(t, unusedMessage, clashMessage, "the same answer as for an ID nobody holds")
	require.NotContains(t, clashMessage, sum)
	require.NotContains(t, clashMessage, sum[16:], "nothing of the hidden content's digest")
}
