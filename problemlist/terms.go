// Package problemlist writes the problem list (问题清单) of the ledger as
// offices keep it: an Excel workbook — the findings on one sheet, their
// statistics on another — or CSV, with Chinese headers and Chinese names
// for the domain's values (DESIGN §1–2). It pages through the ledger with
// keyset pagination and streams rows, so that memory stays bounded
// however many findings are exported (issue 13 item 2).
package problemlist

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/xuncha/xuncha/workflows"
)

// The Chinese names of the domain's values, as the charter and the
// offices' forms name them; a value without a name is written as it is.
var (
	kindNames = map[string]string{
		"HAZARD":         "事故隐患",
		"RESPONSIBILITY": "责任落实不力",
		"VIOLATION_CLUE": "违法违规违纪问题线索",
		"SYSTEMIC_RISK":  "系统性安全风险",
	}
	severityNames = map[string]string{
		"GENERAL": "一般",
		"MAJOR":   "重大",
	}
	stageNames = map[string]string{
		"FOUND":      "已发现",
		"LISTED":     "已建立清单",
		"DIAGNOSED":  "已诊断分析",
		"CLASSIFIED": "已分类处置",
		"REFERRED":   "已移交督办",
		"RECTIFIED":  "已报整改",
		"CLOSED":     "已销号",
		"WITHDRAWN":  "已撤销",
	}
	dispositionNames = map[string]string{
		"RECTIFY":    "责令整改",
		"REFER_CLUE": "移交问题线索",
		"SUPERVISE":  "挂牌督办",
		"EXPOSE":     "公开曝光",
	}
	// riskLevelNames are the four levels of safety risk (重大、较大、一般、低).
	riskLevelNames = map[string]string{
		"LOW":      "低风险",
		"MEDIUM":   "一般风险",
		"HIGH":     "较大风险",
		"CRITICAL": "重大风险",
	}
	stepNames = map[string]string{
		"REMINDER":           "到期提醒",
		"OVERDUE":            "逾期升级",
		"INTERVIEW_PROPOSED": "提请约谈",
	}
)

// term is value's Chinese name in names, or value itself.
func term(names map[string]string, value string) string {
	if name, ok := names[value]; ok {
		return name
	}
	return value
}

// KindName, SeverityName and StageName are the Chinese names of a
// finding's kind, severity and stage.
func KindName(kind string) string         { return term(kindNames, kind) }
func SeverityName(severity string) string { return term(severityNames, severity) }
func StageName(stage string) string       { return term(stageNames, stage) }

// contentAreaName names the charter's content item 三(一)n.
func contentAreaName(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("三(一)%d", n)
}

// dispositionList names dispositions, joined as a list in Chinese.
func dispositionList(dispositions []string) string {
	names := make([]string, len(dispositions))
	for i, d := range dispositions {
		names[i] = term(dispositionNames, d)
	}
	return strings.Join(names, "、")
}

// yesNo is 是 or 否.
func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// listSeparator joins a cell's list of values (dispositions, evidence).
const listSeparator = "、"

// nameList lists the Chinese names of values, as a drop-down list offers
// them and a refusal names them.
func nameList(names map[string]string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = term(names, v)
	}
	return out
}

func kindChoices() []string { return nameList(kindNames, workflows.FindingKinds) }
func severityChoices() []string {
	return nameList(severityNames, []string{workflows.SeverityGeneral, workflows.SeverityMajor})
}

func contentAreaChoices() []string {
	out := make([]string, workflows.ContentAreas)
	for i := range out {
		out[i] = contentAreaName(i + 1)
	}
	return out
}

// value is the domain value a cell names: by its Chinese name or as the
// value itself (HAZARD), of those values; ok is false for anything else.
func value(names map[string]string, values []string, text string) (v string, ok bool) {
	for _, v := range values {
		if text == v || text == term(names, v) {
			return v, true
		}
	}
	return "", false
}

// oneOf is the rule of a cell that must hold one of choices.
func oneOf(choices []string) string {
	return "must be one of " + strings.Join(choices, listSeparator)
}

func readKind(text string, d *Draft) string {
	kind, ok := value(kindNames, workflows.FindingKinds, text)
	if !ok {
		return oneOf(kindChoices())
	}
	d.Kind = kind
	return ""
}

func readSeverity(text string, d *Draft) string {
	if text == "" {
		return ""
	}
	severity, ok := value(severityNames, []string{workflows.SeverityGeneral, workflows.SeverityMajor}, text)
	if !ok {
		return oneOf(severityChoices()) + " (or be empty when the finding is no 事故隐患)"
	}
	d.Severity = severity
	return ""
}

func readImportant(text string, d *Draft) string {
	switch text {
	case yesNo(true):
		d.Important = true
	case yesNo(false), "":
		d.Important = false
	default:
		return "must be 是 or 否 (empty is 否)"
	}
	return ""
}

// readContentArea reads 三(一)n, with half- or full-width brackets, or n.
func readContentArea(text string, d *Draft) string {
	t := strings.NewReplacer("（", "(", "）", ")", " ", "").Replace(text)
	t = strings.TrimPrefix(t, "三(一)")
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > workflows.ContentAreas {
		return fmt.Sprintf("must be the charter's content item %s to %s", contentAreaName(1), contentAreaName(workflows.ContentAreas))
	}
	d.ContentArea = n
	return ""
}

// readEvidenceIDs reads evidence IDs separated by 、, commas, semicolons
// or white space.
func readEvidenceIDs(text string, d *Draft) string {
	d.EvidenceIDs = strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("、,，;；", r)
	})
	return ""
}
