package httpapi_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/pkg/client"
)

// Every error code is listed in the OpenAPI document's ErrorCode enum and
// exported by the SDK, and nothing else is.
func TestErrorCodesListedEverywhere(t *testing.T) {
	var server []string
	for _, e := range fault.Catalogue {
		server = append(server, string(e.Code))
	}
	for k := range fault.KindCode {
		if !slices.Contains(server, string(fault.KindCode[k])) {
			t.Errorf("default code %s missing from fault.Catalogue", fault.KindCode[k])
		}
	}
	doc, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)ErrorCode:.*?enum: \[([^\]]*)\]`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("no ErrorCode enum in openapi.yaml")
	}
	documented := regexp.MustCompile(`[a-z0-9_]+`).FindAllString(string(m[1]), -1) // codes are [a-z0-9_]
	var sdk []string
	for _, c := range client.ErrorCodes {
		sdk = append(sdk, string(c))
	}
	slices.Sort(server)
	slices.Sort(documented)
	slices.Sort(sdk)
	if fmt.Sprint(server) != fmt.Sprint(documented) || fmt.Sprint(server) != fmt.Sprint(sdk) {
		t.Fatalf("codes differ\nserver:  %v\nopenapi: %v\nsdk:     %v", server, documented, sdk)
	}
}
