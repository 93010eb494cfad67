package problemlist_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/problemlist"
)

// template returns the problem list's template, opened.
func template(t *testing.T) *excelize.File { return openTemplate(t, problemlist.WriteTemplate) }

// openTemplate returns the template write writes, opened.
func openTemplate(t *testing.T, write func(io.Writer) error) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// columnOf is the column letter of header in row 1 of the list.
func columnOf(t *testing.T, f *excelize.File, header string) string {
	t.Helper()
	rows, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	for i, h := range rows[0] {
		if h == header {
			name, err := excelize.ColumnNumberToName(i + 1)
			require.NoError(t, err)
			return name
		}
	}
	t.Fatalf("no column %s", header)
	return ""
}

// fill writes row n of the list: header → text.
func fill(t *testing.T, f *excelize.File, n int, values map[string]string) {
	t.Helper()
	for header, v := range values {
		require.NoError(t, f.SetCellStr(problemlist.SheetFindings, columnOf(t, f, header)+strconv.Itoa(n), v))
	}
}

func workbook(t *testing.T, f *excelize.File) []byte {
	t.Helper()
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	return buf.Bytes()
}

func good() map[string]string {
	return map[string]string{
		"问题类别": "事故隐患", "严重程度": "重大", "重要问题": "是", "巡查内容": "三(一)3",
		"问题标题": "危化品仓库未设置可燃气体报警装置", "问题描述": "检查发现仓库未按规定设置报警装置。",
		"整改要求": "立即停用，限期安装。", "证据编号": "ev-0123456789abcdef、ev-fedcba9876543210",
	}
}

// TestTemplate: the export's columns, the import's highlighted, and a
// drop-down list on every enumerated column.
func TestTemplate(t *testing.T) {
	t.Parallel()
	f := template(t)
	require.Equal(t, []string{problemlist.SheetFindings, problemlist.SheetInstructions}, f.GetSheetList())
	rows, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	require.Len(t, rows, 1, "the header only")
	require.Equal(t, "序号", rows[0][0])
	require.Equal(t, "证据编号", rows[0][len(rows[0])-1])
	dvs, err := f.GetDataValidations(problemlist.SheetFindings)
	require.NoError(t, err)
	lists := map[string]string{}
	for _, dv := range dvs {
		require.Equal(t, "list", dv.Type)
		lists[strings.SplitN(dv.Sqref, ":", 2)[0]] = dv.Formula1
	}
	require.Equal(t, `"事故隐患,责任落实不力,违法违规违纪问题线索,系统性安全风险"`, lists[columnOf(t, f, "问题类别")+"2"])
	require.Equal(t, `"一般,重大"`, lists[columnOf(t, f, "严重程度")+"2"])
	require.Equal(t, `"是,否"`, lists[columnOf(t, f, "重要问题")+"2"])
	require.Contains(t, lists[columnOf(t, f, "巡查内容")+"2"], "三(一)10")
	require.Len(t, lists, 4)
	panes, err := f.GetPanes(problemlist.SheetFindings)
	require.NoError(t, err)
	require.True(t, panes.Freeze)
}

// TestReadWorkbook: a filled template reads back as drafts; each bad cell
// is named once, by its name and header; a repeated row is refused; the
// identity of a row depends on its content and the inspection, not its
// place.
func TestReadWorkbook(t *testing.T) {
	t.Parallel()
	f := template(t)
	fill(t, f, 2, good())
	second := good()
	second["问题类别"], second["严重程度"], second["重要问题"], second["巡查内容"] = "RESPONSIBILITY", "", "", "7"
	second["问题标题"] = "安全生产责任制未落实"
	fill(t, f, 3, second)
	bad := good()
	bad["严重程度"], bad["巡查内容"], bad["重要问题"] = "很严重", "三(一)11", "可能"
	bad["问题标题"] = "另一个问题"
	fill(t, f, 5, bad) // row 4 left empty: skipped
	fill(t, f, 6, good())

	s, err := problemlist.ReadWorkbook(bytes.NewReader(workbook(t, f)), problemlist.Limits{})
	require.NoError(t, err)
	require.Len(t, s.Drafts, 4)
	d := s.Drafts[0]
	require.Equal(t, problemlist.Draft{Row: 2, Kind: "HAZARD", Severity: "MAJOR", Important: true, ContentArea: 3,
		Title: "危化品仓库未设置可燃气体报警装置", Description: "检查发现仓库未按规定设置报警装置。", RectificationOpinion: "立即停用，限期安装。",
		EvidenceIDs: []string{"ev-0123456789abcdef", "ev-fedcba9876543210"}}, d)
	require.Equal(t, "RESPONSIBILITY", s.Drafts[1].Kind)
	require.Equal(t, 7, s.Drafts[1].ContentArea)
	require.False(t, s.Drafts[1].Important)

	s.CheckRepeats(func(d problemlist.Draft) string { return d.Identity("ins-1") }, "title")
	var cells []string
	for _, p := range s.Problems {
		cells = append(cells, p.Error())
	}
	sev, area, imp, title := columnOf(t, f, "严重程度"), columnOf(t, f, "巡查内容"), columnOf(t, f, "重要问题"), columnOf(t, f, "问题标题")
	require.Equal(t, []string{
		sev + "5: 严重程度 must be one of 一般、重大 (or be empty when the finding is no 事故隐患)",
		imp + "5: 重要问题 must be 是 or 否 (empty is 否)",
		area + "5: 巡查内容 must be the charter's content item 三(一)1 to 三(一)10",
		title + "6: 问题标题 repeats row 2 word for word: one entry per row",
	}, cells)
	require.True(t, s.Invalid(5))
	require.False(t, s.Invalid(3))
	var invalid *derrors.InvalidError
	require.True(t, errors.As(s.Err(), &invalid))
	require.Equal(t, sev+"5", invalid.Violations[0].Field)
	require.Equal(t, "严重程度 must be one of 一般、重大 (or be empty when the finding is no 事故隐患)", invalid.Violations[0].Rule)
	var zh []string
	for _, v := range invalid.Violations {
		zh = append(zh, v.Field+": "+v.RuleZH)
	}
	require.Equal(t, []string{
		sev + "5: 严重程度 必须是以下之一：一般、重大（不是事故隐患的问题留空）",
		imp + "5: 重要问题 必须是“是”或“否”（留空即“否”）",
		area + "5: 巡查内容 必须是巡查内容 三(一)1 至 三(一)10 之一",
		title + "6: 问题标题 与第 2 行完全相同：每行只能填写一条",
	}, zh, "every cell's rule in Chinese too")

	// A violation found later (the API's checks) names its field's cell.
	s.RefuseText(3, "evidence_ids[1]", i18n.Text{EN: "evidence \"x\" does not exist"})
	require.Equal(t, columnOf(t, f, "证据编号")+"3: 证据编号 evidence \"x\" does not exist", s.Problems[len(s.Problems)-1].Error())

	require.Equal(t, s.Drafts[0].Identity("ins-1"), s.Drafts[3].Identity("ins-1"), "the same content")
	moved := s.Drafts[0]
	moved.Row = 99
	require.Equal(t, s.Drafts[0].Identity("ins-1"), moved.Identity("ins-1"), "wherever it stands")
	require.NotEqual(t, s.Drafts[0].Identity("ins-1"), s.Drafts[0].Identity("ins-2"), "another inspection")
	require.NotEqual(t, s.Drafts[0].Identity("ins-1"), s.Drafts[1].Identity("ins-1"))
	require.Regexp(t, `^import-[0-9a-f]{32}$`, s.Drafts[0].Identity("ins-1"))
}

// refused asserts that the workbook data is refused as a whole, the file
// named, with a rule that says want.
func refused(t *testing.T, data []byte, limits problemlist.Limits, want string) {
	t.Helper()
	_, err := problemlist.ReadWorkbook(bytes.NewReader(data), limits)
	var invalid *derrors.InvalidError
	require.True(t, errors.As(err, &invalid), "%v", err)
	require.Equal(t, "file", invalid.Violations[0].Field)
	require.Contains(t, invalid.Violations[0].Rule, want)
}

// TestReadWorkbookRefusesHostileFiles: what is no workbook, a workbook
// without the list's headers, more rows than the limit, and a zip bomb
// are refused with the file named, before their rows are read.
func TestReadWorkbookRefusesHostileFiles(t *testing.T) {
	t.Parallel()
	refused(t, []byte("序号,问题标题\n1,x\n"), problemlist.Limits{}, "is not a workbook")
	// In Chinese, what the reader's own words mean: it quoted "zip: not a
	// valid zip file".
	_, err := problemlist.ReadWorkbook(bytes.NewReader([]byte("序号,问题标题\n1,x\n")), problemlist.Limits{})
	require.Equal(t, "file：不是可读取的工作簿（不是 .xlsx 文件：.xlsx 文件是一个 zip 压缩包，这个不是）：请另存为 .xlsx（Excel 2007 或更高版本；WPS：另存为 .xlsx）",
		derrors.Message(err, i18n.Chinese))

	other := excelize.NewFile()
	require.NoError(t, other.SetCellStr("Sheet1", "A1", "名称"))
	refused(t, workbook(t, other), problemlist.Limits{}, "row 1 lacks the column(s) 问题类别、严重程度")

	f := template(t)
	for n := 2; n <= 5; n++ {
		v := good()
		v["问题标题"] = "问题" + strconv.Itoa(n)
		fill(t, f, n, v)
	}
	refused(t, workbook(t, f), problemlist.Limits{MaxRows: 3}, "holds more than 3 rows")

	// A zip bomb: a worksheet of 64 MiB of zeros deflates to some 64 KiB.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	for name, content := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
	} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(content))
		require.NoError(t, err)
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	require.NoError(t, err)
	zeros := make([]byte, 1<<20)
	for range 64 {
		_, err = w.Write(zeros)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.Less(t, bomb.Len(), 1<<20)
	refused(t, bomb.Bytes(), problemlist.Limits{MaxUnzipBytes: 16 << 20}, "unpacks to more than 16777216 bytes")

	// A bomb in a part that is no worksheet: excelize would inflate it into
	// memory whole, within the unzip limit.
	padded := withPart(t, workbook(t, template(t)), "xl/media/padding.bin", 24<<20)
	require.Less(t, len(padded), 1<<20)
	refused(t, padded, problemlist.Limits{MaxInMemoryBytes: 16 << 20},
		"holds parts besides its worksheets (pictures, objects) that unpack to more than 16777216 bytes")
	_, err = problemlist.ReadWorkbook(bytes.NewReader(padded), problemlist.Limits{MaxInMemoryBytes: 32 << 20})
	require.NoError(t, err, "within the bound, the same workbook is read")
}

// withPart returns the workbook with one more part: size zero bytes.
func withPart(t *testing.T, xlsx []byte, name string, size int) []byte {
	return withEntries(t, xlsx, "", [2]string{name, string(make([]byte, size))})
}

// badRows is the template with n rows whose four enumerated cells each
// break their rule.
func badRows(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	require.NoError(t, problemlist.WriteTemplate(&buf))
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	header := rows[0]
	sw, err := f.NewStreamWriter(problemlist.SheetFindings)
	require.NoError(t, err)
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = h
	}
	require.NoError(t, sw.SetRow("A1", cells))
	for r := 2; r <= n+1; r++ {
		row := make([]any, len(header))
		for i, h := range header {
			switch h {
			case "问题类别", "严重程度", "重要问题", "巡查内容":
				row[i] = "x"
			case "问题标题":
				row[i] = "问题" + strconv.Itoa(r)
			}
		}
		require.NoError(t, sw.SetRow("A"+strconv.Itoa(r), row))
	}
	require.NoError(t, sw.Flush())
	out, err := f.WriteToBuffer()
	require.NoError(t, err)
	return out.Bytes()
}

// TestManyProblemsAreCounted: a sheet of bad cells is refused with the
// first MaxProblemsShown of them and one violation counting the rest; every
// bad cell is still a problem of the sheet (a partial import skips its row).
func TestManyProblemsAreCounted(t *testing.T) {
	t.Parallel()
	s, err := problemlist.ReadWorkbook(bytes.NewReader(badRows(t, 300)), problemlist.Limits{})
	require.NoError(t, err)
	require.Len(t, s.Problems, 1200, "four bad cells a row")
	var invalid *derrors.InvalidError
	require.ErrorAs(t, s.Err(), &invalid)
	require.Len(t, invalid.Violations, problemlist.MaxProblemsShown+1)
	last := invalid.Violations[problemlist.MaxProblemsShown]
	require.Equal(t, "file", last.Field)
	require.Equal(t, "200 more invalid cell(s) after row 251 are not listed: mend these first", last.Rule)
	require.Equal(t, "第 251 行之后还有 200 个不合规则的单元格未列出：请先改正以上各处", last.RuleZH)
	for row := 2; row <= 301; row++ {
		require.True(t, s.Invalid(row), "row %d", row)
	}
}

// BenchmarkReadBadRows reads sheets of 2,500 and 10,000 rows whose every
// row has four bad cells, and reports the time per row. While a refusal
// searched the problems found so far for each new one, a row took 4.2
// times as long at four times the rows (76 and 324 µs); with the set of
// refused cells, 25 µs at both (2026-11-30, this machine).
//
//	go test -run '^$' -bench BenchmarkReadBadRows -benchtime 3x ./problemlist/
func BenchmarkReadBadRows(b *testing.B) {
	perRow := map[int]float64{}
	for _, n := range []int{2500, 10000} {
		data := badRows(b, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := problemlist.ReadWorkbook(bytes.NewReader(data), problemlist.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			perRow[n] = float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)
			b.ReportMetric(perRow[n], "ns/row")
		})
	}
	if perRow[2500] > 0 {
		b.Logf("time per row, 10,000 rows against 2,500: %.2f×", perRow[10000]/perRow[2500])
	}
}

// TestSharedStringsAreNotMultiplied: a cell that refers to a shared string
// gets its own copy of the text as it is read, so a few kilobytes of zip
// holding one long string that many cells refer to came to gigabytes
// (24 MiB a row, past every limit on what the file unpacks to). The text
// the cells refer to is counted, each cell's own, against what the file
// may unpack to, before a row is read; and a workbook of more shared
// strings than a list needs, whose index excelize builds as soon as a cell
// refers to one (50 million empty ones took minutes and gigabytes), is
// refused too.
func TestSharedStringsAreNotMultiplied(t *testing.T) {
	f := template(t)
	long := strings.Repeat("隐", 32767) // the most Excel puts in a cell
	for n := 2; n <= 201; n++ {
		fill(t, f, n, map[string]string{"问题标题": long})
	}
	amplified := workbook(t, f)
	require.Less(t, len(amplified), 1<<20, "the text is stored once")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	refused(t, amplified, problemlist.Limits{MaxUnzipBytes: 16 << 20},
		"has cells whose text comes to more than 16777216 bytes, the most an import takes")
	runtime.ReadMemStats(&after)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20),
		"refused before the 200 copies of its 96 KiB (19 MiB) were made")
	sheet, err := problemlist.ReadWorkbook(bytes.NewReader(amplified), problemlist.Limits{MaxUnzipBytes: 32 << 20})
	require.NoError(t, err, "within the bound the rows are read (the API refuses the titles as too long)")
	require.Len(t, sheet.Drafts, 200)

	var sst bytes.Buffer
	sst.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	sst.WriteString(strings.Repeat("<si/>", 1<<20+1))
	sst.WriteString(`</sst>`)
	many := withContent(t, workbook(t, template(t)), "xl/sharedStrings.xml", sst.Bytes())
	refused(t, many, problemlist.Limits{}, "holds more than 1048576 shared strings")
}

// withContent returns the workbook with the part name holding content (in
// place of its own, or added).
func withContent(t *testing.T, xlsx []byte, name string, content []byte) []byte {
	return withEntries(t, xlsx, name, [2]string{name, string(content)})
}

// withEntries returns the workbook without its part drop ("": none) and
// with entries (name, content) added after its parts (names may repeat).
func withEntries(t *testing.T, xlsx []byte, drop string, entries ...[2]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	require.NoError(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name != drop {
			require.NoError(t, zw.Copy(f))
		}
	}
	for _, e := range entries {
		w, err := zw.Create(e[0])
		require.NoError(t, err)
		_, err = w.Write([]byte(e[1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// TestRuleQuotesACellShort: a rule that quotes its cell (an affiliation
// that is not one) quotes at most maxRuleLength characters of it: a 45 KB
// pool list of long cells was answered with 60 MB.
func TestRuleQuotesACellShort(t *testing.T) {
	f := openTemplate(t, problemlist.WriteExpertTemplate)
	rows, err := f.GetRows(problemlist.SheetExperts)
	require.NoError(t, err)
	col := slices.Index(rows[0], "曾任职单位")
	require.GreaterOrEqual(t, col, 0)
	cell, err := excelize.CoordinatesToCellName(col+1, 2)
	require.NoError(t, err)
	require.NoError(t, f.SetCellStr(problemlist.SheetExperts, cell, strings.Repeat("不是单位", 7000)))
	sheet, err := problemlist.ReadExperts(bytes.NewReader(workbook(t, f)), problemlist.Limits{})
	require.NoError(t, err)
	var quoted *problemlist.Problem
	for i, p := range sheet.Problems {
		if p.Cell == cell {
			quoted = &sheet.Problems[i]
		}
	}
	require.NotNil(t, quoted, "%v", sheet.Problems)
	require.Contains(t, quoted.Rule, "is not one")
	require.LessOrEqual(t, utf8.RuneCountInString(quoted.Rule), 300)
	require.LessOrEqual(t, utf8.RuneCountInString(quoted.RuleZH), 300)
	require.Contains(t, quoted.Rule, `不是单…" is not one`, "the cell is quoted, cut short")
}

// TestReadsTheSheetTheClerkSees: without a sheet named 问题清单, the first
// visible sheet is read, not a hidden one before it (an old version kept in
// the file, whose rows were recorded in the visible one's place); a header
// row that holds a column twice is refused (the first was taken and the
// other's cells dropped unread).
func TestReadsTheSheetTheClerkSees(t *testing.T) {
	f := template(t)
	title := columnOf(t, f, "问题标题")
	header, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	require.NoError(t, f.SetSheetName(problemlist.SheetFindings, "旧版"))
	require.NoError(t, f.SetCellStr("旧版", title+"2", "旧版的问题"))
	_, err = f.NewSheet("本月")
	require.NoError(t, err)
	for i, h := range header[0] {
		cell, err := excelize.CoordinatesToCellName(i+1, 1)
		require.NoError(t, err)
		require.NoError(t, f.SetCellStr("本月", cell, h))
	}
	require.NoError(t, f.SetCellStr("本月", title+"2", "本月的问题"))
	idx, err := f.GetSheetIndex("本月")
	require.NoError(t, err)
	f.SetActiveSheet(idx)
	require.NoError(t, f.SetSheetVisible("旧版", false))
	sheet, err := problemlist.ReadWorkbook(bytes.NewReader(workbook(t, f)), problemlist.Limits{})
	require.NoError(t, err)
	require.Equal(t, "本月", sheet.Name)
	require.Equal(t, "本月的问题", sheet.Drafts[0].Title)

	// The list's own sheet, hidden (an old version) beside the visible
	// copy the clerk filled in and was on: the copy is read.
	named := template(t)
	require.NoError(t, named.SetCellStr(problemlist.SheetFindings, title+"2", "旧版的问题"))
	copied, err := named.NewSheet("问题清单 (2)")
	require.NoError(t, err)
	require.NoError(t, named.CopySheet(0, copied))
	require.NoError(t, named.SetCellStr("问题清单 (2)", title+"2", "本月的问题"))
	named.SetActiveSheet(copied)
	require.NoError(t, named.SetSheetVisible(problemlist.SheetFindings, false))
	sheet, err = problemlist.ReadWorkbook(bytes.NewReader(workbook(t, named)), problemlist.Limits{})
	require.NoError(t, err)
	require.Equal(t, "本月的问题", sheet.Drafts[0].Title)

	twice := template(t)
	last, err := excelize.CoordinatesToCellName(len(header[0])+1, 1)
	require.NoError(t, err)
	require.NoError(t, twice.SetCellStr(problemlist.SheetFindings, last, "问题标题"))
	refused(t, workbook(t, twice), problemlist.Limits{}, "row 1 holds the column(s) 问题标题 more than once")
}

// partOf is the content of the workbook's part name.
func partOf(t *testing.T, xlsx []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	require.NoError(t, err)
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			require.NoError(t, err)
			defer rc.Close()
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			return b
		}
	}
	t.Fatalf("no part %s", name)
	return nil
}

// TestRowsAndCellsOutOfOrderAreRefused: excelize reads a row that stands
// after a higher-numbered one into that one, and a cell that stands after
// one to its right into the next free column. A list whose row 3 stood
// after row 4 was recorded without row 3's finding, and nothing said so;
// such a file is now refused, with or without shared strings, and a file
// whose rows and cells are in order but say no number of their own is
// read as before.
func TestRowsAndCellsOutOfOrderAreRefused(t *testing.T) {
	t.Parallel()
	f := template(t)
	for i, title := range []string{"甲", "乙", "丙"} {
		v := good()
		v["问题标题"] = title
		fill(t, f, i+2, v)
	}
	data := workbook(t, f)
	const part = "xl/worksheets/sheet1.xml"
	sheet := string(partOf(t, data, part))
	rewrite := func(pattern, with string) []byte {
		t.Helper()
		re := regexp.MustCompile(pattern)
		require.True(t, re.MatchString(sheet), pattern)
		return withEntries(t, data, part, [2]string{part, re.ReplaceAllString(sheet, with)})
	}
	sheetAlone := func(xlsx []byte) []byte { // no shared strings at all
		t.Helper()
		return withEntries(t, xlsx, "xl/sharedStrings.xml")
	}

	moved := rewrite(`(<row r="3".*?</row>)(<row r="4".*?</row>)`, "$2$1")
	refused(t, moved, problemlist.Limits{}, "rows out of order (row 3 stands after row 4)")
	refused(t, sheetAlone(moved), problemlist.Limits{}, "rows out of order (row 3 stands after row 4)")
	twice := rewrite(`<row r="4"`, `<row r="3"`)
	refused(t, twice, problemlist.Limits{}, "rows out of order (row 3 stands after row 3)")

	title := columnOf(t, f, "问题标题")
	swapped := rewrite(`(<c r="`+title+`3".*?</c>)(<c r="[A-Z]+3".*?</c>)`, "$2$1")
	refused(t, swapped, problemlist.Limits{}, "the cells of row 3 out of order")
	refused(t, sheetAlone(swapped), problemlist.Limits{}, "the cells of row 3 out of order")

	// A calculation chain (Excel writes one for formulas) lists cells in
	// the order they are calculated, with no rows: read as before.
	ct := string(partOf(t, data, "[Content_Types].xml"))
	ct = strings.Replace(ct, "</Types>", `<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>`, 1)
	withCalc := withEntries(t, data, "[Content_Types].xml", [2]string{"[Content_Types].xml", ct}, [2]string{"xl/calcChain.xml",
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
			`<c r="M3" i="1"/><c r="M2"/><c r="A2"/></calcChain>`})
	s, err := problemlist.ReadWorkbook(bytes.NewReader(withCalc), problemlist.Limits{})
	require.NoError(t, err)
	require.Len(t, s.Drafts, 3)

	// Rows in order that say no number: read as before.
	unnumbered := withEntries(t, data, part, [2]string{part,
		regexp.MustCompile(`<row r="[0-9]+"`).ReplaceAllString(sheet, "<row")})
	s, err = problemlist.ReadWorkbook(bytes.NewReader(unnumbered), problemlist.Limits{})
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 4}, s.Rows)
	require.Equal(t, "乙", s.Drafts[1].Title)
}

// TestDeepNestingIsRefused: an XML decoder keeps every element still open,
// so a 15 KB upload of two million nested elements, in a sheet or in the
// shared strings, took 900 MB to read (and the workbook reader as much
// again when they stood among the rows). A part nested deeper than any
// spreadsheet program writes is refused as soon as the check reaches that
// depth.
func TestDeepNestingIsRefused(t *testing.T) {
	f := template(t)
	fill(t, f, 2, good())
	data := workbook(t, f)
	const sheetPart = "xl/worksheets/sheet1.xml"
	sheet := string(partOf(t, data, sheetPart))
	sst := string(partOf(t, data, "xl/sharedStrings.xml"))
	nest := strings.Repeat("<a>", 2<<20)
	for name, hostile := range map[string][]byte{
		"among the rows":     withContent(t, data, sheetPart, []byte(strings.Replace(sheet, "</row>", "</row>"+nest, 1))),
		"after the rows":     withContent(t, data, sheetPart, []byte(strings.Replace(sheet, "</sheetData>", "</sheetData>"+nest, 1))),
		"in a shared string": withContent(t, data, "xl/sharedStrings.xml", []byte(strings.Replace(sst, "<si>", "<si>"+nest, 1))),
	} {
		require.Less(t, len(hostile), 64<<10, name)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		refused(t, hostile, problemlist.Limits{}, "nests its XML more than 256 elements deep")
		runtime.ReadMemStats(&after)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), name)
	}
}
