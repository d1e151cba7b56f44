package scratch

import (
	"testing"
	"github.com/stxgate/stxgate/internal/apikey"
)

func TestX(t *testing.T) { t.Log(apikey.PrefixLive) }
