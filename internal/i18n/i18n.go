// Package i18n is xuncha's message catalogue: the client-facing messages in
// Chinese (the default) and English (the code's own text, and what an
// Accept-Language of English asks for). Messages are keyed by their English
// format string, so the code stays readable and one table, catalogue.go,
// holds every translation.
package i18n

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Lang is the language of an answer.
type Lang int

const (
	// Chinese is the default.
	Chinese Lang = iota
	// English is the code's own text.
	English
)

func (l Lang) String() string {
	if l == English {
		return "en"
	}
	return "zh"
}

var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// FromAcceptLanguage picks the answer's language from an Accept-Language
// value (HTTP header or gRPC metadata): English when the caller prefers
// English to Chinese, Chinese otherwise (also when the value is empty or
// malformed).
func FromAcceptLanguage(header string) Lang {
	if header == "" {
		return Chinese
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return Chinese
	}
	_, index, conf := matcher.Match(tags...)
	if index == 1 && conf != language.No {
		return English
	}
	return Chinese
}

// Zh formats a message in Chinese: the catalogue's Chinese of format (the
// English format string) with args, or the English when the catalogue has
// none. The Chinese is formatted with fmt, like the English: a
// golang.org/x/text/message printer would group digits by locale and turn
// a year into "2,026".
func Zh(format string, args ...any) string {
	if t, ok := zh[format]; ok {
		format = t
	}
	return fmt.Sprintf(format, in(Chinese, args)...)
}

// in renders the Text arguments among args in lang, so that a message can
// hold another (T("key %s: %s", key, rule)).
func in(lang Lang, args []any) []any {
	var out []any
	for i, a := range args {
		if t, ok := a.(Text); ok {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = t.In(lang)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// Text is a message in both languages.
type Text struct {
	EN string `json:"en"`
	ZH string `json:"zh,omitempty"`
}

// T formats format with args in both languages; a Text among args is
// formatted in each.
func T(format string, args ...any) Text {
	return Text{EN: fmt.Sprintf(format, in(English, args)...), ZH: Zh(format, args...)}
}

// String is the English: a Text formatted with fmt reads as the code's own
// text; T, Zh and Say format it in their language.
func (t Text) String() string { return t.EN }

// In returns the text in lang (English when no Chinese was given).
func (t Text) In(lang Lang) string {
	if lang == Chinese && t.ZH != "" {
		return t.ZH
	}
	return t.EN
}

// Listed is items as each language lists them ("a, b" and "a、b"), with
// "…" after them when more stand behind them than were given: the first of
// many IDs a refusal names.
func Listed(items []string, more bool) Text {
	t := Text{EN: strings.Join(items, ", "), ZH: strings.Join(items, "、")}
	if more {
		t.EN, t.ZH = t.EN+", …", t.ZH+"……"
	}
	return t
}

// Clip is s cut to at most n characters, the last of them "…" when it was
// cut: for text a caller sent, quoted back or stored beside a record.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(append(r[:max(n-1, 0)], '…'))
}

// Clip is the text cut to at most n characters in each language (Clip).
func (t Text) Clip(n int) Text { return Text{EN: Clip(t.EN, n), ZH: Clip(t.ZH, n)} }

// Say formats format with args in l: the catalogue's Chinese, or the
// English.
func (l Lang) Say(format string, args ...any) string {
	if l == Chinese {
		return Zh(format, args...)
	}
	return fmt.Sprintf(format, in(English, args)...)
}

type langKey struct{}

// NewContext returns ctx carrying the language of the call's answers.
func NewContext(ctx context.Context, l Lang) context.Context {
	return context.WithValue(ctx, langKey{}, l)
}

// FromContext is the language NewContext put in ctx, Chinese if none.
func FromContext(ctx context.Context) Lang {
	l, _ := ctx.Value(langKey{}).(Lang)
	return l
}
