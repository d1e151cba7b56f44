package ordersig

import (
	"testing"

	"github.com/stxgate/stxgate/pkg/vectors"
)

// The vector model and loader live in pkg/vectors (shared with the
// other packages' tests).
type (
	vecField   = vectors.Field
	vectorFile = vectors.File
)

func loadVectors(t testing.TB) *vectorFile { return vectors.Load(t) }
