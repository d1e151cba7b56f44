package stacks_test

import (
	"os"
	"testing"

	"github.com/stxgate/stxgate/internal/testgateway"
)

// TestMain removes the gateway binary the process tests built.
func TestMain(m *testing.M) { os.Exit(testgateway.Main(m)) }
