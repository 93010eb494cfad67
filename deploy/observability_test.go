package deploy_test

// These tests check deploy/prometheus/alerts.yml and deploy/grafana/xuncha.json
// on paper, as promtool and Grafana's loader would refuse them: the rules'
// structure, durations, labels, annotations and templates; the dashboard's
// panels, queries and data source. api's TestMetricsAfterTraffic checks
// against a running stack that every metric either names is exported.
// TestObservabilityChecksCatchBreakage breaks the files in memory, one way
// per row, and wants a check to complain.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/ledger"
)

const (
	alertsPath    = "prometheus/alerts.yml"
	dashboardPath = "grafana/xuncha.json"
)

// ruleFile is Prometheus's rule file format; unknown keys are refused.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func parseRules(data []byte) (ruleFile, error) {
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	return f, err
}

// promDuration is Prometheus's duration syntax (1h, 15m, 1h30m).
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

// xunchaMetric finds the names of xuncha's own metrics in an expression.
var xunchaMetric = regexp.MustCompile(`\bxuncha_[a-z0-9_]*[a-z0-9]\b`)

// exported are xuncha's own families (internal/telemetry).
var exported = []string{telemetry.GRPCRequests, telemetry.GRPCDuration, telemetry.HTTPDuration, telemetry.LifecycleTransitions,
	telemetry.WebhookDeliveries, telemetry.OpenFindings, telemetry.Overdue, telemetry.Escalations, telemetry.OutboxPending,
	telemetry.OutboxOldest, telemetry.CalendarDaysLeft, telemetry.CalendarLastYear, telemetry.LedgerUp}

// knownFamily reports whether a series name belongs to one of xuncha's families.
func knownFamily(name string) bool {
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(exported, base) {
			return true
		}
	}
	return slices.Contains(exported, name)
}

// balanced reports whether the brackets of s pair up, outside strings.
func balanced(s string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := rune(0)
	for _, r := range s {
		switch {
		case inString != 0:
			if r == inString {
				inString = 0
			}
		case r == '"' || r == '\'' || r == '`':
			inString = r
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && inString == 0
}

// requiredAlerts are issue 12 item 4's: overdue rising, outbox stuck, worker
// backlog, next year's calendar not loaded by December 1st.
var requiredAlerts = []string{"XunchaOverdueRising", "XunchaWebhookOutboxStuck", "XunchaWorkerBacklog", "XunchaCalendarNextYearMissing"}

// calendarThreshold reads N from "max(xuncha_calendar_days_left) <= N".
var calendarThreshold = regexp.MustCompile(`max\(xuncha_calendar_days_left\)\s*<=\s*([0-9]+)\s*$`)

func checkRules(f ruleFile) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(f.Groups) == 0 {
		bad("no rule groups")
	}
	groups, alerts := map[string]bool{}, map[string]rule{}
	for _, g := range f.Groups {
		if g.Name == "" || groups[g.Name] {
			bad("group name %q is empty or repeated", g.Name)
		}
		groups[g.Name] = true
		if g.Interval != "" && !promDuration.MatchString(g.Interval) {
			bad("group %s: interval %q is not a duration", g.Name, g.Interval)
		}
		for i, r := range g.Rules {
			where := fmt.Sprintf("group %s rule %d (%s%s)", g.Name, i, r.Alert, r.Record)
			if (r.Alert == "") == (r.Record == "") {
				bad("%s: exactly one of alert and record", where)
			}
			expr := strings.TrimSpace(r.Expr)
			if expr == "" || !balanced(expr) {
				bad("%s: expr is empty or its brackets do not pair: %q", where, expr)
			}
			for _, name := range xunchaMetric.FindAllString(expr, -1) {
				if !knownFamily(name) {
					bad("%s: names %s, which xuncha does not export", where, name)
				}
			}
			if r.For != "" && !promDuration.MatchString(r.For) {
				bad("%s: for %q is not a duration", where, r.For)
			}
			if r.Record != "" {
				continue
			}
			if !strings.HasPrefix(r.Alert, "Xuncha") || alerts[r.Alert].Alert != "" {
				bad("%s: alert names start with Xuncha and are unique", where)
			}
			alerts[r.Alert] = r
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				bad("%s: severity %q is not warning or critical", where, s)
			}
			for _, key := range []string{"summary", "description"} {
				text := r.Annotations[key]
				if text == "" || strings.Count(text, "{{") != strings.Count(text, "}}") {
					bad("%s: annotation %s is empty or its templates do not pair", where, key)
				}
			}
		}
	}
	for _, name := range requiredAlerts {
		if _, ok := alerts[name]; !ok {
			bad("alert %s is missing", name)
		}
	}
	// The calendar alert fires from December 1st (Asia/Shanghai) exactly
	// when next year has no data, by what the ledger reports.
	if r, ok := alerts["XunchaCalendarNextYearMissing"]; ok {
		m := calendarThreshold.FindStringSubmatch(strings.TrimSpace(r.Expr))
		if m == nil {
			bad("XunchaCalendarNextYearMissing: expr is not max(xuncha_calendar_days_left) <= N: %q", r.Expr)
		} else {
			threshold, _ := strconv.Atoi(m[1])
			for _, c := range []struct {
				today string
				years []int
				fire  bool
			}{
				{"2026-11-30", []int{2026}, false}, {"2026-12-01", []int{2026}, true}, {"2026-12-31", []int{2026}, true},
				{"2026-12-01", []int{2026, 2027}, false}, {"2026-06-30", []int{2026}, false}, {"2027-12-01", []int{2026, 2027}, true},
			} {
				_, left := ledger.CalendarCoverage(calendar.MustParseDate(c.today), c.years)
				if fires := left <= threshold; fires != c.fire {
					bad("XunchaCalendarNextYearMissing on %s with data for %v (%d days left): fires %v, want %v", c.today, c.years, left, fires, c.fire)
				}
			}
		}
	}
	return problems
}

// dashboard is the part of Grafana's dashboard model the checks read.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Schema     int     `json:"schemaVersion"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Type, Name, Query string
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int        `json:"id"`
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	GridPos    struct{ X, Y, W, H int }
	Targets    []struct {
		Expr       string     `json:"expr"`
		RefID      string     `json:"refId"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func checkDashboard(d dashboard) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.Title == "" || d.UID == "" || d.Schema == 0 {
		bad("title, uid and schemaVersion are required")
	}
	hasVar := false
	for _, v := range d.Templating.List {
		hasVar = hasVar || (v.Type == "datasource" && v.Name == "datasource" && v.Query == "prometheus")
	}
	if !hasVar {
		bad("no datasource variable of type prometheus")
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if p.ID == 0 || ids[p.ID] {
			bad("panel %q: id %d is missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			bad("panel %d: needs a title and a width within 24 columns", p.ID)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			bad("panel %q: queries the datasource variable, at least once", p.Title)
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			queries++
			if t.Expr == "" || !balanced(t.Expr) || t.RefID == "" || refs[t.RefID] || t.Datasource.UID != "${datasource}" {
				bad("panel %q: query %q needs an expr whose brackets pair, a unique refId and the datasource variable", p.Title, t.Expr)
			}
			refs[t.RefID] = true
			for _, name := range xunchaMetric.FindAllString(t.Expr, -1) {
				if !knownFamily(name) {
					bad("panel %q: names %s, which xuncha does not export", p.Title, name)
				}
			}
		}
	}
	// Every family of issue 12 item 4 has a panel.
	all := ""
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			all += t.Expr + "\n"
		}
	}
	shown := []string{telemetry.GRPCRequests, telemetry.GRPCDuration + "_bucket", telemetry.HTTPDuration + "_bucket",
		telemetry.LifecycleTransitions, telemetry.WebhookDeliveries, telemetry.OpenFindings, telemetry.Overdue, telemetry.Escalations,
		telemetry.OutboxPending, telemetry.OutboxOldest, telemetry.CalendarDaysLeft, telemetry.CalendarLastYear, telemetry.LedgerUp,
		"temporal_workflow_task_schedule_to_start_latency_seconds_bucket"}
	for _, name := range shown {
		if !strings.Contains(all, name) {
			bad("no panel shows %s", name)
		}
	}
	if queries == 0 {
		bad("no queries")
	}
	return problems
}

func readObservability(t *testing.T) (ruleFile, dashboard) {
	t.Helper()
	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseRules(data)
	if err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	data, err = os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return rules, d
}

func TestObservabilityFiles(t *testing.T) {
	rules, d := readObservability(t)
	for _, p := range append(checkRules(rules), checkDashboard(d)...) {
		t.Error(p)
	}
}

func TestObservabilityChecksCatchBreakage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(*ruleFile, *dashboard)
	}{
		{"unknown metric in a rule", func(f *ruleFile, _ *dashboard) { f.Groups[0].Rules[0].Expr = "xuncha_no_such_metric > 0" }},
		{"unpaired bracket", func(f *ruleFile, _ *dashboard) { f.Groups[0].Rules[0].Expr = "max(xuncha_overdue > 0" }},
		{"bad duration", func(f *ruleFile, _ *dashboard) { f.Groups[0].Rules[0].For = "an hour" }},
		{"no severity", func(f *ruleFile, _ *dashboard) { f.Groups[0].Rules[0].Labels = nil }},
		{"required alert missing", func(f *ruleFile, _ *dashboard) { f.Groups[0].Rules = f.Groups[0].Rules[1:] }},
		{"calendar alert a month early", func(f *ruleFile, _ *dashboard) {
			for i, r := range f.Groups[0].Rules {
				if r.Alert == "XunchaCalendarNextYearMissing" {
					f.Groups[0].Rules[i].Expr = "max(xuncha_calendar_days_left) <= 62"
				}
			}
		}},
		{"calendar alert a day late", func(f *ruleFile, _ *dashboard) {
			for i, r := range f.Groups[0].Rules {
				if r.Alert == "XunchaCalendarNextYearMissing" {
					f.Groups[0].Rules[i].Expr = "max(xuncha_calendar_days_left) <= 30"
				}
			}
		}},
		{"panel without data source", func(_ *ruleFile, d *dashboard) { d.Panels[1].Datasource = datasource{} }},
		{"panel of an unknown metric", func(_ *ruleFile, d *dashboard) { d.Panels[1].Targets[0].Expr = "xuncha_nothing" }},
		{"repeated panel id", func(_ *ruleFile, d *dashboard) { d.Panels[2].ID = d.Panels[1].ID }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, d := readObservability(t)
			tc.breakIt(&rules, &d)
			if len(checkRules(rules))+len(checkDashboard(d)) == 0 {
				t.Error("no check complained")
			}
		})
	}
	// An unknown key in the rules file is refused, as promtool does.
	if _, err := parseRules([]byte("groups:\n  - name: x\n    rules:\n      - alert: XunchaX\n        expresion: up\n")); err == nil {
		t.Error("a misspelt key parses")
	}
}
