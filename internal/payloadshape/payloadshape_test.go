package payloadshape_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/payloadshape"
)

type inner struct {
	Note string `json:"note,omitempty"`
}

type record struct {
	ID     string            `json:"id"`
	At     time.Time         `json:"at"`
	Count  int               `json:"count,omitempty"`
	Done   bool              `json:"done,omitempty"`
	Inner  *inner            `json:"inner,omitempty"`
	List   []inner           `json:"list,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Data   json.RawMessage   `json:"data,omitempty"`
	hidden string
}

// renamed is record with one JSON name changed, as a careless edit would.
type renamed struct {
	ID     string            `json:"identifier"`
	At     time.Time         `json:"at"`
	Count  int               `json:"count,omitempty"`
	Done   bool              `json:"done,omitempty"`
	Inner  *inner            `json:"inner,omitempty"`
	List   []inner           `json:"list,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Data   json.RawMessage   `json:"data,omitempty"`
}

// errorsOnly records a test's errors instead of failing it.
type errorsOnly struct {
	testing.TB
	errs []string
}

func (e *errorsOnly) Helper() {}
func (e *errorsOnly) Errorf(format string, a ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, a...))
}
func (e *errorsOnly) Fatalf(format string, a ...any) { e.Errorf(format, a...) }
func (e *errorsOnly) Fatal(a ...any)                 { e.Errorf("%v", fmt.Sprint(a...)) }

func TestFillSetsEveryExportedField(t *testing.T) {
	r := payloadshape.Fill(record{}).(record)
	require.Empty(t, payloadshape.ZeroFields(r))
	require.Equal(t, "record.ID", r.ID)
	require.Equal(t, "record.List[0].Note", r.List[0].Note)
	require.Empty(t, r.hidden, "unexported fields are not JSON")
	require.Equal(t, []string{"record.ID", "record.Inner"}, payloadshape.ZeroFields(record{At: time.Now(), Count: 1, Done: true,
		List: []inner{{Note: "n"}}, Labels: map[string]string{"k": "v"}, Data: json.RawMessage(`{}`)}))
}

func TestCheckCatchesARenamedField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payloads.json")
	ok := &errorsOnly{TB: t}
	payloadshape.Check(ok, path, map[string]any{"record": record{}}, true)
	require.Empty(t, ok.errs, "the file just written matches")

	changed := &errorsOnly{TB: t}
	payloadshape.Check(changed, path, map[string]any{"record": renamed{}}, false)
	require.Len(t, changed.errs, 1)
	require.Contains(t, changed.errs[0], "the JSON of record changed")

	missing := &errorsOnly{TB: t}
	payloadshape.Check(missing, path, map[string]any{"other": record{}}, false)
	require.Len(t, missing.errs, 2, "record is pinned but not named, other is named but not pinned: %v", missing.errs)
}

func TestDeclaredListsThePayloadStructs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.go"), []byte(`package a
type DrawInput struct{}
type DrawResult struct{ N int }
type drawInput struct{}
type Machine struct{}
type NameInput string
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a_test.go"), []byte("package a\ntype ProbeInput struct{}\n"), 0o644))
	got, err := payloadshape.Declared(dir, "Input", "Result")
	require.NoError(t, err)
	require.Equal(t, []string{"DrawInput", "DrawResult"}, got)

	listed := &errorsOnly{TB: t}
	payloadshape.CheckListed(listed, dir, map[string]any{"DrawInput": nil, "other.Result": nil, "GoneInput": nil})
	require.Len(t, listed.errs, 2, "DrawResult is left out and GoneInput is gone; other.Result is another package's: %v", listed.errs)
}
