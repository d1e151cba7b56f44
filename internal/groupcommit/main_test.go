package groupcommit

import (
	"testing"

	"go.uber.org/goleak"
)

// Runner goroutines end once their queue is drained: none outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
