package evidence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
)

// Kinds of evidence.
const (
	KindDocument = "DOCUMENT"
	KindPhoto    = "PHOTO"
	KindAudio    = "AUDIO"
	KindVideo    = "VIDEO"
)

// FieldContentType is the name the API gives the declared media type (the
// request's Content-Type header) in its answers and errors.
const FieldContentType = "content_type"

// SniffLen is how many leading bytes of an upload CheckType looks at: more
// than the 512 of http.DetectContentType and the 1445 of the WHATWG MIME
// sniffing standard's resource header, so markup a browser would find is seen.
const SniffLen = 8 << 10

// EarliestCapture is the earliest captured_at accepted: the start of
// calendar.EarliestDate (2000-01-01 00:00 Asia/Shanghai), the first day of the
// date window every date of the API falls in. The latest is "now, give or take
// the capturing device's clock skew", stricter than the window's end.
func EarliestCapture() time.Time { return calendar.EarliestDate.Start() }

// octetStream is the type of bytes nobody interprets.
const octetStream = "application/octet-stream"

// kindRule says which media types one kind of evidence may hold.
type kindRule struct {
	kind string
	// families are type prefixes ("image/") or exact types ("application/ogg").
	families []string
	// holdsActive allows active content (IsActive), stored as an attachment.
	holdsActive bool
	// describe names the families in refusals.
	describe string
}

// kindRules is the one table of what each kind of evidence may hold. A photo
// is a raster image (never SVG: it is active); audio and video are what their
// names say (Ogg may hold either); a document is anything a case file may
// contain — PDF, office documents, text, scanned pages, archives, mail — and
// the only kind that may hold active content such as a saved web page.
var kindRules = []kindRule{
	{kind: KindDocument, families: []string{"application/", "text/", "image/", "message/"}, holdsActive: true,
		describe: "a document type (application/*, text/*, image/* or message/*; audio and video have their own kinds)"},
	{kind: KindPhoto, families: []string{"image/"}, describe: "an image type (image/*, e.g. image/jpeg, image/png, image/heic)"},
	{kind: KindAudio, families: []string{"audio/", "application/ogg"}, describe: "an audio type (audio/*, e.g. audio/mpeg, audio/mp4, audio/wav)"},
	{kind: KindVideo, families: []string{"video/", "application/ogg"}, describe: "a video type (video/*, e.g. video/mp4, video/quicktime)"},
}

// Kinds returns the kinds of evidence, in the order of kindRules.
func Kinds() []string {
	kinds := make([]string, len(kindRules))
	for i, r := range kindRules {
		kinds[i] = r.kind
	}
	return kinds
}

func ruleOf(kind string) (kindRule, bool) {
	i := slices.IndexFunc(kindRules, func(r kindRule) bool { return r.kind == kind })
	if i < 0 {
		return kindRule{}, false
	}
	return kindRules[i], true
}

func (r kindRule) allows(t string) bool {
	return slices.ContainsFunc(r.families, func(f string) bool {
		return t == f || strings.HasSuffix(f, "/") && strings.HasPrefix(t, f)
	})
}

// aliases maps other names in use for a type to the one stored.
var aliases = map[string]string{
	"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
	"image/x-bmp": "image/bmp", "image/x-ms-bmp": "image/bmp", "image/vnd.microsoft.icon": "image/x-icon",
	"application/x-pdf": "application/pdf",
	"audio/mp3":         "audio/mpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
	"audio/x-aiff": "audio/aiff", "audio/x-m4a": "audio/mp4", "video/avi": "video/x-msvideo", "video/msvideo": "video/x-msvideo",
	"application/x-gzip": "application/gzip", "application/x-zip-compressed": "application/zip",
	"application/x-rar-compressed": "application/vnd.rar",
	"text/x-javascript":            "text/javascript", "application/x-javascript": "text/javascript",
	"application/javascript": "text/javascript", "application/ecmascript": "text/javascript", "text/ecmascript": "text/javascript",
}

// sharedSignatures lists, for a type recognised by its signature, the other
// types whose content starts the same way: a .docx is a zip archive, an .m4a
// an MP4 file.
var sharedSignatures = map[string][]string{
	"application/zip": {
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
		"application/vnd.oasis.opendocument.presentation", "application/epub+zip",
		"application/vnd.ms-xpsdocument", "application/oxps", "application/vnd.ofd",
	},
	"application/x-ole-storage": {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
		"application/vnd.ms-outlook", "application/vnd.visio"},
	"application/ogg": {"audio/ogg", "video/ogg", "audio/opus"},
	"video/mp4":       {"audio/mp4", "video/quicktime", "video/x-m4v", "video/3gpp", "audio/3gpp"},
	"video/3gpp":      {"audio/3gpp", "video/3gpp2", "audio/3gpp2", "video/mp4"},
	"video/webm":      {"audio/webm", "video/x-matroska", "audio/x-matroska"},
	"video/quicktime": {"video/mp4"},
	"video/x-m4v":     {"video/mp4"},
	"audio/mp4":       {"video/mp4"},
	"image/heic":      {"image/heif", "image/heic-sequence", "image/heif-sequence"},
	"image/heif":      {"image/heic", "image/heic-sequence", "image/heif-sequence"},
	"image/avif":      {"image/avif-sequence"},
}

// textTypes are types of text outside text/*; scripts and XML are text too
// (see textual).
var textTypes = []string{"application/json", "application/x-ndjson", "application/yaml", "application/x-yaml",
	"application/rtf", "application/sql", "application/x-sh", "message/rfc822"}

// activeTypes are active types the rules of IsActive do not catch.
var activeTypes = []string{"text/xsl", "application/x-shockwave-flash", "application/futuresplash",
	"text/x-component", "application/hta", "message/rfc822", "multipart/related", "application/x-mimearchive",
	"application/vnd.ms-htmlhelp"}

// scriptLanguages are subtypes' names of languages browsers run.
var scriptLanguages = []string{"javascript", "ecmascript", "jscript", "vbscript", "livescript"}

// IsActive reports whether a browser could run script in content of media
// type t (a type without parameters): HTML and XHTML, XML of any kind (SVG,
// XSLT, anything +xml: XML can carry XHTML script), JavaScript and other
// script languages, Flash, MHTML and saved mail, HTML components. PDF is
// not: a browser's PDF viewer does not give a document's scripts the page's
// origin, and PDF is the office's everyday document.
func IsActive(t string) bool {
	t = canonical(t)
	_, sub, _ := strings.Cut(t, "/")
	return sub == "xml" || strings.HasSuffix(sub, "+xml") || strings.Contains(sub, "html") ||
		slices.ContainsFunc(scriptLanguages, func(l string) bool { return strings.Contains(sub, l) }) ||
		slices.Contains(activeTypes, t)
}

// textual reports whether content of type t is text.
func textual(t string) bool {
	_, sub, _ := strings.Cut(t, "/")
	return strings.HasPrefix(t, "text/") || slices.Contains(textTypes, t) || strings.HasSuffix(sub, "+json") ||
		sub == "xml" || strings.HasSuffix(sub, "+xml") ||
		slices.ContainsFunc(scriptLanguages, func(l string) bool { return strings.Contains(sub, l) })
}

// canonical is the stored name of type t, lower-case and without parameters.
func canonical(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	if a, ok := aliases[t]; ok {
		return a
	}
	return t
}

// recognisable reports whether Sniff can recognise content of type t by its
// signature, so content that does not show it is not of type t.
func recognisable(t string) bool {
	for sniffed, shared := range sharedSignatures {
		if t == sniffed || slices.Contains(shared, t) {
			return true
		}
	}
	return slices.Contains(signatureTypes, t)
}

// names reports whether the declared type may name content sniffed as sniffed.
func names(declared, sniffed string) bool {
	return declared == sniffed || slices.Contains(sharedSignatures[sniffed], declared)
}

// CheckType decides the media type an upload of the given kind is stored
// under, from the declared Content-Type and the content's first bytes (at
// least SniffLen of them when there are that many). It returns the checked
// type, without parameters, or an *derrors.InvalidError naming
// FieldContentType (or "kind", "file") and the rule broken:
//
//   - the declared type must match the content: bytes that show a signature
//     (JPEG, PNG, PDF, zip, MP4, …) must be declared as that type or one
//     sharing its signature (a .docx is a zip); markup (HTML, SVG, XML) must
//     be declared as an active type; other text as a text type; bytes that
//     show nothing may not be declared as a type with a signature or as
//     text. An empty or application/octet-stream declaration takes the type
//     the content shows;
//   - active content (IsActive) is refused unless kind is DOCUMENT;
//   - the type must be one the kind may hold (kindRules).
func CheckType(kind, declared string, head []byte) (string, error) {
	rule, ok := ruleOf(kind)
	if !ok {
		return "", derrors.Invalid("kind", "must be one of %s", strings.Join(Kinds(), ", "))
	}
	if len(head) == 0 {
		return "", derrors.Invalid("file", "must not be empty")
	}
	t, err := checkDeclared(declared, Sniff(head))
	if err != nil {
		return "", err
	}
	if IsActive(t) && !rule.holdsActive {
		return "", derrors.Invalid(FieldContentType,
			"must not be active content for kind %s: a browser can run script in %s; only kind %s may hold it, as an attachment",
			kind, t, KindDocument)
	}
	if !rule.allows(t) {
		return "", derrors.Invalid(FieldContentType, "must be %s for kind %s, not %s", rule.describe, kind, t)
	}
	return t, nil
}

// checkDeclared returns the type content sniffed as sniffed is stored under
// when declared as declared, or why the declaration is refused.
func checkDeclared(declared, sniffed string) (string, error) {
	essence := ""
	if strings.TrimSpace(declared) != "" {
		t, _, err := mime.ParseMediaType(declared)
		// ParseMediaType takes a bare "text" too; a media type is type/subtype.
		if top, sub, _ := strings.Cut(t, "/"); err != nil || top == "" || sub == "" || len(declared) > 255 {
			return "", derrors.Invalid(FieldContentType, "must be a media type such as image/jpeg, at most 255 characters")
		}
		essence = canonical(t)
	}
	if essence == "" || essence == octetStream || essence == "binary/octet-stream" {
		return sniffed, nil
	}
	mismatch := func() error {
		return derrors.Invalid(FieldContentType, "must match the content: the content is %s, not %s", describeSniffed(sniffed), essence)
	}
	switch {
	case sniffed == octetStream:
		// Nothing recognised: a type that has a signature is not what was sent.
		if recognisable(essence) || textual(essence) {
			return "", mismatch()
		}
	case isMarkup(sniffed):
		if !IsActive(essence) {
			return "", mismatch()
		}
	case sniffed == "text/plain":
		if !textual(essence) {
			return "", mismatch()
		}
	default: // a signature type
		if !names(essence, sniffed) {
			return "", mismatch()
		}
	}
	return essence, nil
}

// describeSniffed names what Sniff found, for refusals.
func describeSniffed(sniffed string) string {
	switch {
	case sniffed == octetStream:
		return "binary data of no recognised type"
	case isMarkup(sniffed):
		return sniffed + " (markup a browser runs script in)"
	case sniffed == "text/plain":
		return "plain text"
	}
	return sniffed
}

// isMarkup reports whether Sniff's answer t is markup found in the content.
func isMarkup(t string) bool { return slices.Contains(markupTypes, t) }

// markupTypes are what Sniff answers for markup.
var markupTypes = []string{"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml"}

// signatureTypes are the types Sniff recognises by a signature besides those
// in sharedSignatures: http.DetectContentType's and its own.
var signatureTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/x-icon", "image/tiff",
	"application/pdf", "application/postscript", "application/gzip", "application/vnd.rar",
	"application/x-7z-compressed", "application/wasm",
	"audio/mpeg", "audio/wav", "audio/aiff", "audio/midi", "video/x-msvideo",
	"font/ttf", "font/otf", "font/collection", "font/woff", "font/woff2", "application/vnd.ms-fontobject",
}

// Sniff returns the media type the content's first bytes show: a type
// recognised by its signature ("image/png", "application/zip"); for text,
// the markup it holds anywhere in head ("text/html", "image/svg+xml",
// "application/xhtml+xml", "text/xml") or else "text/plain"; for other bytes
// "application/octet-stream". It extends http.DetectContentType, which sees
// HTML only at the very start, with TIFF, OLE (legacy Office), 7-Zip and the
// ISO media brands (HEIC, AVIF, QuickTime, 3GP, M4A).
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if t := sniffSignature(head); t != "" {
		return t
	}
	t, _, err := mime.ParseMediaType(http.DetectContentType(head))
	if err != nil {
		return octetStream
	}
	t = canonical(t)
	switch t {
	case "text/plain", "text/html", "text/xml":
		// DetectContentType sees markup only at the start; an HTML start it
		// knows (<p, <b, <!--) stays text/html when no telling tag is found.
		if m := sniffMarkup(head); m != "" {
			return m
		}
	}
	return t
}

// signatures are the ones http.DetectContentType lacks.
var signatures = []struct {
	prefix string
	t      string
}{
	{"II*\x00", "image/tiff"},
	{"MM\x00*", "image/tiff"},
	{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "application/x-ole-storage"},
	{"7z\xBC\xAF\x27\x1C", "application/x-7z-compressed"},
}

// isoBrands maps ISO base media file brands (the "ftyp" box) to types.
var isoBrands = map[string]string{
	"heic": "image/heic", "heix": "image/heic", "hevc": "image/heic", "hevx": "image/heic",
	"heim": "image/heic", "heis": "image/heic", "mif1": "image/heif", "msf1": "image/heif",
	"avif": "image/avif", "avis": "image/avif",
	"qt  ": "video/quicktime", "M4A ": "audio/mp4", "M4B ": "audio/mp4", "M4V ": "video/x-m4v",
	"3gp4": "video/3gpp", "3gp5": "video/3gpp", "3gp6": "video/3gpp", "3gp7": "video/3gpp", "3g2a": "video/3gpp2",
}

func sniffSignature(head []byte) string {
	for _, s := range signatures {
		if bytes.HasPrefix(head, []byte(s.prefix)) {
			return s.t
		}
	}
	// An ISO media file starts with its "ftyp" box: size, "ftyp", major brand.
	if len(head) >= 12 && string(head[4:8]) == "ftyp" && binary.BigEndian.Uint32(head[:4]) >= 12 {
		if t, ok := isoBrands[string(head[8:12])]; ok {
			return t
		}
	}
	return ""
}

// telling are markup starts that make text a document a browser renders
// and may run script in; a tag must be followed by a tag-ending byte. Tags
// that plain text may well quote (<img, <a, <p) are left out: text that
// holds them is still served as text, with nosniff, as a download.
var telling = []struct {
	start string
	t     string
}{
	{"http://www.w3.org/1999/xhtml", "application/xhtml+xml"},
	{"http://www.w3.org/2000/svg", "image/svg+xml"},
	{"<svg", "image/svg+xml"},
	{"<!doctype html", "text/html"}, {"<html", "text/html"}, {"<head", "text/html"}, {"<body", "text/html"},
	{"<script", "text/html"}, {"<iframe", "text/html"}, {"<frame", "text/html"}, {"<object", "text/html"},
	{"<embed", "text/html"}, {"<frameset", "text/html"},
	{"<?xml", "text/xml"},
}

// sniffMarkup finds telling markup anywhere in text, also in UTF-16 (its
// zero bytes are dropped) and in any letter case, or returns "".
func sniffMarkup(head []byte) string {
	text := bytes.ToLower(bytes.ReplaceAll(head, []byte{0}, nil))
	for _, m := range telling {
		for rest := text; ; {
			i := bytes.Index(rest, []byte(m.start))
			if i < 0 {
				break
			}
			rest = rest[i+len(m.start):]
			if strings.HasPrefix(m.start, "http") || len(rest) == 0 || bytes.IndexByte([]byte(" \t\n\r\f/>\""), rest[0]) >= 0 {
				return m.t
			}
		}
	}
	return ""
}

// ServedType is the Content-Type stored evidence of type stored is served
// with: the stored type, unless it is active, missing or not a media type —
// then application/octet-stream. An active type is not served as itself even
// with Content-Disposition: attachment, because a client that ignores the
// disposition (an embedded viewer, a proxy, a tool that re-serves the bytes)
// would render it; application/octet-stream has no renderer anywhere.
func ServedType(stored string) string {
	t, _, err := mime.ParseMediaType(stored)
	if err != nil || IsActive(t) {
		return octetStream
	}
	return canonical(t)
}

// ContentDisposition is the Content-Disposition evidence is served with: an
// attachment (saved, never shown inline) named fileName (fallback if empty),
// with an ASCII-only filename for old clients and the exact name, UTF-8 and
// percent-encoded, in filename* (RFC 6266, RFC 8187):
//
//	attachment; filename="____.jpg"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg
func ContentDisposition(fileName, fallback string) string {
	if fileName == "" {
		fileName = fallback
	}
	var ascii, encoded strings.Builder
	for _, r := range fileName {
		if r < 0x20 || r >= 0x7F || r == '"' || r == '\\' || r == '/' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(fileName) {
		if attrChar(b) {
			encoded.WriteByte(b)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", b)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + encoded.String()
}

// attrChar reports whether b may stand unencoded in an RFC 8187 value.
func attrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// activeExtensions are file name endings that make a saved file open as
// active content, in a browser or the desktop, whatever its bytes.
var activeExtensions = []string{".html", ".htm", ".xhtml", ".xht", ".shtml", ".svg", ".svgz", ".xml", ".xsl",
	".xslt", ".js", ".mjs", ".hta", ".htc", ".mht", ".mhtml", ".swf", ".vbs", ".vbe", ".wsf", ".wsh", ".jse",
	".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".ps1", ".psm1", ".lnk", ".url", ".scf", ".msi", ".msp",
	".jar", ".reg", ".cpl", ".chm", ".desktop"}

// CheckFileName refuses (an *derrors.InvalidError naming "file_name") a file
// name ending in an active type's extension (.html, .svg, .js, …) when the
// checked type t is not active: evidence is served as a download under that
// name, and a PNG saved as "photo.html" opens as HTML — a polyglot file's
// script would run. Active content itself (kind DOCUMENT) may keep its name.
func CheckFileName(fileName, t string) error {
	lower := strings.ToLower(fileName)
	i := slices.IndexFunc(activeExtensions, func(ext string) bool { return strings.HasSuffix(lower, ext) })
	if i < 0 || IsActive(t) {
		return nil
	}
	return derrors.Invalid("file_name", "must not end in %s, which opens as active content, when the content is %s",
		activeExtensions[i], t)
}
