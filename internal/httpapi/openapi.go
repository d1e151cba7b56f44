package httpapi

import (
	_ "embed"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the API contract, kept beside the handlers it describes;
// openapi_test.go drives every route against it.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document served at /openapi.yaml.
func OpenAPIDocument() []byte { return slices.Clone(openAPIDocument) }

// openAPI: GET /openapi.yaml (public, no limits: a static file).
func (s *Server) openAPI(c echo.Context) error {
	// A declared length lets HEAD answer it too (net/http cannot count a body it drops).
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(openAPIDocument)))
	return c.Blob(http.StatusOK, "application/yaml", openAPIDocument)
}
