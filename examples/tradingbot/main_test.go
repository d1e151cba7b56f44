package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
)

// priceFeed serves the prices in turn (the last one forever) on loopback.
func priceFeed(t *testing.T, prices ...string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		fmt.Fprintf(w, `{"price": %s}`, prices[min(i, len(prices)-1)])
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// setup makes the wallet's client and an API key with perms on g.
func setup(t *testing.T, g *testgateway.Gateway, perms ...client.Permission) (*client.Client, string) {
	t.Helper()
	k := testgateway.Key(t, testgateway.PrivA)
	wallet := g.Wallet(t, k)
	key := testgateway.NewKey(t, wallet, "tradingbot", perms...)
	return wallet, key.APIKey
}

func newOrder(t *testing.T, wallet *client.Client, uuid string) {
	t.Helper()
	_, _, err := wallet.CreateOrder(context.Background(), client.NewOrder{UUID: uuid, InputToken: testgateway.SBTC,
		OutputToken: testgateway.WSTX, AmountIn: "1000000", TargetPrice: "0.30", Direction: "gt", ConditionToken: testgateway.SBTC})
	if err != nil {
		t.Fatal(err)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// One gateway for the whole package: each case uses its own order and key.
func TestBot(t *testing.T) {
	g := testgateway.Start(t)
	t.Run("ExecutesWhenThePriceCrosses", func(t *testing.T) { testExecutesWhenThePriceCrosses(t, g) })
	t.Run("StopsWhenTheOrderIsNotOpen", func(t *testing.T) { testStopsWhenTheOrderIsNotOpen(t, g) })
	t.Run("StopsOnAFatalRefusal", func(t *testing.T) { testStopsOnAFatalRefusal(t, g) })
	t.Run("KeepsGoingThroughPriceSourceErrors", func(t *testing.T) { testKeepsGoingThroughPriceSourceErrors(t, g) })
}

func testExecutesWhenThePriceCrosses(t *testing.T, g *testgateway.Gateway) {
	wallet, apiKey := setup(t, g, "execute")
	newOrder(t, wallet, "bot-1")
	feed, calls := priceFeed(t, "0.25", "0.28", "0.31")
	bot := &Bot{Client: g.Client(t, client.WithAPIKey(apiKey)), Interval: time.Millisecond, Log: quietLog()}
	src := HTTPPrice{URL: feed.URL, HTTP: feed.Client()}

	txid, err := bot.MonitorAndExecute(context.Background(), "bot-1", PriceAtLeast(src, 0.30))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^0x[0-9a-f]{64}$`).MatchString(txid) || calls.Load() != 3 {
		t.Fatalf("txid %q after %d price checks, want 3", txid, calls.Load())
	}
	o, _, err := g.Client(t).GetOrder(context.Background(), "bot-1")
	if err != nil || o.Status != "filled" || *o.TxID != txid {
		t.Fatalf("order after the bot: %+v %v", o, err)
	}
	// Run again: the order is filled already; the bot reports its txid and stops.
	again, err := bot.MonitorAndExecute(context.Background(), "bot-1", PriceAtLeast(src, 0.30))
	if err != nil || again != txid {
		t.Fatalf("second run: %q %v", again, err)
	}
}

func testStopsWhenTheOrderIsNotOpen(t *testing.T, g *testgateway.Gateway) {
	wallet, apiKey := setup(t, g, "execute")
	newOrder(t, wallet, "bot-cancelled")
	if _, _, err := wallet.CancelOrder(context.Background(), "bot-cancelled"); err != nil {
		t.Fatal(err)
	}
	feed, _ := priceFeed(t, "1")
	bot := &Bot{Client: g.Client(t, client.WithAPIKey(apiKey)), Interval: time.Millisecond, Log: quietLog()}
	_, err := bot.MonitorAndExecute(context.Background(), "bot-cancelled", PriceAtMost(HTTPPrice{URL: feed.URL, HTTP: feed.Client()}, 2))
	if !errors.Is(err, ErrOrderNotOpen) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err %v, want ErrOrderNotOpen (cancelled)", err)
	}
}

func testStopsOnAFatalRefusal(t *testing.T, g *testgateway.Gateway) {
	wallet, apiKey := setup(t, g, "cancel") // no execute permission
	newOrder(t, wallet, "bot-403")
	feed, _ := priceFeed(t, "1")
	bot := &Bot{Client: g.Client(t, client.WithAPIKey(apiKey)), Interval: time.Millisecond, Log: quietLog()}
	_, err := bot.MonitorAndExecute(context.Background(), "bot-403", PriceAtLeast(HTTPPrice{URL: feed.URL, HTTP: feed.Client()}, 0.5))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Fatalf("err %v, want the 403", err)
	}
}

func testKeepsGoingThroughPriceSourceErrors(t *testing.T, g *testgateway.Gateway) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"price": 0.5}`)
	}))
	defer srv.Close()
	wallet, apiKey := setup(t, g, "execute")
	newOrder(t, wallet, "bot-flaky")
	bot := &Bot{Client: g.Client(t, client.WithAPIKey(apiKey)), Interval: time.Millisecond, Log: quietLog()}
	if _, err := bot.MonitorAndExecute(context.Background(), "bot-flaky", PriceAtLeast(HTTPPrice{URL: srv.URL, HTTP: srv.Client()}, 0.3)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d price checks, want 3", calls.Load())
	}
}

func TestRunChecksItsArguments(t *testing.T) {
	env := func(string) string { return "" }
	for _, args := range [][]string{{}, {"-order", "x"}, {"-order", "x", "-above", "1", "-below", "2"}} {
		if err := run(context.Background(), args, env, quietLog()); err == nil {
			t.Fatalf("run %v: no error", args)
		}
	}
	if err := run(context.Background(), []string{"-order", "x", "-above", "1"}, env, quietLog()); err == nil || !strings.Contains(err.Error(), "STXGATE_API_KEY") {
		t.Fatalf("no API key: %v", err)
	}
}
