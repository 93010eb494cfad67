package casework_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
)

var update = flag.Bool("update", false, "rewrite testdata/shape from the types")

// payloads are the types the workflows carry in their state and histories.
var payloads = map[string]any{
	"finding":           casework.Finding{},
	"inspection":        casework.Inspection{},
	"interview":         casework.Interview{},
	"event":             casework.Event{},
	"escalation":        casework.Escalation{},
	"escalation_policy": casework.EscalationPolicy{},
	"expert":            casework.Expert{},
	"lineup":            casework.Lineup{},
	"invitation":        casework.Invitation{},
	"referral_route":    casework.ReferralRoute{},
	"exposure":          casework.Exposure{},
	"webhook":           casework.Webhook{},
	"outbox_delivery":   casework.OutboxDelivery{},
	"pool_candidates":   casework.PoolCandidates{},
}

// TestPayloadsKeepTheirShape pins the JSON of every payload type with every
// field set (testdata/shape, one file per type). A field added, dropped,
// renamed or retyped changes what recorded histories hold, so it fails
// here until the file is rewritten on purpose (go test ./casework -update)
// and the change is checked against workflows/testdata/replay. A column
// change in the ledger touches none of these.
func TestPayloadsKeepTheirShape(t *testing.T) {
	for name, zero := range payloads {
		t.Run(name, func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(zero))
			fill(v.Elem(), name)
			got, err := json.MarshalIndent(v.Interface(), "", "  ")
			require.NoError(t, err)
			path := filepath.Join("testdata", "shape", name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got), "the JSON of %T changed: recorded histories hold the old one", zero)

			// What a history holds decodes back whole.
			back := reflect.New(reflect.TypeOf(zero))
			require.NoError(t, json.Unmarshal(want, back.Interface()))
			again, err := json.Marshal(back.Interface())
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(again), "%T does not decode what it encodes", zero)
		})
	}
}

// TestFillSetsEveryField keeps the test above honest: a field fill left
// zero would be omitted (omitempty) and so not pinned.
func TestFillSetsEveryField(t *testing.T) {
	for name, zero := range payloads {
		v := reflect.New(reflect.TypeOf(zero)).Elem()
		fill(v, name)
		for _, path := range zeroFields(v, name) {
			t.Errorf("fill leaves %s zero", path)
		}
	}
}

var at = time.Date(2026, 3, 2, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// fill sets every exported field of v, recursively, to a value that names
// its path (strings), 7 (numbers), true, one element or at.
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
				fill(v.Field(i), path+"."+f.Name)
			}
		}
	}
}

// zeroFields lists the exported fields under v that are zero.
func zeroFields(v reflect.Value, path string) []string {
	if v.Type() == reflect.TypeOf(time.Time{}) || v.Type() == reflect.TypeOf(json.RawMessage{}) {
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
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
				zero = append(zero, zeroFields(v.Field(i), path+"."+f.Name)...)
			}
		}
		return zero
	case reflect.Interface:
		return nil
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}
