// Package openapi embeds the OpenAPI document generated from the protos
// (make generate), served at /openapi.json.
package openapi

import _ "embed"

// Document is the OpenAPI (Swagger 2.0) description of the REST API.
//
//go:embed xuncha.swagger.json
var Document []byte
