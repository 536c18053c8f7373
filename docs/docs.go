// Package docs carries the documents the server itself serves, such as the
// OpenAPI description at /openapi.yaml.
package docs

import _ "embed"

// OpenAPI is openapi.yaml, the description of the HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
