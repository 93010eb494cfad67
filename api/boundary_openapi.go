package api

import (
	"encoding/json"
	"fmt"
	"strings"
)

// boundaryDescription is added to the OpenAPI document's description: the
// character rules that maxLength cannot express.
const boundaryDescription = `

Every string of every request is checked where it enters, REST and gRPC alike, and a
violation is a 400 / INVALID_ARGUMENT with a google.rpc.BadRequest naming the field and the
rule: valid UTF-8; no control characters (free-text fields such as descriptions, notes and
reports may contain newline, carriage return and tab); no bidirectional formatting
characters; identifiers without spaces; lengths in characters (Unicode code points) as
each field's maxLength states; dates written YYYY-MM-DD between 2000-01-01 and 2100-12-31.
Every list or map of a request holds at most 100 elements (finding_dues at most 5000,
holidays and makeup_days at most 40 each); one more is refused for its count.`

// annotateOpenAPI states the boundary's limits in the OpenAPI document: each
// string property and parameter named in stringRules gets its maxLength
// (dates also their format), so a generated client knows them.
func annotateOpenAPI(doc []byte) ([]byte, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	if info, ok := d["info"].(map[string]any); ok {
		desc, _ := info["description"].(string)
		if !strings.Contains(desc, "is checked where it enters") {
			info["description"] = desc + boundaryDescription
		}
	}
	definitions, _ := d["definitions"].(map[string]any)
	for _, def := range definitions {
		props, _ := def.(map[string]any)["properties"].(map[string]any)
		for name, p := range props {
			annotateSchema(name, p)
		}
	}
	paths, _ := d["paths"].(map[string]any)
	for _, path := range paths {
		ops, _ := path.(map[string]any)
		for _, op := range ops {
			params, _ := op.(map[string]any)["parameters"].([]any)
			for _, p := range params {
				param, _ := p.(map[string]any)
				name, _ := param["name"].(string)
				annotateSchema(name, param)
				// Body schemas of custom methods are inline definitions.
				if schema, ok := param["schema"].(map[string]any); ok {
					props, _ := schema["properties"].(map[string]any)
					for name, p := range props {
						annotateSchema(name, p)
					}
				}
			}
		}
	}
	return json.MarshalIndent(d, "", "  ")
}

// annotateSchema sets maxLength (and format for dates) on a string schema or
// parameter named name, or on the items of an array of strings.
func annotateSchema(name string, s any) {
	schema, ok := s.(map[string]any)
	if !ok {
		return
	}
	rule, ok := stringRules[name]
	if !ok {
		return
	}
	switch schema["type"] {
	case "string":
		if _, isEnum := schema["enum"]; isEnum {
			return
		}
		schema["maxLength"] = rule.max
		if rule.kind == date {
			schema["format"] = "date"
		}
	case "array":
		annotateSchema(name, schema["items"])
	case "object":
		if values, ok := schema["additionalProperties"].(map[string]any); ok {
			annotateSchema(name, values)
		}
	}
}
