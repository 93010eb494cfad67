// Package payloadshape pins the JSON of the types that workflow histories
// hold: workflow inputs, Update arguments and answers, activity inputs and
// results, and the casework records inside them. A field added, dropped,
// renamed or retyped changes what a recorded history decodes to, so the
// tests of those packages compare each type's JSON, with every field set,
// with a file kept beside them, and fail until it is rewritten on purpose
// (go test ./pkg -update) and the change is checked against the recorded
// histories (workflows/testdata/replay).
package payloadshape

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Update is the -update flag of every test binary that pins payloads
// (go test ./pkg -update): pass *Update to Check. The package is imported by
// tests only, so the flag is theirs.
var Update = flag.Bool("update", false, "rewrite testdata/payloads.json from the types")

// at is the instant every time field is set to.
var at = time.Date(2026, 3, 2, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// Fill returns a value of zero's type with every exported field set,
// recursively: strings to their path, numbers to 7 (0.5), booleans true,
// one element in each list and map, times to one instant, JSON to an
// object naming its path. A field left zero would be omitted (omitempty)
// and so not pinned; ZeroFields finds any.
func Fill(zero any) any {
	v := reflect.New(reflect.TypeOf(zero)).Elem()
	fill(v, v.Type().Name())
	return v.Interface()
}

func fill(v reflect.Value, path string) {
	switch v.Type() {
	case reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(at))
		return
	case reflect.TypeOf(json.RawMessage{}):
		v.Set(reflect.ValueOf(json.RawMessage(fmt.Sprintf(`{"path":%q}`, path))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), path+"[0]")
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, path+".key")
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, path+".value")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), fieldPath(path, f))
			}
		}
	}
}

// fieldPath is the path of field f of the struct at path. An embedded
// struct's fields stand in its container's JSON object, so its name is no
// part of their paths: a struct's fields moved into an embedded one keep
// the values Fill gives them, as they keep their JSON.
func fieldPath(path string, f reflect.StructField) string {
	if f.Anonymous {
		return path
	}
	return path + "." + f.Name
}

// ZeroFields lists the exported fields under v that are zero (interfaces
// aside: Fill cannot choose their type).
func ZeroFields(v any) []string {
	rv := reflect.ValueOf(v)
	return zeroFields(rv, rv.Type().Name())
}

func zeroFields(v reflect.Value, path string) []string {
	if v.Type() == reflect.TypeOf(time.Time{}) || v.Type() == reflect.TypeOf(json.RawMessage{}) {
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		return zeroFields(v.Index(0), path+"[0]")
	case reflect.Struct:
		var zero []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				zero = append(zero, zeroFields(v.Field(i), fieldPath(path, f))...)
			}
		}
		return zero
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// Shapes is the JSON of each named type, filled.
func Shapes(types map[string]any) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(types))
	for name, zero := range types {
		b, err := json.Marshal(Fill(zero))
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// Write writes the shapes of types to path, one type a key, indented.
func Write(path string, types map[string]any) error {
	shapes, err := Shapes(types)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(shapes, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Read reads the shapes Write wrote.
func Read(path string) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var shapes map[string]json.RawMessage
	if err := json.Unmarshal(b, &shapes); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return shapes, nil
}

// Declared lists the exported struct types declared in the Go files (tests
// aside) of dir whose names end in one of suffixes, sorted: what a
// package's list of payload types must name.
func Declared(dir string, suffixes ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if _, isStruct := ts.Type.(*ast.StructType); !isStruct || !ts.Name.IsExported() {
					continue
				}
				for _, suffix := range suffixes {
					if strings.HasSuffix(ts.Name.Name, suffix) {
						names = append(names, ts.Name.Name)
						break
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// Check compares the shapes of types with the file at path (rewriting it
// first when update), and checks that each type decodes what it encodes
// and that Fill left none of its fields zero. Every difference is an error
// of t naming the type.
func Check(t testing.TB, path string, types map[string]any, update bool) {
	t.Helper()
	if update {
		if err := Write(path, types); err != nil {
			t.Fatal(err)
		}
	}
	want, err := Read(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	got, err := Shapes(types)
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if _, ok := types[name]; !ok {
			t.Errorf("%s pins %s, which the test no longer names", path, name)
		}
	}
	for name, zero := range types {
		for _, f := range ZeroFields(Fill(zero)) {
			t.Errorf("%s: Fill leaves %s zero, so it is not pinned", name, f)
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s does not pin %s yet (go test -update adds it)", path, name)
			continue
		}
		if !sameJSON(w, got[name]) {
			t.Errorf("the JSON of %s changed; recorded histories hold the old one.\nwas: %s\nnow: %s", name, w, got[name])
			continue
		}
		back := reflect.New(reflect.TypeOf(zero))
		if err := json.Unmarshal(w, back.Interface()); err != nil {
			t.Errorf("%s does not decode its own JSON: %v", name, err)
			continue
		}
		again, err := json.Marshal(back.Elem().Interface())
		if err != nil || !sameJSON(w, again) {
			t.Errorf("%s does not decode what it encodes: %s became %s (%v)", name, w, again, err)
		}
	}
}

// Suffixes end the names of the types a package's payloads are: workflow
// and activity inputs, results, states, signals and terms.
var Suffixes = []string{"Input", "Result", "State", "Signal", "Terms"}

// CheckListed checks that types names every exported struct of the package
// in dir whose name ends in one of Suffixes, and nothing it no longer
// declares; a qualified name ("deadline.Resolved") is another package's
// type and not looked for in dir. Each difference is an error of t.
func CheckListed(t testing.TB, dir string, types map[string]any) {
	t.Helper()
	declared, err := Declared(dir, Suffixes...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range declared {
		if _, ok := types[name]; !ok {
			t.Errorf("%s is a payload type the test does not name: add it, then go test -update", name)
		}
	}
	for name := range types {
		if !strings.Contains(name, ".") && !slices.Contains(declared, name) {
			t.Errorf("the test names %s, which %s no longer declares", name, dir)
		}
	}
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
