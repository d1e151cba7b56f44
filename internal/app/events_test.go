package app_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
)

// Close ends open order event streams, on the embedded in-memory store too
// (make run without PostgreSQL), so a server's shutdown does not wait for
// them, and leaves nothing running (TestMain checks for leaks).
func TestCloseEndsOrderEventStreams(t *testing.T) {
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/api/v1/orders/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	if line, err := rd.ReadString('\n'); err != nil || line != "retry: 2000\n" || res.StatusCode != 200 {
		t.Fatalf("stream began %d %q, %v", res.StatusCode, line, err)
	}
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	if _, err := io.Copy(io.Discard, rd); err != nil {
		t.Fatalf("stream ended with %v, want its end", err)
	}
	<-closed
	if res, err := srv.Client().Get(srv.URL + "/api/v1/orders/events"); err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stream after Close: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}
}
