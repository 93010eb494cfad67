package jsoncanon_test

import (
	"testing"

	"github.com/xuncha/xuncha/internal/jsoncanon"
)

func TestAppend(t *testing.T) {
	plain := jsoncanon.Options{}
	dropping := jsoncanon.Options{DropEmpty: true, EmptyStrings: []string{"0001-01-01T00:00:00Z"}}
	html := jsoncanon.Options{HTMLEscaped: true}
	for _, c := range []struct {
		name string
		opt  jsoncanon.Options
		in   string
		want string // "" when Append must not take it
	}{
		{"white space and key order", plain, ` { "b" : [ 1 , true , null ] ,"a":{ "d":"x", "c":{} } } `, `{"a":{"c":{},"d":"x"},"b":[1,true,null]}`},
		{"keys by their bytes, between the quotes", plain, `{"中":1,"é":2,"a":3,"Z":4," ":5,"":6}`, `{"":6," ":5,"Z":4,"a":3,"é":2,"中":1}`},
		{"numbers as written", plain, `[0,-0,1.50,-0.5e-3,1E+9,12]`, `[0,-0,1.50,-0.5e-3,1E+9,12]`},
		{"nothing dropped without DropEmpty", plain, `{"a":null,"b":"","c":0,"d":[],"e":{},"f":false}`, `{"a":null,"b":"","c":0,"d":[],"e":{},"f":false}`},
		{"empty members dropped", dropping, `{"a":null,"b":"","c":0.0,"d":[],"e":{"x":false},"f":"0001-01-01T00:00:00Z","g":1}`, `{"g":1}`},
		{"a list keeps its elements", dropping, `{"l":[null,0,"",{}]}`, `{"l":[null,0,"",{}]}`},
		{"an object left empty at the top", dropping, `{"a":""}`, `{}`},
		{"HTML kept unless asked", plain, `"<a&b>` + "\u2028" + `"`, `"<a&b>` + "\u2028" + `"`},
		{"UTF-8 as it stands", plain, `"中文😀"`, `"中文😀"`},
		// Not taken: the caller's definition decides.
		{"an escape", plain, `"a\nb"`, ""},
		{"an escaped quote in a key", plain, `{"a\"":1}`, ""},
		{"a control character", plain, "\"a\tb\"", ""},
		{"not UTF-8", plain, "\"a\xffb\"", ""},
		{"HTML when asked", html, `"a<b"`, ""},
		{"a line separator when asked", html, "\"a\u2029b\"", ""},
		{"a key given twice", plain, `{"a":1,"a":2}`, ""},
		{"a leading zero", plain, `[01]`, ""},
		{"a bare dot", plain, `[1.]`, ""},
		{"an exponent without digits", plain, `[1e]`, ""},
		{"a lone minus", plain, `[-]`, ""},
		{"two values", plain, `{} {}`, ""},
		{"nothing", plain, ``, ""},
		{"unclosed", plain, `{"a":1`, ""},
		{"a trailing comma", plain, `[1,]`, ""},
		{"a bad literal", plain, `[tru]`, ""},
		{"a key not a string", plain, `{a:1}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := jsoncanon.Append([]byte("prefix:"), []byte(c.in), c.opt)
			if c.want == "" {
				if ok {
					t.Fatalf("took %q: %s", c.in, got)
				}
				return
			}
			if !ok {
				t.Fatalf("did not take %q", c.in)
			}
			if string(got) != "prefix:"+c.want {
				t.Errorf("got %s, want prefix:%s", got, c.want)
			}
		})
	}
}
