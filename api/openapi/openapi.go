// Package openapi embeds the OpenAPI document generated from the protos
// (make generate) and serves it, at /openapi.json, merged with a
// hand-written fragment (handwritten.yaml) for what the protos cannot
// declare: the bearer-token scheme and the evidence endpoints.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Generated is the OpenAPI (Swagger 2.0) description generated from the
// protos, as `make check-generated` expects it.
//
//go:embed xuncha.swagger.json
var Generated []byte

// handwritten is the fragment merged into Generated.
//
//go:embed handwritten.yaml
var handwritten []byte

// Document returns the served OpenAPI document: Generated with the
// hand-written fragment merged in. Maps (paths, definitions,
// securityDefinitions) gain the fragment's entries, lists (tags, security)
// its items; a fragment entry that would replace a generated one is an
// error, so that regenerating never silently loses either.
func Document() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(Generated, &doc); err != nil {
		return nil, fmt.Errorf("openapi: reading the generated document: %w", err)
	}
	var extra map[string]any
	if err := yaml.Unmarshal(handwritten, &extra); err != nil {
		return nil, fmt.Errorf("openapi: reading handwritten.yaml: %w", err)
	}
	for key, value := range extra {
		merged, err := merge(key, doc[key], value)
		if err != nil {
			return nil, err
		}
		doc[key] = merged
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: writing the merged document: %w", err)
	}
	return out, nil
}

// merge combines a top-level value of the generated document with the
// fragment's value for the same key.
func merge(key string, generated, extra any) (any, error) {
	if generated == nil {
		return extra, nil
	}
	switch g := generated.(type) {
	case map[string]any:
		e, ok := extra.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi: handwritten.yaml: %s must be a map, as in the generated document", key)
		}
		for name, value := range e {
			if _, taken := g[name]; taken {
				return nil, fmt.Errorf("openapi: handwritten.yaml: %s.%s is already in the generated document", key, name)
			}
			g[name] = value
		}
		return g, nil
	case []any:
		e, ok := extra.([]any)
		if !ok {
			return nil, fmt.Errorf("openapi: handwritten.yaml: %s must be a list, as in the generated document", key)
		}
		return append(g, e...), nil
	default:
		return nil, fmt.Errorf("openapi: handwritten.yaml: %s is already in the generated document", key)
	}
}
