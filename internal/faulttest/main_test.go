package faulttest

import (
	"os"
	"testing"

	"github.com/stxgate/stxgate/internal/testgateway"
)

func TestMain(m *testing.M) { os.Exit(testgateway.Main(m)) }

// gatewayBinary is the stxgate binary, built once per package run, with the
// race detector when the tests have it.
func gatewayBinary(t testing.TB) string {
	t.Helper()
	if raceEnabled {
		return testgateway.RaceBinary(t)
	}
	return testgateway.Binary(t)
}
