package problemlist_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/problemlist"
)

// amplifiedN is the template with n rows whose title is one 96 KiB shared string.
func amplifiedN(t *testing.T, n int) ([]byte, string) {
	f := template(t)
	long := strings.Repeat("隐", 32767)
	for r := 2; r <= n+1; r++ {
		fill(t, f, r, map[string]string{"问题标题": long})
	}
	return workbook(t, f), long
}

// renamed returns the workbook with part old stored under the zip name new.
func renamed(t *testing.T, xlsx []byte, old, new string) []byte {
	return withEntries(t, xlsx, old, [2]string{new, string(partOf(t, xlsx, old))})
}

// refusedThoughExcelizeReadsIt asserts that excelize reads the 96 KiB text
// into all 200 rows (19 MiB) and that ReadWorkbook at a 16 MiB limit
// refuses the workbook.
func refusedThoughExcelizeReadsIt(t *testing.T, data []byte, long string) {
	t.Helper()
	read, err := problemlist.ReadWorkbook(bytes.NewReader(data), problemlist.Limits{MaxUnzipBytes: 1 << 30})
	require.NoError(t, err)
	require.Len(t, read.Drafts, 200)
	require.Equal(t, long, read.Drafts[199].Title, "excelize reads the long text in every row")
	refused(t, data, problemlist.Limits{MaxUnzipBytes: 16 << 20}, "has cells whose text comes to more than 16777216 bytes")
}

// TestSharedTextCountsWhatExcelizeMayRead: the workbook of
// TestSharedStringsAreNotMultiplied, written in ways excelize reads alike,
// is refused as the plain one is. Each got past a check that read the
// workbook on its own as it thought excelize did (a review's cases: part
// names in another case or with backslashes, an index that is no integer,
// a <v> or a cell nested deeper, nesting past encoding/xml's unmarshal
// depth, a <si> nested in another element, a target with a backslash dot).
func TestSharedTextCountsWhatExcelizeMayRead(t *testing.T) {
	data, long := amplifiedN(t, 200)
	refused(t, data, problemlist.Limits{MaxUnzipBytes: 16 << 20}, "has cells whose text comes to more than 16777216 bytes")
	sheet := string(partOf(t, data, "xl/worksheets/sheet1.xml"))
	sst := string(partOf(t, data, "xl/sharedStrings.xml"))
	sheetAs := func(s string) []byte { return withContent(t, data, "xl/worksheets/sheet1.xml", []byte(s)) }
	// The long text is the last shared string, after the headers'.
	si := regexp.MustCompile(`<si>.*?</si>`).FindAllString(sst, -1)
	longIndex := strconv.Itoa(len(si) - 1)
	cell := regexp.MustCompile(`<c r="(J[0-9]+)" t="s"><v>` + longIndex + `</v></c>`)
	require.Len(t, cell.FindAllString(sheet, -1), 200)

	t.Run("shared strings part named in another case", func(t *testing.T) {
		refusedThoughExcelizeReadsIt(t, renamed(t, data, "xl/sharedStrings.xml", "xl/SharedStrings.xml"), long)
	})
	t.Run("shared strings part named with backslashes", func(t *testing.T) {
		refusedThoughExcelizeReadsIt(t, renamed(t, data, "xl/sharedStrings.xml", `xl\sharedStrings.xml`), long)
	})
	t.Run("worksheet part named with backslashes", func(t *testing.T) {
		refusedThoughExcelizeReadsIt(t, renamed(t, data, "xl/worksheets/sheet1.xml", `xl\worksheets\sheet1.xml`), long)
	})
	t.Run("index that is no integer reads string 0", func(t *testing.T) {
		// The long string first; the header's indices one on; the long cells' <v>x</v>.
		last := len(si) - 1
		newSST := strings.Replace(sst, strings.Join(si, ""), si[last]+strings.Join(si[:last], ""), 1)
		hdr := regexp.MustCompile(`(<c r="[A-Z]+1" s="[0-9]+" t="s"><v>)([0-9]+)(</v>)`)
		s := hdr.ReplaceAllStringFunc(sheet, func(m string) string {
			p := hdr.FindStringSubmatch(m)
			i, _ := strconv.Atoi(p[2])
			return p[1] + strconv.Itoa(i+1) + p[3]
		})
		s = cell.ReplaceAllString(s, `<c r="$1" t="s"><v>x</v></c>`)
		refusedThoughExcelizeReadsIt(t, withContent(t, sheetAs(s), "xl/sharedStrings.xml", []byte(newSST)), long)
	})
	t.Run("v inside another element of the cell", func(t *testing.T) {
		refusedThoughExcelizeReadsIt(t, sheetAs(cell.ReplaceAllString(sheet, `<c r="$1" t="s"><x><v>`+longIndex+`</v></x></c>`)), long)
	})
	t.Run("cell nested in a cell", func(t *testing.T) {
		refusedThoughExcelizeReadsIt(t, sheetAs(cell.ReplaceAllString(sheet, `<c><c></c><c r="$1" t="s"><v>`+longIndex+`</v></c></c>`)), long)
	})
	t.Run("a cell deeper than encoding/xml unmarshals is refused for its depth", func(t *testing.T) {
		// It stopped an earlier check; now what nests deeper than any
		// spreadsheet program writes is refused, at any size (TestDeepNestingIsRefused).
		deep := strings.Repeat("<x>", 10001) + "<c/>" + strings.Repeat("</x>", 10001)
		refused(t, sheetAs(strings.Replace(sheet, "<sheetData>", deep+"<sheetData>", 1)), problemlist.Limits{MaxUnzipBytes: 1 << 30},
			"nests its XML more than 256 elements deep")
	})
	t.Run("si nested in another element is indexed by the check, not by excelize", func(t *testing.T) {
		s := strings.Replace(sst, "<si>", "<x><si><t>a</t></si></x><si>", 1)
		refusedThoughExcelizeReadsIt(t, withContent(t, data, "xl/sharedStrings.xml", []byte(s)), long)
	})
	t.Run("worksheet part not named .xml", func(t *testing.T) {
		rels := string(partOf(t, data, "xl/_rels/workbook.xml.rels"))
		rels = strings.Replace(rels, `Target="worksheets/sheet1.xml"`, `Target="worksheets/sheet1.dat"`, 1)
		d := withContent(t, data, "xl/_rels/workbook.xml.rels", []byte(rels))
		refusedThoughExcelizeReadsIt(t, renamed(t, d, "xl/worksheets/sheet1.xml", "xl/worksheets/sheet1.dat"), long)
	})
	t.Run("worksheet target with a backslash dot", func(t *testing.T) {
		rels := string(partOf(t, data, "xl/_rels/workbook.xml.rels"))
		rels = strings.Replace(rels, `Target="worksheets/sheet1.xml"`, `Target="worksheets/.\sheet1.xml"`, 1)
		d := withContent(t, data, "xl/_rels/workbook.xml.rels", []byte(rels))
		refusedThoughExcelizeReadsIt(t, renamed(t, d, "xl/worksheets/sheet1.xml", "xl/worksheets/./sheet1.xml"), long)
	})
}

// TestSharedTextCountsEveryEntryOfAName: two zip entries of one worksheet,
// the first small (excelize keeps it in memory and reads it), the last
// larger than UnzipXMLSizeLimit (a temporary file it does not read): both
// are counted.
func TestSharedTextCountsEveryEntryOfAName(t *testing.T) {
	data, long := amplifiedN(t, 400)
	limits := problemlist.Limits{MaxUnzipBytes: 32 << 20}
	refused(t, data, limits, "has cells whose text comes to more than 33554432 bytes")
	benign := string(partOf(t, workbook(t, template(t)), "xl/worksheets/sheet1.xml"))
	benign = strings.Replace(benign, "</worksheet>", strings.Repeat(" ", 17<<20)+"</worksheet>", 1)
	d := withEntries(t, data, "", [2]string{"xl/worksheets/sheet1.xml", benign})
	read, err := problemlist.ReadWorkbook(bytes.NewReader(d), problemlist.Limits{MaxUnzipBytes: 1 << 30})
	require.NoError(t, err)
	require.Len(t, read.Drafts, 400)
	require.Equal(t, long, read.Drafts[399].Title, "excelize reads the long text in every row")
	refused(t, d, limits, "has cells whose text comes to more than 33554432 bytes")
}

// TestCellsAreReadRaw: a cell's text is read as stored, not formatted: a
// number format of 100 @ repeated a 96 KiB text a hundred times in the
// cell as it was read (ten such cells: 94 MiB from a 0.5 MB upload).
func TestCellsAreReadRaw(t *testing.T) {
	f := template(t)
	long := strings.Repeat("隐", 32767)
	code := strings.Repeat("@", 100)
	style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	require.NoError(t, err)
	title := columnOf(t, f, "问题标题")
	for r := 2; r <= 11; r++ {
		fill(t, f, r, map[string]string{"问题标题": long})
		require.NoError(t, f.SetCellStyle(problemlist.SheetFindings, title+strconv.Itoa(r), title+strconv.Itoa(r), style))
	}
	read, err := problemlist.ReadWorkbook(bytes.NewReader(workbook(t, f)), problemlist.Limits{})
	require.NoError(t, err)
	for _, d := range read.Drafts {
		require.Equal(t, long, d.Title, "the text once, as stored")
	}
}

// TestSharedTextCountsTheStrictRewrite: excelize rewrites a strict
// workbook's namespace URIs in the whole shared strings part, text
// included, before reading it, so a text of such URIs grows by about a
// fifth as it is read: 200 cells of an 80 KB <si> read as 18.8 MB past a
// 16 MiB limit. The check counts a third more than the bytes.
func TestSharedTextCountsTheStrictRewrite(t *testing.T) {
	data, _ := amplifiedN(t, 200)
	strict := "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"
	long := strings.Repeat(strict, 80000/len(strict))
	sst := string(partOf(t, data, "xl/sharedStrings.xml"))
	sst = strings.Replace(sst, "<si><t>"+strings.Repeat("隐", 32767)+"</t></si>", "<si><t>"+long+"</t></si>", 1)
	refused(t, withContent(t, data, "xl/sharedStrings.xml", []byte(sst)), problemlist.Limits{MaxUnzipBytes: 16 << 20},
		"has cells whose text comes to more than 16777216 bytes")
}

// TestBackslashNamesAreRead: a workbook whose zip names use backslashes,
// which excelize reads, is read (a check that looked parts up by their exact
// names refused it).
func TestBackslashNamesAreRead(t *testing.T) {
	f := template(t)
	fill(t, f, 2, map[string]string{"问题标题": "消防通道堵塞"})
	data := renamed(t, workbook(t, f), "_rels/.rels", `_rels\.rels`)
	sheet, err := problemlist.ReadWorkbook(bytes.NewReader(data), problemlist.Limits{})
	require.NoError(t, err)
	require.Equal(t, "消防通道堵塞", sheet.Drafts[0].Title)
}

// TestSharedTextCountsCellsWrittenOtherwise: the amplified workbook with its
// cells written in other ways excelize reads alike is refused as the plain
// one is: a character reference or CDATA in a cell's <v>, spaces around =,
// a '>' in an attribute, the type as a character reference, a tag longer
// than a buffer, a prefixed t before the real one, an index after a buffer
// of spaces, a part besides the shared strings with more <si>. Each got past
// the first check (a scanner of its own), 200 copies of 96 KiB read past a
// 16 MiB limit.
func TestSharedTextCountsCellsWrittenOtherwise(t *testing.T) {
	amplified, long := amplifiedN(t, 200)
	sheet := string(partOf(t, amplified, "xl/worksheets/sheet1.xml"))
	sst := partOf(t, amplified, "xl/sharedStrings.xml")
	v := regexp.MustCompile(`<v>([0-9]+)</v>`)
	sheetAs := func(s string) []byte { return withContent(t, amplified, "xl/worksheets/sheet1.xml", []byte(s)) }
	for name, data := range map[string][]byte{
		"character reference in v": sheetAs(v.ReplaceAllString(sheet, `<v>&#32;$1</v>`)),
		"CDATA in v":               sheetAs(v.ReplaceAllString(sheet, `<v><![CDATA[$1]]></v>`)),
		"spaces around =":          sheetAs(strings.ReplaceAll(sheet, ` t="s"`, ` t = "s"`)),
		"> in an attribute":        sheetAs(strings.ReplaceAll(sheet, ` t="s"`, ` x=">" t="s"`)),
		"type as a reference":      sheetAs(strings.ReplaceAll(sheet, ` t="s"`, ` t="&#115;"`)),
		"a long tag":               sheetAs(strings.ReplaceAll(sheet, ` t="s"`, ` x="`+strings.Repeat("a", 600)+`" t="s"`)),
		"prefixed t first":         sheetAs(strings.ReplaceAll(sheet, ` t="s"`, ` xmlns:p="urn:p" p:t="n" t="s"`)),
		"index after spaces":       sheetAs(v.ReplaceAllString(sheet, `<v>`+strings.Repeat(" ", 66000)+`$1</v>`)),
		"a decoy part": withContent(t, amplified, "xl/decoy.xml",
			[]byte("<sst>"+strings.Repeat("<si/>", bytes.Count(sst, []byte("<si>"))+1)+"</sst>")),
	} {
		t.Run(name, func(t *testing.T) { refusedThoughExcelizeReadsIt(t, data, long) })
	}
}
