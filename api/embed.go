package api

import "embed"

//go:embed openapi.yaml
var files embed.FS

// OpenAPI returns the OpenAPI 3 document of the HTTP API, as YAML. The
// caller owns the slice.
func OpenAPI() []byte {
	b, err := files.ReadFile("openapi.yaml")
	if err != nil {
		// The file is compiled in: only a broken build gets here.
		panic("api: openapi.yaml is not embedded: " + err.Error())
	}
	return b
}
