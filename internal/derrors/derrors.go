// Package derrors defines the few kinds of domain error that xuncha's packages
// return and that the API maps to gRPC status codes in one table
// (api/errors.go). Wrap them with context: fmt.Errorf("reading inspection %q: %w", id, derrors.ErrNotFound).
package derrors

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/xuncha/xuncha/internal/i18n"
)

// Kinds of error. Compare with errors.Is.
var (
	// ErrNotFound means the named thing does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument means the request itself is wrong; see *InvalidError.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition means the request is well formed but the current
	// state does not allow it; see *StageError.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrAlreadyExists means an ID is taken by something else.
	ErrAlreadyExists = errors.New("already exists")
	// ErrPermissionDenied means the caller's role may not do this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnauthenticated means the caller did not say who they are.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable means a dependency (database, Temporal) cannot be reached.
	ErrUnavailable = errors.New("unavailable")
)

// IsRefusal reports whether err is a domain refusal (invalid argument,
// failed precondition, already exists, not found, permission denied):
// what a caller is answered with, having changed nothing, not a failure to
// retry as it is (the database unavailable, or any other).
func IsRefusal(err error) bool {
	for _, kind := range []error{ErrInvalidArgument, ErrFailedPrecondition, ErrAlreadyExists, ErrNotFound, ErrPermissionDenied} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// FieldViolation names a field of a request and the rule its value breaks.
type FieldViolation struct {
	// Field is the request field path, e.g. "inspection.unit.code".
	Field string `json:"field"`
	// Rule says what the value must be, e.g. "must not be empty".
	Rule string `json:"rule"`
	// RuleZH is Rule in Chinese (the catalogue's, internal/i18n); empty
	// when written by a binary from before it.
	RuleZH string `json:"rule_zh,omitempty"`
}

// violation formats rule with args in both languages.
func violation(field, rule string, args ...any) FieldViolation {
	t := i18n.T(rule, args...)
	return FieldViolation{Field: field, Rule: t.EN, RuleZH: t.ZH}
}

// In is the rule in lang.
func (v FieldViolation) In(lang i18n.Lang) string {
	return i18n.Text{EN: v.Rule, ZH: v.RuleZH}.In(lang)
}

// InvalidError lists what is wrong with a request. It matches ErrInvalidArgument.
type InvalidError struct {
	// Violations are the broken rules, in field order.
	Violations []FieldViolation `json:"violations"`
	// Summary, when set, opens the message: what the violations add up to
	// ("the workbook has 3 invalid cell(s); nothing was recorded"), in
	// each language.
	Summary i18n.Text `json:"summary,omitzero"`
}

// Error joins the violations as "field: rule; field: rule", after the
// summary when there is one.
func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Rule
	}
	if e.Summary.EN != "" {
		return e.Summary.EN + ": " + strings.Join(parts, "; ")
	}
	return strings.Join(parts, "; ")
}

// Summarized is e opening with summary.
func (e *InvalidError) Summarized(summary i18n.Text) *InvalidError {
	out := *e
	out.Summary = summary
	return &out
}

// Is makes errors.Is(err, ErrInvalidArgument) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalidArgument }

// Invalid returns an *InvalidError with one violation.
func Invalid(field, rule string, args ...any) *InvalidError {
	return &InvalidError{Violations: []FieldViolation{violation(field, rule, args...)}}
}

// Violations collects field violations while a request is checked.
type Violations []FieldViolation

// Add records that field breaks rule.
func (v *Violations) Add(field, rule string, args ...any) {
	*v = append(*v, violation(field, rule, args...))
}

// AddText records that field breaks rule, given in both languages (a rule
// computed apart from its field, e.g. by a parser, with i18n.T).
func (v *Violations) AddText(field string, rule i18n.Text) {
	*v = append(*v, FieldViolation{Field: field, Rule: rule.EN, RuleZH: rule.ZH})
}

// RequireText records that field must not be empty (or only white space)
// and holds at most max characters: the one text rule of every request
// field that must be filled.
func (v *Violations) RequireText(field, value string, max int) {
	if strings.TrimSpace(value) == "" {
		v.Add(field, "must not be empty")
		return
	}
	v.LimitText(field, value, max)
}

// RequireTextIf is RequireText when required and LimitText otherwise: a
// text one answer of a request must give and the others may (a refusal's
// reason, which an approval may add as a note).
func (v *Violations) RequireTextIf(required bool, field, value string, max int) {
	if required {
		v.RequireText(field, value, max)
		return
	}
	v.LimitText(field, value, max)
}

// LimitText records that field holds more than max characters (Unicode code
// points, so a Chinese character counts once).
func (v *Violations) LimitText(field, value string, max int) {
	if utf8.RuneCountInString(value) > max {
		v.Add(field, "must be at most %d characters", max)
	}
}

// Err returns nil when nothing was recorded, else an *InvalidError.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &InvalidError{Violations: v}
}

// StageError refuses an action the current stage does not allow. It matches
// ErrFailedPrecondition.
type StageError struct {
	// Reason is a stable UPPER_SNAKE code such as STAGE_NOT_ALLOWED.
	Reason string `json:"reason"`
	// Subject is what was asked, e.g. "finding/f-1".
	Subject string `json:"subject"`
	// Action is what was asked for, e.g. "refer".
	Action string `json:"action"`
	// Stage is the current stage.
	Stage string `json:"stage"`
	// Allowed are the actions the current stage allows.
	Allowed []string `json:"allowed"`
	// Message explains in a sentence; empty means a default.
	Message string `json:"message,omitempty"`
	// MessageZH is Message in Chinese (set by Says).
	MessageZH string `json:"message_zh,omitempty"`
}

// Says returns the refusal explained by format and args, in both
// languages (the catalogue's Chinese, internal/i18n).
func (e StageError) Says(format string, args ...any) *StageError {
	t := i18n.T(format, args...)
	e.Message, e.MessageZH = t.EN, t.ZH
	return &e
}

// In is the refusal's explanation in lang.
func (e *StageError) In(lang i18n.Lang) string {
	if e.Message != "" {
		return i18n.Text{EN: e.Message, ZH: e.MessageZH}.In(lang)
	}
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	if lang == i18n.Chinese {
		// The actions by their Chinese names: it read "不允许 diagnose".
		names := make([]string, len(e.Allowed))
		for i, a := range e.Allowed {
			names[i] = i18n.ActionOf(e.Subject, a)
		}
		allowed = strings.Join(names, "、")
		if len(e.Allowed) == 0 {
			allowed = "无"
		}
		// The subject as a clerk names it: 问题 f-1, not finding/f-1.
		subject := e.Subject
		if kind, id, ok := strings.Cut(e.Subject, "/"); ok {
			subject = i18n.SubjectKind(kind) + " " + id
		}
		return i18n.Zh("%s: %s is not allowed in stage %s (allowed: %s)", subject, i18n.ActionOf(e.Subject, e.Action), i18n.StageOf(e.Subject, e.Stage), allowed)
	}
	return fmt.Sprintf("%s: %s is not allowed in stage %s (allowed: %s)", e.Subject, e.Action, e.Stage, allowed)
}

// Error describes the refusal (in English).
func (e *StageError) Error() string { return e.In(i18n.English) }

// Is makes errors.Is(err, ErrFailedPrecondition) true.
func (e *StageError) Is(target error) bool { return target == ErrFailedPrecondition }

// kindError is a message that matches one kind.
type kindError struct {
	msg  i18n.Text
	kind error
}

func (e *kindError) Error() string        { return e.msg.EN }
func (e *kindError) Is(target error) bool { return target == e.kind }

// New returns an error with the formatted message that matches kind, e.g.
// derrors.New(derrors.ErrAlreadyExists, "inspection %q already exists", id);
// the message is also in Chinese (the catalogue's, internal/i18n).
func New(kind error, format string, args ...any) error {
	return &kindError{msg: i18n.T(format, args...), kind: kind}
}

// NotFound is the ErrNotFound error of the object of kind typ (a subject
// type: "finding", "line-up", …) with id, named in each language
// ("finding \"f-1\" not found", "未找到问题 \"f-1\"").
func NotFound(typ, id string) error {
	return New(ErrNotFound, "%s %q not found", i18n.Term(i18n.SubjectKind, typ), id)
}

// MessageInContext is Message with the context that wrapping added kept in
// front, in every language: for a command line, whose user needs to know
// which flag a refusal is about ("--expect-anchor: 锚点 …"; Message
// leaves the context out in Chinese).
func MessageInContext(err error, lang i18n.Lang) string {
	inner := refusalIn(err)
	if lang == i18n.English || inner == nil {
		return err.Error()
	}
	return strings.TrimSuffix(err.Error(), inner.Error()) + Message(inner, lang)
}

// refusalIn is the error in err's chain that Message says: a field
// violation, a stage refusal, a New error or one that says itself in each
// language; nil when there is none.
func refusalIn(err error) error {
	var invalid *InvalidError
	var stage *StageError
	var kind *kindError
	var says interface {
		error
		In(i18n.Lang) string
	}
	switch {
	case errors.As(err, &invalid):
		return invalid
	case errors.As(err, &stage):
		return stage
	case errors.As(err, &kind):
		return kind
	case errors.As(err, &says):
		return says
	}
	return nil
}

// Message returns err's message for a client in lang: a field violation's
// rules, a refusal's explanation or a New error's message, in lang where
// the catalogue has it. Context that wrapping added is for logs, not
// clients, and is left out in Chinese; English keeps err.Error().
func Message(err error, lang i18n.Lang) string {
	if lang == i18n.English {
		return err.Error()
	}
	var invalid *InvalidError
	var stage *StageError
	var kind *kindError
	switch {
	case errors.As(err, &invalid):
		parts := make([]string, len(invalid.Violations))
		for i, v := range invalid.Violations {
			parts[i] = v.Field + "：" + v.In(lang)
		}
		if invalid.Summary.EN != "" {
			return invalid.Summary.In(lang) + "：" + strings.Join(parts, "；")
		}
		return strings.Join(parts, "；")
	case errors.As(err, &stage):
		return stage.In(lang)
	case errors.As(err, &kind):
		return kind.msg.In(lang)
	}
	// Another package's error that says itself in each language (a
	// refused bearer token).
	var says interface{ In(i18n.Lang) string }
	if errors.As(err, &says) {
		return says.In(lang)
	}
	return err.Error()
}
