package client_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
)

// A bot that executes one of its wallet's orders with an API key, pacing
// itself on the rate-limit state of each call. (Compiled, not run: it needs a
// gateway.)
func ExampleNew() {
	ctx := context.Background()
	c, err := client.New(ctx, "127.0.0.1:8080", client.WithAPIKey(os.Getenv("STXGATE_API_KEY")))
	if err != nil {
		log.Fatal(err) // unreachable, or not a gateway
	}
	ex, resp, err := c.ExecuteOrder(ctx, "8c1f3e9a-5b7d-4e2a-9f60-1d2c3b4a5e6f")
	var apiErr *client.APIError
	switch {
	case err == nil:
		log.Printf("txid %s (%s, %s); %d of %d calls left", ex.TxID, ex.State, ex.Settlement, resp.RateLimit.Remaining, resp.RateLimit.Limit)
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeRateLimited:
		time.Sleep(apiErr.RateLimit.RetryIn)
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeOrderNotOpen:
		log.Printf("order %v already", apiErr.Details["status"])
	default:
		log.Fatal(err)
	}
}
