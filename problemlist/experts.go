package problemlist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/workflows"
)

// The expert pool's list (巡查专家库, issue 15): the people the office
// keeps in the pool, imported from a workbook in the problem list's way —
// the same reading (ReadTable: columns by header, limits, a problem per
// cell), the same template (WriteLayoutTemplate), the same row identity.

// SheetExperts is the pool list's worksheet.
const SheetExperts = "专家库"

// ExpertDraft is one row of an imported pool list: the person it asks to
// add, in the domain's values (AddExpertRequest's fields).
type ExpertDraft struct {
	Name         string        `json:"name"`
	Organisation string        `json:"organisation"`
	UnitCode     string        `json:"unit_code"`
	Rank         string        `json:"rank"`
	Kind         string        `json:"kind"`
	ContentAreas []int         `json:"content_areas"`
	Sectors      []string      `json:"sectors"`
	HomeRegion   string        `json:"home_region"`
	Affiliations []Affiliation `json:"affiliations"`
	Subject      string        `json:"subject"`
}

// Affiliation is a past or present affiliation of a row: a unit code and
// years (ToYear 0: to this day).
type Affiliation struct {
	UnitCode string `json:"unit_code"`
	FromYear int    `json:"from_year"`
	ToYear   int    `json:"to_year"`
}

// Identity is the request_id of the row's AddExpert: a digest of the row's
// content, so that the same person imported again is the same request and
// is added once, wherever the row stands in the file.
func (d ExpertDraft) Identity() string {
	content, err := json.Marshal(d)
	if err != nil {
		panic(err) // strings and ints always marshal
	}
	sum := sha256.Sum256(append([]byte("expertpool-import-v1\x00"), content...))
	return "import-" + hex.EncodeToString(sum[:16])
}

// rankNames are the Chinese names of a team member's ranks (职级).
var rankNames = map[string]string{
	workflows.RankDepartment:        "厅级",
	workflows.RankInspector1:        "一级巡视员",
	workflows.RankInspector2:        "二级巡视员",
	workflows.RankDivisionChief:     "正处级",
	workflows.RankDeputyDivisionChf: "副处级",
	workflows.RankOther:             "其他",
}

// rankOrder lists the ranks, highest first.
var rankOrder = []string{workflows.RankDepartment, workflows.RankInspector1, workflows.RankInspector2,
	workflows.RankDivisionChief, workflows.RankDeputyDivisionChf, workflows.RankOther}

// expertKindNames are the Chinese names of a person's kind (类别).
var expertKindNames = map[string]string{"STAFF": "工作人员", "EXPERT": "专家"}

func rankChoices() []string {
	out := make([]string, len(rankOrder))
	for i, r := range rankOrder {
		out[i] = rankNames[r]
	}
	return out
}

// readTerm reads a value by its Chinese name or its code.
func readTerm(text string, names map[string]string) (string, bool) {
	for code, name := range names {
		if text == name || strings.EqualFold(text, code) {
			return code, true
		}
	}
	return "", false
}

// splitList splits a cell's list at 、, ；, ; or a line break.
func splitList(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune("、;；\n", r) })
}

// readExpertise reads 专长: the charter's content items (三(一)n or n)
// and sectors, in any order.
func readExpertise(text string, d *ExpertDraft) i18n.Text {
	for _, item := range splitList(text) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		t := strings.TrimPrefix(strings.NewReplacer("（", "(", "）", ")", " ", "").Replace(item), "三(一)")
		if n, err := strconv.Atoi(t); err == nil {
			if n < 1 || n > workflows.ContentAreas {
				return i18n.T("must list the charter's content items %s to %s and sectors; %s is no content item",
					contentAreaName(1), contentAreaName(workflows.ContentAreas), item)
			}
			d.ContentAreas = append(d.ContentAreas, n)
			continue
		}
		d.Sectors = append(d.Sectors, item)
	}
	if len(d.ContentAreas) == 0 {
		return i18n.T("must list at least one of the charter's content items %s to %s (and sectors, if any), separated by 、 or ；",
			contentAreaName(1), contentAreaName(workflows.ContentAreas))
	}
	return i18n.Text{}
}

// readAffiliations reads 曾任职单位: unit code:from-to, separated by 、
// or ；(430300:2018-2024; an open end, 430300:2018-, is to this day).
func readAffiliations(text string, d *ExpertDraft) i18n.Text {
	for _, item := range splitList(text) {
		item = strings.NewReplacer("：", ":", "－", "-", "—", "-", " ", "").Replace(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		code, years, ok := strings.Cut(item, ":")
		from, to, dash := strings.Cut(years, "-")
		a := Affiliation{UnitCode: code}
		var err error
		if ok && dash {
			if a.FromYear, err = strconv.Atoi(from); err == nil && to != "" {
				a.ToYear, err = strconv.Atoi(to)
			}
		}
		if !ok || !dash || err != nil || code == "" {
			return i18n.T("must list unit code:first year-last year (430300:2018-2024; 430300:2018- while still there), separated by 、 or ；; %q is not one", i18n.Clip(item, 40))
		}
		d.Affiliations = append(d.Affiliations, a)
	}
	return i18n.Text{}
}

// expertsLayout is the pool list's columns.
var expertsLayout = &Layout[ExpertDraft]{Sheet: SheetExperts, Template: "GET /v1/experts:template", Inputs: []Input[ExpertDraft]{
	{Header: "姓名", Field: "expert.name", Width: 12,
		Read: func(t string, d *ExpertDraft) i18n.Text { d.Name = t; return i18n.Text{} }},
	{Header: "单位", Field: "expert.organisation", Width: 24,
		Read: func(t string, d *ExpertDraft) i18n.Text { d.Organisation = t; return i18n.Text{} }},
	{Header: "单位代码", Field: "expert.unit_code", Width: 14,
		Read: func(t string, d *ExpertDraft) i18n.Text { d.UnitCode = t; return i18n.Text{} }},
	{Header: "职级", Field: "expert.rank", Width: 12, Choices: rankChoices(),
		Read: func(t string, d *ExpertDraft) i18n.Text {
			code, ok := readTerm(t, rankNames)
			if !ok {
				return i18n.T("must be one of %s", strings.Join(rankChoices(), listSeparator))
			}
			d.Rank = code
			return i18n.Text{}
		}},
	{Header: "类别", Field: "expert.kind", Width: 10, Choices: []string{expertKindNames["STAFF"], expertKindNames["EXPERT"]},
		Read: func(t string, d *ExpertDraft) i18n.Text {
			code, ok := readTerm(t, expertKindNames)
			if !ok {
				return i18n.T("must be one of %s", expertKindNames["STAFF"]+listSeparator+expertKindNames["EXPERT"])
			}
			d.Kind = code
			return i18n.Text{}
		}},
	{Header: "专长", Field: "expert.content_areas", Also: []string{"expert.sectors"}, Width: 30, Read: readExpertise},
	{Header: "属地", Field: "expert.home_region", Width: 10,
		Read: func(t string, d *ExpertDraft) i18n.Text { d.HomeRegion = t; return i18n.Text{} }},
	{Header: "曾任职单位", Field: "expert.affiliations", Width: 30, Read: readAffiliations},
	{Header: "登录标识", Field: "expert.subject", Width: 20,
		Read: func(t string, d *ExpertDraft) i18n.Text { d.Subject = t; return i18n.Text{} }},
}}

// ExpertSheet is a pool list read from a workbook (ReadExperts).
type ExpertSheet = Table[ExpertDraft]

// ReadExperts reads a pool list: sheet 专家库, or the first, with the
// header in row 1 (ReadTable with the pool list's layout).
func ReadExperts(r io.Reader, limits Limits) (*ExpertSheet, error) {
	return ReadTable(r, limits, expertsLayout)
}

// WriteExpertTemplate writes an empty pool list to fill in and import
// (POST /v1/experts:import): its columns, drop-down lists on 职级 and 类别,
// and a sheet of instructions.
func WriteExpertTemplate(w io.Writer) error {
	return WriteLayoutTemplate(w, expertsLayout, "巡查专家库导入模板", [][]any{
		{"用法", "在“" + SheetExperts + "”表第 2 行起每行填写一人，上传到 POST /v1/experts:import（或 xuncha experts import 文件）。"},
		{"姓名、单位", "必填：单位为派出人员的成员单位名称"},
		{"单位代码", "必填：成员单位的行政区划代码或组织机构代码（2–32 位字母、数字或“-”）"},
		{"职级", strings.Join(rankChoices(), listSeparator)},
		{"类别", "工作人员（组长、副组长、组员）或专家"},
		{"专长", "巡查内容条目 " + contentAreaName(1) + " 至 " + contentAreaName(workflows.ContentAreas) + "（也可只填序号，至少一项）及行业领域，用“、”或“；”分隔，如：三(一)1、三(一)5、危险化学品"},
		{"属地", "必填：六位行政区划代码"},
		{"曾任职单位", "单位代码:起始年-终止年，用“、”或“；”分隔，如 430300:2018-2024；至今在任写 430300:2018-"},
		{"登录标识", "选填：本人登录身份（令牌的 subject），本人可据此查看并答复邀请"},
		{"校验", "先校验全部行：任一单元格不合规则整份不导入，并逐一指出单元格（如 D7: 职级 must be one of …）；加 ?partial=true 只导入合规的行。"},
		{"重复上传", "内容相同的行只记录一次：重复上传同一文件不会重复添加。"},
	})
}
