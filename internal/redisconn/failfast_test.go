package redisconn

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestFailFastDefaults: one dial per attempt and one retry unless the URL
// says otherwise, so a dead Redis costs a request milliseconds, not go-redis's
// default ~2 s (3 retries x 5 dials 100 ms apart).
func TestFailFastDefaults(t *testing.T) {
	tests := []struct {
		name, url            string
		retries, dialRetries int
	}{
		{"SingleDefaults", "redis://127.0.0.1:6379/0", 1, 1},
		{"SingleURLWins", "redis://127.0.0.1:6379/0?max_retries=4", 4, 1},
		{"ClusterDefaults", "redis+cluster://127.0.0.1:7000,127.0.0.1:7001", 1, 1},
		{"ClusterURLWins", "redis+cluster://127.0.0.1:7000?max_retries=2&dialer_retries=3", 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb, err := New(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			var retries, dials int
			switch c := rdb.(type) {
			case *redis.Client:
				retries, dials = c.Options().MaxRetries, c.Options().DialerRetries
			case *redis.ClusterClient:
				retries, dials = c.Options().MaxRetries, c.Options().DialerRetries
			}
			if retries != tc.retries || dials != tc.dialRetries {
				t.Fatalf("MaxRetries %d, DialerRetries %d; want %d, %d", retries, dials, tc.retries, tc.dialRetries)
			}
		})
	}
}
