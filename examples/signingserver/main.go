// Command signingserver is an authorized signing server: it holds the
// wallet's signing key, signs orders server-side (SIP-018) for callers it
// trusts, and submits them to the gateway with an API key that has the
// create permission — dual authentication, the reference docs'
// AuthorizedSigningServer on the Go SDK.
//
//	STXGATE_URL=http://127.0.0.1:8080 STXGATE_API_KEY=ck_live_... \
//	STXGATE_PRIVATE_KEY=... SIGNING_SERVER_TOKEN=some-long-secret \
//	  go run ./examples/signingserver -listen 127.0.0.1:9100
//
//	curl -H "Authorization: Bearer some-long-secret" -d '{"inputToken":"...","outputToken":"...",
//	  "amountIn":"1000000","targetPrice":"0.30","direction":"gt","conditionToken":"..."}' \
//	  http://127.0.0.1:9100/api/create-order
//
// The key only signs here; swap client.PrivateKeySigner for a
// client.HashSigner backed by an HSM or KMS and it never enters the process.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, log); err != nil {
		log.Error("signingserver stopped", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger) error {
	fs := flag.NewFlagSet("signingserver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9100", "address to serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gateway := getenv("STXGATE_URL")
	if gateway == "" {
		gateway = "http://127.0.0.1:8080"
	}
	key, err := stacks.ParsePrivateKey(strings.TrimSpace(getenv("STXGATE_PRIVATE_KEY")))
	if err != nil {
		return fmt.Errorf("STXGATE_PRIVATE_KEY: %w", err)
	}
	apiKey, token := getenv("STXGATE_API_KEY"), getenv("SIGNING_SERVER_TOKEN")
	if apiKey == "" || len(token) < 16 {
		return errors.New("set STXGATE_API_KEY (a key with create) and SIGNING_SERVER_TOKEN (16+ characters)")
	}
	c, err := client.New(ctx, gateway, client.WithAPIKey(apiKey), client.WithSigner(client.PrivateKeySigner{Key: key}))
	if err != nil {
		return err
	}
	s := &Server{Gateway: c, Token: token, Log: log}
	srv := &http.Server{Addr: *listen, Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	log.Info("signing server listening", slog.String("addr", *listen), slog.String("gateway", gateway))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Server signs and submits orders for authorized callers.
type Server struct {
	Gateway *client.Client // with the wallet's Signer and a create key
	Token   string         // callers present it as "Authorization: Bearer <token>"
	Log     *slog.Logger
}

// OrderRequest is what a caller asks for; owner and uuid are the server's to set.
type OrderRequest struct {
	InputToken     string           `json:"inputToken"`
	OutputToken    string           `json:"outputToken"`
	AmountIn       string           `json:"amountIn"`
	TargetPrice    string           `json:"targetPrice"`
	Direction      client.Direction `json:"direction"`
	ConditionToken string           `json:"conditionToken"`
	Recipient      string           `json:"recipient"`          // default: the wallet
	ValidFor       string           `json:"validFor,omitempty"` // Go duration, default 24h
}

// Handler serves POST /api/create-order.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/create-order", s.createOrder)
	return mux
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) == 1
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized"})
		return
	}
	var req OrderRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields() // a caller must not pick the owner or the uuid
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid request: " + err.Error()})
		return
	}
	order, err := s.CreateAndSubmit(r.Context(), req)
	if err != nil {
		status, msg := http.StatusBadGateway, err.Error()
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
			status, msg = apiErr.Status, apiErr.Message // the caller's order was refused: say why
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
			status, msg = http.StatusServiceUnavailable, "gateway rate limit reached; retry later"
			w.Header().Set("Retry-After", fmt.Sprint(max(1, int(apiErr.RateLimit.RetryIn.Seconds()))))
		case errors.As(err, &apiErr):
			msg = apiErr.Message
		case errors.Is(err, errBadOrder):
			status = http.StatusBadRequest
		}
		s.Log.Warn("order not created", slog.Int("status", status), slog.Any("error", err))
		writeJSON(w, status, map[string]any{"error": "Order creation failed: " + msg})
		return
	}
	s.Log.Info("order created", slog.String("uuid", order.UUID), slog.String("owner", order.Owner))
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "order": order})
}

var errBadOrder = errors.New("bad order")

// CreateAndSubmit signs the order as the wallet (fresh uuid, owner = the
// wallet) and submits it with the create key.
func (s *Server) CreateAndSubmit(ctx context.Context, req OrderRequest) (*client.Order, error) {
	n := client.NewOrder{
		InputToken: req.InputToken, OutputToken: req.OutputToken, AmountIn: req.AmountIn, TargetPrice: req.TargetPrice,
		Direction: req.Direction, ConditionToken: req.ConditionToken, Recipient: req.Recipient,
	}
	if req.ValidFor != "" {
		d, err := time.ParseDuration(req.ValidFor)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: validFor must be a positive duration such as 2h", errBadOrder)
		}
		n.ValidFrom = time.Now()
		n.ValidTo = n.ValidFrom.Add(d)
	}
	signed, err := s.Gateway.SignOrder(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOrder, err)
	}
	o, _, err := s.Gateway.SubmitOrder(ctx, *signed)
	return o, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
