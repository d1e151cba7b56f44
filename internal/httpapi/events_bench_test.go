package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
)

// BenchmarkIdleOrderEventStreams measures what 1,000 idle order event streams
// cost a gateway: the growth of its live heap and goroutine stacks once they
// are open (the subscriber buffers, connection goroutines and buffers, hub
// registrations). The client sockets live in the same process and are
// counted too, so the figure is an upper bound. Reported as MB/1000-streams;
// over 50 MB fails (issue 18).
func BenchmarkIdleOrderEventStreams(b *testing.B) {
	const streams = 1000
	env := map[string]string{"STXGATE_PUBLIC_LIMIT_MINUTE": "1000000", "STXGATE_EVENTS_PER_IP": "100000", "STXGATE_LOG_LEVEL": "warn"}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer a.Close()
	defer srv.Close()
	defer a.CloseStreams()
	addr := strings.TrimPrefix(srv.URL, "http://")

	for range b.N {
		before := liveBytes()
		conns := make([]net.Conn, 0, streams)
		for range streams {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.WriteString(c, "GET /api/v1/orders/events HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
				b.Fatal(err)
			}
			// The headers and the retry preamble: the stream is registered.
			rd := bufio.NewReaderSize(c, 16)
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				if line == "retry: 2000\n" {
					break
				}
			}
			conns = append(conns, c)
		}
		if n := a.Events.Subscribers(); n != streams {
			b.Fatalf("%d streams registered, want %d", n, streams)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.Logf("with the streams open: goroutine stacks %d B, live heap %d B (whole process)", m.StackInuse, m.HeapAlloc)
		mb := float64(liveBytes()-before) / (1 << 20)
		b.ReportMetric(mb, "MB/1000-streams")
		if mb > 50 {
			b.Fatalf("1,000 idle streams cost %.1f MB, over 50 MB", mb)
		}
		for _, c := range conns {
			c.Close()
		}
	}
}

// liveBytes is the live heap plus goroutine stacks after a collection.
func liveBytes() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
