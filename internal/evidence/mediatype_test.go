package evidence_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/evidence"
)

// picture is a small real image encoded by the standard library.
func picture(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	switch format {
	case "png":
		require.NoError(t, png.Encode(&b, img))
	case "jpeg":
		require.NoError(t, jpeg.Encode(&b, img, nil))
	default:
		t.Fatalf("unknown format %q", format)
	}
	return b.Bytes()
}

// zipped is a real zip archive holding one file, as a .docx is.
func zipped(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create("word/document.xml")
	require.NoError(t, err)
	_, err = f.Write([]byte("<w:document/>"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// isoMedia is the start of an ISO base media file with the given major brand.
func isoMedia(brand string) []byte {
	box := make([]byte, 24)
	binary.BigEndian.PutUint32(box, 24)
	copy(box[4:], "ftyp"+brand+"\x00\x00\x00\x00"+brand+"isom")
	return append(box, 0, 0, 0, 8, 'f', 'r', 'e', 'e')
}

func utf16le(s string) []byte {
	var b []byte
	b = append(b, 0xFF, 0xFE)
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

const (
	html      = "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
	lateHTML  = "现场记录\n\n一、检查情况\n\n<SCRIPT src=//evil.example/x.js></SCRIPT>"
	svgScript = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	svgPlain  = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`
	note      = "二号厂房消防通道被货物堵塞，现场已拍照。"
)

func TestCheckType(t *testing.T) {
	t.Parallel()
	pngBytes, jpegBytes, zipBytes := picture(t, "png"), picture(t, "jpeg"), zipped(t)
	docx := "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	tests := []struct {
		name     string
		kind     string
		declared string
		content  []byte
		want     string // the checked type; "" means refused
		field    string
		rule     string // part of the refusal's rule
	}{
		{"PNG photo", "PHOTO", "image/png", pngBytes, "image/png", "", ""},
		{"JPEG photo", "PHOTO", "image/jpeg", jpegBytes, "image/jpeg", "", ""},
		{"JPEG photo under an alias, with parameters", "PHOTO", "IMAGE/JPG; q=1", jpegBytes, "image/jpeg", "", ""},
		{"photo without a declared type", "PHOTO", "", pngBytes, "image/png", "", ""},
		{"photo declared octet-stream", "PHOTO", "application/octet-stream", jpegBytes, "image/jpeg", "", ""},
		{"HEIC photo", "PHOTO", "image/heic", isoMedia("heic"), "image/heic", "", ""},
		{"PNG declared JPEG", "PHOTO", "image/jpeg", pngBytes, "", "content_type", "the content is image/png, not image/jpeg"},
		{"HTML declared JPEG", "PHOTO", "image/jpeg", []byte(html), "", "content_type", "the content is text/html"},
		{"HTML declared JPEG as a document", "DOCUMENT", "image/jpeg", []byte(html), "", "content_type", "not image/jpeg"},
		{"HTML declared HTML as a photo", "PHOTO", "text/html", []byte(html), "", "content_type", "must not be active content for kind PHOTO"},
		{"HTML without a declared type as a photo", "PHOTO", "", []byte(html), "", "content_type", "must not be active content"},
		{"HTML document", "DOCUMENT", "text/html; charset=utf-8", []byte(html), "text/html", "", ""},
		{"HTML after text declared as plain text", "DOCUMENT", "text/plain", []byte(lateHTML), "", "content_type", "the content is text/html"},
		{"HTML in UTF-16 declared as plain text", "DOCUMENT", "text/plain", utf16le(html), "", "content_type", "the content is text/html"},
		{"SVG with script as a photo", "PHOTO", "image/svg+xml", []byte(svgScript), "", "content_type", "must not be active content"},
		{"SVG with script declared PNG", "PHOTO", "image/png", []byte(svgScript), "", "content_type", "the content is image/svg+xml"},
		{"SVG without script as a photo: SVG is active", "PHOTO", "image/svg+xml", []byte(svgPlain), "", "content_type", "must not be active content"},
		{"SVG document", "DOCUMENT", "image/svg+xml", []byte(svgScript), "image/svg+xml", "", ""},
		{"JavaScript as a photo", "PHOTO", "application/javascript", []byte("alert(document.cookie)"), "", "content_type", "must not be active content"},
		{"JavaScript document", "DOCUMENT", "application/javascript", []byte("alert(document.cookie)"), "text/javascript", "", ""},
		{"XML declared as plain text", "DOCUMENT", "text/plain", []byte(`<?xml version="1.0"?><report/>`), "", "content_type", "the content is text/xml"},
		{"text document", "DOCUMENT", "text/plain", []byte(note), "text/plain", "", ""},
		{"CSV document", "DOCUMENT", "text/csv", []byte("单位,问题\n长沙,消防通道堵塞\n"), "text/csv", "", ""},
		{"text declared as a photo", "PHOTO", "image/jpeg", []byte(note), "", "content_type", "the content is plain text, not image/jpeg"},
		{"text as a photo", "PHOTO", "text/plain", []byte(note), "", "content_type", "must be an image type"},
		{"PDF document", "DOCUMENT", "application/pdf", []byte("%PDF-1.7\n1 0 obj\n"), "application/pdf", "", ""},
		{"PDF declared as a Word file", "DOCUMENT", "application/msword", []byte("%PDF-1.7\n"), "", "content_type", "the content is application/pdf"},
		{"Word document in a zip", "DOCUMENT", docx, zipBytes, docx, "", ""},
		{"zip archive", "DOCUMENT", "application/x-zip-compressed", zipBytes, "application/zip", "", ""},
		{"legacy Word document", "DOCUMENT", "application/msword", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), "application/msword", "", ""},
		{"unknown binary declared as PDF", "DOCUMENT", "application/pdf", []byte("\x00\x01\x02binary"), "", "content_type", "binary data of no recognised type"},
		{"unknown binary of an unknown type", "DOCUMENT", "application/vnd.example", []byte("\x00\x01\x02binary"), "application/vnd.example", "", ""},
		{"photo as a document: a scanned page", "DOCUMENT", "image/png", pngBytes, "image/png", "", ""},
		{"audio as a document", "DOCUMENT", "audio/mpeg", []byte("ID3\x04\x00\x00\x00\x00"), "", "content_type", "must be a document type"},
		{"MP3 recording", "AUDIO", "audio/mpeg", []byte("ID3\x04\x00\x00\x00\x00"), "audio/mpeg", "", ""},
		{"M4A recording", "AUDIO", "audio/x-m4a", isoMedia("M4A "), "audio/mp4", "", ""},
		{"Ogg recording", "AUDIO", "audio/ogg", []byte("OggS\x00\x02"), "audio/ogg", "", ""},
		{"photo as a recording", "AUDIO", "image/png", pngBytes, "", "content_type", "must be an audio type"},
		{"MP4 video", "VIDEO", "video/mp4", isoMedia("mp42"), "video/mp4", "", ""},
		{"QuickTime video", "VIDEO", "video/quicktime", isoMedia("qt  "), "video/quicktime", "", ""},
		{"MP4 declared as a photo", "PHOTO", "image/jpeg", isoMedia("mp42"), "", "content_type", "the content is video/mp4"},
		{"unknown kind", "SMELL", "text/plain", []byte(note), "", "kind", "must be one of DOCUMENT, PHOTO, AUDIO, VIDEO"},
		{"not a media type", "DOCUMENT", "text", []byte(note), "", "content_type", "must be a media type"},
		{"no content", "DOCUMENT", "text/plain", nil, "", "file", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := evidence.CheckType(tt.kind, tt.declared, tt.content)
			if tt.want != "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
				return
			}
			var invalid *derrors.InvalidError
			require.ErrorAs(t, err, &invalid)
			require.Len(t, invalid.Violations, 1)
			require.Equal(t, tt.field, invalid.Violations[0].Field)
			require.Contains(t, invalid.Violations[0].Rule, tt.rule)
			require.Empty(t, got)
		})
	}
}

// TestCheckTypeLooksBeyondDetectContentType: markup after the first 512
// bytes that net/http looks at is still found within SniffLen.
func TestCheckTypeLooksBeyondDetectContentType(t *testing.T) {
	t.Parallel()
	content := []byte(strings.Repeat("记录 ", 200) + "<script>alert(1)</script>")
	require.Greater(t, strings.Index(string(content), "<script>"), 512)
	require.Less(t, len(content), evidence.SniffLen)
	_, err := evidence.CheckType("DOCUMENT", "text/plain", content)
	require.ErrorContains(t, err, "the content is text/html")
}

func TestIsActive(t *testing.T) {
	t.Parallel()
	for _, active := range []string{"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
		"application/rss+xml", "text/javascript", "application/javascript", "application/x-javascript",
		"application/ecmascript", "text/vbscript", "application/x-shockwave-flash", "message/rfc822", "TEXT/HTML"} {
		require.True(t, evidence.IsActive(active), active)
	}
	for _, inert := range []string{"image/png", "image/jpeg", "application/pdf", "text/plain", "text/csv",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/postscript",
		"application/zip", "video/mp4", "application/json"} {
		require.False(t, evidence.IsActive(inert), inert)
	}
}

func TestServedType(t *testing.T) {
	t.Parallel()
	tests := []struct{ stored, served string }{
		{"image/jpeg", "image/jpeg"},
		{"application/pdf", "application/pdf"},
		{"text/plain", "text/plain"},
		// Active content, also as stored before types were checked.
		{"text/html", "application/octet-stream"},
		{"text/html; charset=utf-8", "application/octet-stream"},
		{"image/svg+xml", "application/octet-stream"},
		{"text/javascript", "application/octet-stream"},
		{"", "application/octet-stream"},
		{"not a type", "application/octet-stream"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.served, evidence.ServedType(tt.stored), tt.stored)
	}
}

func TestContentDisposition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fileName, fallback string
		ascii                    string // the filename parameter
	}{
		{"Chinese", "现场照片.jpg", "ev-1", "____.jpg"},
		{"ASCII", "report 2026.pdf", "ev-1", "report 2026.pdf"},
		{"quotes, separators and header injection", "a\"b\\c/d;\r\nSet-Cookie: x=1.html", "ev-1", "a_b_c_d;__Set-Cookie: x=1.html"},
		{"percent and apostrophe", "100% 'done'.txt", "ev-1", "100% 'done'.txt"},
		{"no name", "", "ev-0123456789abcdef", "ev-0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := evidence.ContentDisposition(tt.fileName, tt.fallback)
			require.NotContains(t, got, "\r")
			require.NotContains(t, got, "\n")
			disposition, params, err := mime.ParseMediaType(got)
			require.NoError(t, err, got)
			require.Equal(t, "attachment", disposition)
			// mime decodes filename* (RFC 2231) into "filename" when both are given.
			want := tt.fileName
			if want == "" {
				want = tt.fallback
			}
			require.Equal(t, want, params["filename"], got)
			fallbackStart := strings.Index(got, `filename="`) + len(`filename="`)
			require.Equal(t, tt.ascii, got[fallbackStart:fallbackStart+len(tt.ascii)], got)
			encoded := got[strings.Index(got, "filename*=UTF-8''")+len("filename*=UTF-8''"):]
			decoded, err := url.PathUnescape(encoded)
			require.NoError(t, err)
			require.Equal(t, want, decoded)
			require.NotContains(t, encoded, " ")
			require.NotContains(t, encoded, ";")
		})
	}
}

func TestCheckFileName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fileName, checkedType string
		refusedExt            string // "" means accepted
	}{
		{"现场照片.jpg", "image/jpeg", ""},
		{"报告.pdf", "application/pdf", ""},
		{"", "image/png", ""},
		{"html", "text/plain", ""},
		{"photo.html", "image/png", ".html"},
		{"photo.PNG.HTM", "image/png", ".htm"},
		{"notes.svg", "text/plain", ".svg"},
		{"script.js", "text/plain", ".js"},
		{"archive.mht", "application/octet-stream", ".mht"},
		{"report.html", "text/html", ""},
		{"drawing.svg", "image/svg+xml", ""},
	}
	for _, tt := range tests {
		err := evidence.CheckFileName(tt.fileName, tt.checkedType)
		if tt.refusedExt == "" {
			require.NoError(t, err, tt.fileName)
			continue
		}
		var invalid *derrors.InvalidError
		require.ErrorAs(t, err, &invalid, tt.fileName)
		require.Equal(t, "file_name", invalid.Violations[0].Field)
		require.Contains(t, invalid.Violations[0].Rule, "must not end in "+tt.refusedExt+",")
	}
}

func TestEarliestCapture(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	require.True(t, evidence.EarliestCapture().Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, shanghai)))
	require.Equal(t, "1999-12-31T16:00:00Z", evidence.EarliestCapture().UTC().Format(time.RFC3339))
}
