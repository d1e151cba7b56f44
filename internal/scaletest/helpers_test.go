package scaletest

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"

	dto "github.com/prometheus/client_model/go"
)

// privA is the stacks.js documentation key (shared/vectors).
const privA = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"

// Token principals the gateway accepts.
const (
	tokenIn  = "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token"
	tokenOut = "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx"
)

func signer(t testing.TB) client.PrivateKeySigner {
	t.Helper()
	k, err := stacks.ParsePrivateKey(privA)
	if err != nil {
		t.Fatal(err)
	}
	return client.PrivateKeySigner{Key: k}
}

// defaultConfig is the gateway configuration with every default, as an
// empty environment gives it.
func defaultConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startInProcess serves an in-process gateway with exactly cfg on loopback HTTP.
func startInProcess(t testing.TB, cfg config.Config, opt app.Options) *testgateway.Gateway {
	t.Helper()
	return testgateway.StartWith(t, cfg, opt)
}

// apiStatus is the HTTP status of a client call's error (200 when nil).
func apiStatus(t testing.TB, err error) (int, string) {
	t.Helper()
	if err == nil {
		return http.StatusOK, ""
	}
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("transport error: %v", err)
	}
	return apiErr.Status, apiErr.Message
}

// selfAtOnce makes n Self calls at once, call i through bots[i%len(bots)],
// and counts those admitted (200) and rate-limited (429); any other answer
// fails the test.
func selfAtOnce(t testing.TB, ctx context.Context, bots []*client.Client, n int) (admitted, limited int64) {
	t.Helper()
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, err := bots[i%len(bots)].Self(ctx)
			switch st, _ := apiStatus(t, err); st {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				refused.Add(1)
			default:
				t.Errorf("self: %v", err)
			}
		})
	}
	wg.Wait()
	return ok.Load(), refused.Load()
}

// newOrder is a valid order of the signer, open for an hour.
func newOrder(t testing.TB) client.NewOrder {
	t.Helper()
	addr := signer(t).Address(stacks.Mainnet)
	now := time.Now().Truncate(time.Second)
	return client.NewOrder{
		InputToken: tokenIn, OutputToken: tokenOut, AmountIn: "1000000", TargetPrice: "0.30",
		Direction: "gt", ConditionToken: tokenIn, Recipient: addr,
		ValidFrom: now.Add(-time.Minute), ValidTo: now.Add(time.Hour),
	}
}

// scrape is one /metrics answer, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t testing.TB, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape %s: Content-Type %q", url, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape of %s: %v", url, err)
	}
	return fams
}

// value sums the samples of name whose labels include want (counter, gauge
// or untyped value; for a histogram, its sample count). ok is false when no
// sample matched.
func (s scrape) value(name string, want map[string]string) (sum float64, ok bool) {
	fam := s[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, ok
}

// histogramSum is the sum of observations of a histogram's matching series.
func (s scrape) histogramSum(name string, want map[string]string) float64 {
	var sum float64
	if fam := s[name]; fam != nil {
		for _, m := range fam.GetMetric() {
			if hasLabels(m, want) && m.Histogram != nil {
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// total sums name over several scrapes (one per gateway instance).
func total(t testing.TB, scrapes []scrape, name string, labels map[string]string) float64 {
	t.Helper()
	var sum float64
	seen := false
	for _, s := range scrapes {
		v, ok := s.value(name, labels)
		sum += v
		seen = seen || ok
	}
	if !seen {
		t.Fatalf("no series %s%v in any scrape", name, labels)
	}
	return sum
}

type labels = map[string]string

// with is l plus the label k=v.
func with(l labels, k, v string) labels {
	out := labels{k: v}
	maps.Copy(out, l)
	return out
}

// freePort is a loopback port nobody listens on now, whose port+10000 (a
// Redis Cluster bus port) is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port
	}
	t.Fatal("no free port pair found")
	return 0
}
