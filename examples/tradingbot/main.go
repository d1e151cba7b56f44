// Command tradingbot watches a price and executes one of its wallet's orders
// when a condition holds: the reference docs' monitorAndExecute, on the Go SDK.
//
//	STXGATE_URL=http://127.0.0.1:8080 STXGATE_API_KEY=ck_live_... \
//	  go run ./examples/tradingbot -order <uuid> -price-url http://127.0.0.1:9000/price -above 0.30
//
// The price source answers JSON {"price": <number>}. The bot checks it every
// -interval; when the condition holds it executes the order with its API key
// (which needs the execute permission). It stops when the order is executed,
// when the order is cancelled or expired (order_not_open), or on an error
// that retrying cannot fix (a bad or revoked key, another wallet's order).
// Rate limits, settlement hiccups (a rejected settlement reopens the order;
// one of unknown outcome is reconciled by the gateway) and an unreachable
// gateway are waited out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, log); err != nil {
		log.Error("tradingbot stopped", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger) error {
	fs := flag.NewFlagSet("tradingbot", flag.ContinueOnError)
	uuid := fs.String("order", "", "uuid of the order to execute")
	priceURL := fs.String("price-url", "http://127.0.0.1:9000/price", `price source answering {"price": <number>}`)
	above := fs.Float64("above", 0, "execute when the price is at or above this")
	below := fs.Float64("below", 0, "execute when the price is at or below this")
	interval := fs.Duration("interval", 30*time.Second, "how often to check the price")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *uuid == "" || (*above == 0) == (*below == 0) {
		return errors.New("want -order and exactly one of -above or -below")
	}
	key := getenv("STXGATE_API_KEY")
	if key == "" {
		return errors.New("set STXGATE_API_KEY to a key with the execute permission")
	}
	url := getenv("STXGATE_URL")
	if url == "" {
		url = "http://127.0.0.1:8080"
	}
	c, err := client.New(ctx, url, client.WithAPIKey(key))
	if err != nil {
		return err
	}
	src := HTTPPrice{URL: *priceURL, HTTP: &http.Client{Timeout: 10 * time.Second}}
	cond := PriceAtLeast(src, *above)
	if *below != 0 {
		cond = PriceAtMost(src, *below)
	}
	bot := &Bot{Client: c, Interval: *interval, Log: log}
	txid, err := bot.MonitorAndExecute(ctx, *uuid, cond)
	if err != nil {
		return err
	}
	fmt.Println(txid)
	return nil
}

// PriceSource gives the current price of the watched token.
type PriceSource interface {
	Price(ctx context.Context) (float64, error)
}

// HTTPPrice reads {"price": <number>} from URL.
type HTTPPrice struct {
	URL  string
	HTTP *http.Client
}

// Price implements PriceSource.
func (p HTTPPrice) Price(ctx context.Context) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("price source: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("price source: %s", resp.Status)
	}
	var body struct {
		Price *float64 `json:"price"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Price == nil {
		return 0, fmt.Errorf("price source: want {\"price\": <number>}: %v", err)
	}
	return *body.Price, nil
}

// Condition decides whether to execute now.
type Condition func(ctx context.Context) (bool, error)

// PriceAtLeast holds when the price is at or above target (an order's "gt").
func PriceAtLeast(src PriceSource, target float64) Condition {
	return func(ctx context.Context) (bool, error) {
		p, err := src.Price(ctx)
		return err == nil && p >= target, err
	}
}

// PriceAtMost holds when the price is at or below target (an order's "lt").
func PriceAtMost(src PriceSource, target float64) Condition {
	return func(ctx context.Context) (bool, error) {
		p, err := src.Price(ctx)
		return err == nil && p <= target, err
	}
}

// Bot executes orders with an API key.
type Bot struct {
	Client   *client.Client
	Interval time.Duration
	Log      *slog.Logger
}

// ErrOrderNotOpen stops monitoring: the order was executed, cancelled or expired elsewhere.
var ErrOrderNotOpen = errors.New("order is not open any more")

// MonitorAndExecute checks cond every Interval and executes the order once
// it holds. It returns the txid, or why it stopped.
func (b *Bot) MonitorAndExecute(ctx context.Context, uuid string, cond Condition) (string, error) {
	wait := time.Duration(0) // check at once, then every Interval
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		wait = b.Interval
		ok, err := cond(ctx)
		if err != nil {
			b.Log.Warn("condition check failed; still monitoring", slog.Any("error", err))
			continue
		}
		if !ok {
			continue
		}
		ex, resp, err := b.Client.ExecuteOrder(ctx, uuid)
		if err == nil {
			rl := resp.RateLimit // this call's: what it left of the key's budget
			b.Log.Info("order executed", slog.String("uuid", uuid), slog.String("txid", ex.TxID),
				slog.String("state", string(ex.State)), slog.String("settlement", string(ex.Settlement)),
				slog.Int("remaining", rl.Remaining), slog.Int("limit", rl.Limit))
			if ex.Simulated() {
				b.Log.Warn("the gateway runs the SIMULATED settlement: no chain transaction was made", slog.String("uuid", uuid))
			}
			return ex.TxID, nil
		}
		if txid, done := alreadyExecuted(err); done {
			// An earlier attempt (whose answer was lost or whose outcome was
			// unknown) or another bot of the wallet executed it: the goal is
			// reached all the same.
			b.Log.Info("order already executed", slog.String("uuid", uuid), slog.String("txid", txid))
			return txid, nil
		}
		retryIn, err := b.classify(err)
		if err != nil {
			return "", err
		}
		wait = max(retryIn, b.Interval)
	}
}

// classify tells a failed execution worth retrying (and when) from one that
// ends monitoring.
func (b *Bot) classify(err error) (time.Duration, error) {
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeOrderNotOpen && apiErr.Details["status"] == string(client.StatusExecuting):
		b.Log.Warn("the order's settlement is under way (an earlier attempt's or another bot's); waiting")
		return 0, nil
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeOrderNotOpen:
		return 0, fmt.Errorf("%w (status %v)", ErrOrderNotOpen, apiErr.Details["status"])
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeSettlementUnknown:
		// Not Temporary: the order stays executing until the gateway
		// reconciles it, so the next attempt learns the outcome.
		b.Log.Warn("settlement outcome unknown; the gateway reconciles it", slog.String("request_id", apiErr.RequestID))
		return 0, nil
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeRateLimited:
		retryIn := apiErr.RateLimit.RetryIn
		if retryIn == 0 {
			retryIn = time.Until(apiErr.RateLimit.Reset)
		}
		b.Log.Warn("rate limited; waiting", slog.Int64("retry_in_ms", retryIn.Milliseconds()))
		return retryIn, nil
	case errors.As(err, &apiErr) && apiErr.Temporary():
		b.Log.Warn("execution failed for now; still monitoring", slog.Int("status", apiErr.Status), slog.String("error", apiErr.Message))
		return 0, nil
	case errors.As(err, &apiErr):
		return 0, fmt.Errorf("execution refused: %w", err) // 400/401/403/404: retrying cannot help
	case errors.Is(err, client.ErrUnreachable):
		b.Log.Warn("gateway unreachable; still monitoring", slog.Any("error", err))
		return 0, nil
	}
	return 0, err
}

// alreadyExecuted reads the txid of order_not_open when the order is
// submitted or filled.
func alreadyExecuted(err error) (string, bool) {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeOrderNotOpen {
		return "", false
	}
	if s := apiErr.Details["status"]; s != string(client.StatusFilled) && s != string(client.StatusSubmitted) {
		return "", false
	}
	txid, ok := apiErr.Details["txid"].(string)
	return txid, ok
}
