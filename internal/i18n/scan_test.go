package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// formatCalls name the functions whose format argument (at the index) is a
// message for clients: each literal passed there must be in the catalogue.
var formatCalls = map[string]int{
	"Invalid": 1, // derrors.Invalid(field, rule, args...)
	"Add":     1, // derrors.Violations.Add(field, rule, args...)
	"New":     1, // derrors.New(kind, format, args...)
	"Says":    0, // derrors.StageError.Says(format, args...)
	"Zh":      0,
	"T":       0, // i18n.T(format, args...)
	// calendar's invalidArgument(subject, field, rule)
	"invalidArgument": 2,
	"Say":             0, // lang.Say(format, args...)
	// workflows.findingRefusal(f, action, reason, format, args...)
	"findingRefusal": 3,
	// calendar's violations.add(field, format, args...)
	"add":    1,
	"refuse": 2, // authn.refuse(kind, cause, format, args...)
}

// untranslatedStage stands, among the formats, for a StageError literal that
// sets Message itself instead of calling Says: the catalogue never has it.
const untranslatedStage = "derrors.StageError{Message: …} (use Says)"

// isStageError tells whether a composite literal's type is derrors.StageError.
func isStageError(t ast.Expr) bool {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "derrors" && sel.Sel.Name == "StageError"
}

// clientFormats returns every literal format string passed to formatCalls
// in the module's non-test Go files, with where it was first seen.
func clientFormats(t *testing.T) map[string]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "proto" || rel == "bin" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(rel, "internal/dbsqlc") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok && isStageError(lit.Type) {
				for _, e := range lit.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
							// Only Says writes a refusal's explanation, in both languages.
							out[untranslatedStage] = rel + ":" + strconv.Itoa(fset.Position(kv.Pos()).Line)
						}
					}
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				// A function of the package itself: ident(…).
				id, isIdent := call.Fun.(*ast.Ident)
				if !isIdent {
					return true
				}
				sel = &ast.SelectorExpr{X: ast.NewIdent(""), Sel: id}
			}
			i, ok := formatCalls[sel.Sel.Name]
			if !ok || len(call.Args) <= i {
				return true
			}
			if sel.Sel.Name == "New" {
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "derrors" {
					return true
				}
			}
			if sel.Sel.Name == "Zh" || sel.Sel.Name == "T" {
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "i18n" {
					return true
				}
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if _, ok := sel.X.(*ast.CallExpr); ok && sel.Sel.Name == "Add" {
				return true // w.Header().Add(name, value)
			}
			if _, seen := out[s]; !seen {
				out[s] = rel + ":" + strconv.Itoa(fset.Position(lit.Pos()).Line)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryClientMessageIsTranslated: a message written for clients has its
// Chinese in the catalogue, so Chinese (the default) never falls back to
// English.
func TestEveryClientMessageIsTranslated(t *testing.T) {
	var missing []string
	for format, at := range clientFormats(t) {
		if _, ok := zh[format]; !ok {
			missing = append(missing, strconv.Quote(format)+": \"\", // "+at)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d client messages have no Chinese in catalogue.go:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// TestChineseFitsTheArguments: each Chinese format formats the English's
// arguments without a fmt error (%!d(string=…), %!(EXTRA …), missing).
func TestChineseFitsTheArguments(t *testing.T) {
	verb := regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?([a-zA-Z%])`)
	for en, cn := range zh {
		var args []any
		for _, m := range verb.FindAllStringSubmatch(en, -1) {
			switch m[1] {
			case "%":
			case "d":
				args = append(args, 7)
			case "f", "g":
				args = append(args, 1.5)
			default:
				args = append(args, "x")
			}
		}
		if got := fmt.Sprintf(cn, args...); strings.Contains(got, "%!") {
			t.Errorf("%q: the Chinese %q formats as %q", en, cn, got)
		}
		if got := fmt.Sprintf(en, args...); strings.Contains(got, "%!") {
			t.Errorf("%q: the English formats as %q (the test's argument guess)", en, got)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	for header, want := range map[string]Lang{
		"": Chinese, "zh-CN": Chinese, "zh": Chinese, "en": English, "en-US,en;q=0.9": English,
		"zh-CN,zh;q=0.9,en;q=0.8": Chinese, "en;q=0.5,zh;q=0.9": Chinese, "fr": Chinese, "de,en;q=0.5": English, "!!": Chinese,
	} {
		if got := FromAcceptLanguage(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}
