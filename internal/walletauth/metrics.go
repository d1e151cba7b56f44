package walletauth

import (
	"time"

	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// verifyMessage is stacks.VerifyMessage, counted and timed (Config.Metrics may be nil).
func (v *Verifier) verifyMessage(msg, sig string, wallet stacks.Address) ([]byte, error) {
	start := time.Now()
	pub, err := stacks.VerifyMessage([]byte(msg), sig, wallet)
	v.cfg.Metrics.Signature(metrics.SigMessage, start, err)
	return pub, err
}
