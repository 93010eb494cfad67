package xunchav1

import _ "embed"

// HTTPRules is the service config that binds each RPC to its REST path
// (xuncha_api.yaml, read by grpc-gateway and the OpenAPI generator). The API
// reads it too, to name the resource a request targets.
//
//go:embed xuncha_api.yaml
var HTTPRules []byte
