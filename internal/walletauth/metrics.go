package walletauth

import (
	"time"

	"github.com/stxgate/stxgate/internal/metrics/label"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Metrics is what the verifier reports; *metrics.Metrics implements it. The
// domain sees only this, so it does not import Prometheus or the transport.
type Metrics interface {
	Signature(kind string, start time.Time, err error)
}

type noMetrics struct{}

func (noMetrics) Signature(string, time.Time, error) {}

// verifyMessage is stacks.VerifyMessage, counted and timed: checked against
// the wallet's key when a signature recovered it before (keys.go), with its
// table once the wallet keeps signing, the same acceptance and errors
// without a recovery.
func (v *Verifier) verifyMessage(msg, sig string, wallet stacks.Address) ([]byte, error) {
	start := time.Now()
	e, known := v.keys.get(wallet)
	pub, k, err := stacks.VerifyMessageKnown([]byte(msg), sig, wallet, known)
	if err == nil {
		v.keys.verified(wallet, e, known, k)
	}
	v.cfg.Metrics.Signature(label.SigMessage, start, err)
	return pub, err
}
