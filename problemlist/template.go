package problemlist

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// TemplateRows is how many rows of the template's list carry the drop-down
// lists of the enumerated columns.
const TemplateRows = 10000

// SheetInstructions is the template's sheet that says how to fill it in.
const SheetInstructions = "填写说明"

// WriteTemplate writes an empty problem list to fill in and import (POST
// /v1/inspections/{id}/findings:import): the export's sheet and columns
// (columns), header frozen, the columns the import reads highlighted, a
// drop-down list on each enumerated column (问题类别, 严重程度, 重要问题,
// 巡查内容) for TemplateRows rows, and a sheet of instructions.
func WriteTemplate(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetFindings); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	read, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: []excelize.Border{
		{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFF2CC"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	const sheet = SheetFindings
	for i, c := range columns {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := f.SetCellStr(sheet, col+"1", c.header); err != nil {
			return err
		}
		style := st.header
		if c.in != nil {
			style = read
		}
		if err := f.SetCellStyle(sheet, col+"1", col+"1", style); err != nil {
			return err
		}
		if err := f.SetColWidth(sheet, col, col, c.width); err != nil {
			return err
		}
		if c.in == nil {
			continue
		}
		if err := dropDown(f, sheet, col, c.header, c.in.choices); err != nil {
			return err
		}
	}
	if err := freezeHeader(f, sheet); err != nil {
		return err
	}
	if err := instructions(f, st); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// dropDown puts a drop-down list of choices (none: nothing) on column
// col's TemplateRows rows below the header.
func dropDown(f *excelize.File, sheet, col, header string, choices []string) error {
	if len(choices) == 0 {
		return nil
	}
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, TemplateRows+1))
	if err := dv.SetDropList(choices); err != nil {
		return fmt.Errorf("the drop-down list of %s: %w", header, err)
	}
	dv.SetError(excelize.DataValidationErrorStyleStop, header, "请从下拉列表中选择："+strings.Join(choices, listSeparator))
	dv.SetInput(header, strings.Join(choices, listSeparator))
	return f.AddDataValidation(sheet, dv)
}

// freezeHeader freezes a sheet's header row.
func freezeHeader(f *excelize.File, sheet string) error {
	if err := f.SetRowHeight(sheet, 1, 24); err != nil {
		return err
	}
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}})
}

// WriteLayoutTemplate writes an empty sheet of layout l to fill in and
// import: the layout's columns, header frozen, a drop-down list on each
// enumerated column, and a sheet of instructions (lines: a name and its
// explanation each, under the title).
func WriteLayoutTemplate[D any](w io.Writer, l *Layout[D], title string, lines [][]any) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", l.Sheet); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	for i, in := range l.Inputs {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := f.SetCellStr(l.Sheet, col+"1", in.Header); err != nil {
			return err
		}
		if err := f.SetCellStyle(l.Sheet, col+"1", col+"1", st.header); err != nil {
			return err
		}
		if err := f.SetColWidth(l.Sheet, col, col, in.Width); err != nil {
			return err
		}
		if err := dropDown(f, l.Sheet, col, in.Header, in.Choices); err != nil {
			return err
		}
	}
	if err := freezeHeader(f, l.Sheet); err != nil {
		return err
	}
	if err := writeInstructions(f, st, append([][]any{{title}}, lines...)); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// instructions writes the template's sheet of instructions.
func instructions(f *excelize.File, st styles) error {
	lines := [][]any{
		{"问题清单导入模板"},
		{"用法", "在“" + SheetFindings + "”表第 2 行起每行填写一个问题，上传到 POST /v1/inspections/{巡查编号}/findings:import（或 xuncha findings import 文件 --inspection 巡查编号）。"},
		{"读取的列", "黄色表头的列：" + strings.Join(readHeaders(), listSeparator) + "；其余列由问题台账生成，导入时不读取（导出的问题清单可直接再导入）。"},
		{"问题类别", strings.Join(kindChoices(), listSeparator)},
		{"严重程度", "事故隐患填 " + strings.Join(severityChoices(), "或") + "；其他类别留空"},
		{"重要问题", "是或否（留空为否）"},
		{"巡查内容", "巡查内容条目 " + contentAreaName(1) + " 至 " + contentAreaChoices()[len(contentAreaChoices())-1] + "，也可只填序号"},
		{"证据编号", "先上传证据（POST /v1/evidence），填其编号；多个编号用“、”、逗号或空格分隔；每个问题至少一个"},
		{"整改要求", "重大事故隐患或重要问题必填（立即交办的整改意见）"},
		{"校验", "先校验全部行：任一单元格不合规则整份不导入，并逐一指出单元格（如 G7: 严重程度 必须是以下之一：一般、重大（不是事故隐患的问题留空））；加 ?partial=true 只导入合规的行。"},
		{"重复上传", "同一巡查中内容相同的行只记录一次：重复上传同一文件不会重复记录。"},
	}
	return writeInstructions(f, st, lines)
}

// writeInstructions writes the sheet of instructions: a title in row 1,
// then a name and its explanation per row.
func writeInstructions(f *excelize.File, st styles, lines [][]any) error {
	const sheet = SheetInstructions
	if idx, _ := f.GetSheetIndex(sheet); idx < 0 {
		if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
	}
	for i, l := range lines {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &l); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(sheet, "A1", "A1", st.title); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "A", "A", 12); err != nil {
		return err
	}
	return f.SetColWidth(sheet, "B", "B", 110)
}

// readHeaders are the headers of the columns the import reads.
func readHeaders() []string {
	var out []string
	for _, c := range columns {
		if c.in != nil {
			out = append(out, c.header)
		}
	}
	return out
}
