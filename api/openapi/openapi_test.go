package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// refs collects every "$ref" in a decoded JSON document.
func refs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			refs(val, out)
		}
	case []any:
		for _, val := range x {
			refs(val, out)
		}
	}
}

// resolve follows a local JSON pointer such as #/definitions/v1Actor.
func resolve(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func TestDocument(t *testing.T) {
	data, err := Document()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc), "valid JSON")
	require.Equal(t, "2.0", doc["swagger"])

	var all []string
	refs(doc, &all)
	require.NotEmpty(t, all)
	for _, ref := range all {
		require.True(t, resolve(doc, ref), "$ref %s resolves", ref)
	}

	// The bearer token, applied to every operation.
	sec := doc["securityDefinitions"].(map[string]any)["bearer"].(map[string]any)
	require.Equal(t, map[string]any{"type": "apiKey", "in": "header", "name": "Authorization"},
		map[string]any{"type": sec["type"], "in": sec["in"], "name": sec["name"]})
	require.Equal(t, []any{map[string]any{"bearer": []any{}}}, doc["security"])

	// Evidence: upload with its query parameters and raw body, download.
	paths := doc["paths"].(map[string]any)
	upload := paths["/v1/evidence"].(map[string]any)["post"].(map[string]any)
	params := map[string]string{}
	for _, p := range upload["parameters"].([]any) {
		pm := p.(map[string]any)
		params[pm["name"].(string)] = pm["in"].(string)
	}
	require.Equal(t, map[string]string{"kind": "query", "sha256": "query", "captured_at": "query",
		"captured_by": "query", "file_name": "query", "file": "body"}, params)
	require.Contains(t, paths["/v1/evidence/{id}"], "get")
	require.Contains(t, paths["/v1/evidence/{id}/content"], "get")
	// The problem list's export.
	require.Contains(t, paths["/v1/findings:export"], "get")
	// Its template and import, and the round's summary.
	require.Contains(t, paths["/v1/findings:template"], "get")
	require.Contains(t, paths["/v1/inspections/{inspection_id}/findings:import"], "post")
	require.Contains(t, paths["/v1/rounds/{round}/summary.xlsx"], "get")

	// The generated part is all there.
	var generated map[string]any
	require.NoError(t, json.Unmarshal(Generated, &generated))
	for p := range generated["paths"].(map[string]any) {
		require.Contains(t, paths, p)
	}
	require.Len(t, paths, len(generated["paths"].(map[string]any))+7)
}

func TestMergeRefusesToReplace(t *testing.T) {
	_, err := merge("paths", map[string]any{"/v1/x": map[string]any{}}, map[string]any{"/v1/x": map[string]any{}})
	require.ErrorContains(t, err, "paths./v1/x is already in the generated document")
	_, err = merge("swagger", "2.0", "3.0")
	require.ErrorContains(t, err, "swagger is already")
	got, err := merge("tags", []any{"a"}, []any{"b"})
	require.NoError(t, err)
	require.Equal(t, []any{"a", "b"}, got)
}
