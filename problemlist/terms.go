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

	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/workflows"
)

// The Chinese names of the domain's values are the message catalogue's
// (internal/i18n, terms.go); a value without a name is written as it is.

// KindName, SeverityName and StageName are the Chinese names of a
// finding's kind, severity and stage.
func KindName(kind string) string         { return i18n.FindingKind(kind) }
func SeverityName(severity string) string { return i18n.Severity(severity) }
func StageName(stage string) string       { return i18n.FindingStage(stage) }

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
		names[i] = i18n.Disposition(d)
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
func nameList(name func(string) string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = name(v)
	}
	return out
}

// severities are the severities a hazard may have.
var severities = []string{workflows.SeverityGeneral, workflows.SeverityMajor}

func kindChoices() []string     { return nameList(i18n.FindingKind, workflows.FindingKinds) }
func severityChoices() []string { return nameList(i18n.Severity, severities) }

func contentAreaChoices() []string {
	out := make([]string, workflows.ContentAreas)
	for i := range out {
		out[i] = contentAreaName(i + 1)
	}
	return out
}

// value is the domain value a cell names: by its Chinese name or as the
// value itself (HAZARD), of those values; ok is false for anything else.
func value(name func(string) string, values []string, text string) (v string, ok bool) {
	for _, v := range values {
		if text == v || text == name(v) {
			return v, true
		}
	}
	return "", false
}

// oneOf is the rule of a cell that must hold one of choices.
func oneOf(choices []string) i18n.Text {
	return i18n.T("must be one of %s", strings.Join(choices, listSeparator))
}

func readKind(text string, d *Draft) i18n.Text {
	kind, ok := value(i18n.FindingKind, workflows.FindingKinds, text)
	if !ok {
		return oneOf(kindChoices())
	}
	d.Kind = kind
	return i18n.Text{}
}

func readSeverity(text string, d *Draft) i18n.Text {
	if text == "" {
		return i18n.Text{}
	}
	severity, ok := value(i18n.Severity, severities, text)
	if !ok {
		return i18n.T("must be one of %s (or be empty when the finding is no 事故隐患)", strings.Join(severityChoices(), listSeparator))
	}
	d.Severity = severity
	return i18n.Text{}
}

func readImportant(text string, d *Draft) i18n.Text {
	switch text {
	case yesNo(true):
		d.Important = true
	case yesNo(false), "":
		d.Important = false
	default:
		return i18n.T("must be 是 or 否 (empty is 否)")
	}
	return i18n.Text{}
}

// readContentArea reads 三(一)n, with half- or full-width brackets, or n.
func readContentArea(text string, d *Draft) i18n.Text {
	t := strings.NewReplacer("（", "(", "）", ")", " ", "").Replace(text)
	t = strings.TrimPrefix(t, "三(一)")
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > workflows.ContentAreas {
		return i18n.T("must be the charter's content item %s to %s", contentAreaName(1), contentAreaName(workflows.ContentAreas))
	}
	d.ContentArea = n
	return i18n.Text{}
}

// readEvidenceIDs reads evidence IDs separated by 、, commas, semicolons
// or white space.
func readEvidenceIDs(text string, d *Draft) i18n.Text {
	d.EvidenceIDs = strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("、,，;；", r)
	})
	return i18n.Text{}
}
