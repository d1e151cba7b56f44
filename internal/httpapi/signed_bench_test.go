package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// BenchmarkSignedListInProcess is GET /api/v1/api-keys with a distinct
// wallet-signed message each time (no verified-read cache hit), through the
// whole in-process stack; BenchmarkRecoverOne is the one signature recovery
// inside it. Their difference is what the signed path adds to the recovery
// (issue 16: at most 0.4 of a recovery).
func BenchmarkSignedListInProcess(b *testing.B) {
	h, _ := inProcessGateway(b)
	k, err := stacks.ParsePrivateKey("edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01")
	if err != nil {
		b.Fatal(err)
	}
	addr := k.Address(stacks.Mainnet).String()
	now, signed := time.Now().UnixMilli(), int64(0)
	// batch signs the next n distinct messages (timestamps a millisecond
	// apart, all inside the window), with the clock stopped.
	batch := func(n int) []*http.Request {
		b.StopTimer()
		defer b.StartTimer()
		reqs := make([]*http.Request, n)
		for i := range reqs {
			signed++
			msg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, now-signed)
			sig, err := stacks.SignMessage(k, []byte(msg))
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/api/v1/api-keys", nil)
			r.Header.Set("X-Message", msg)
			r.Header.Set("X-Signature", sig)
			r.Header.Set("X-Wallet-Address", addr)
			reqs[i] = r
		}
		return reqs
	}
	b.ReportAllocs()
	var reqs []*http.Request
	for b.Loop() {
		if len(reqs) == 0 {
			reqs = batch(1024)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[0])
		reqs = reqs[1:]
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkRecoverOne(b *testing.B) {
	k, _ := stacks.ParsePrivateKey("edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01")
	msg := []byte(`{"action":"list_api_keys","timestamp":1}`)
	sig, _ := stacks.SignMessage(k, msg)
	addr := k.Address(stacks.Mainnet)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stacks.VerifyMessage(msg, sig, addr); err != nil {
			b.Fatal(err)
		}
	}
}
