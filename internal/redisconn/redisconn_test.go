package redisconn_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/redisconn"
)

func TestParseCluster(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		addrs    []string
		user     string
		password string
		tls      bool
		dial     time.Duration
	}{
		{"ThreeSeeds", "redis+cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002",
			[]string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}, "", "", false, 0},
		{"DefaultPort", "redis+cluster://a,b:7001/", []string{"a:6379", "b:7001"}, "", "", false, 0},
		{"AuthTLSAndOptions", "rediss+cluster://app:s3cret@a:7000,b:7001/0?dial_timeout=2s",
			[]string{"a:7000", "b:7001"}, "app", "s3cret", true, 2 * time.Second},
		{"IPv6SeedAsAddr", "redis+cluster://[::1]:7000?addr=[::1]:7001",
			[]string{"[::1]:7000", "[::1]:7001"}, "", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !redisconn.IsCluster(tt.url) {
				t.Fatal("IsCluster false")
			}
			opt, err := redisconn.ParseCluster(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(opt.Addrs, " ") != strings.Join(tt.addrs, " ") {
				t.Fatalf("addrs %v, want %v", opt.Addrs, tt.addrs)
			}
			if opt.Username != tt.user || opt.Password != tt.password || (opt.TLSConfig != nil) != tt.tls || opt.DialTimeout != tt.dial {
				t.Fatalf("user %q password %q tls %v dial %v", opt.Username, opt.Password, opt.TLSConfig != nil, opt.DialTimeout)
			}
		})
	}
}

func TestNewPicksClientKind(t *testing.T) {
	for url, cluster := range map[string]bool{
		"redis://127.0.0.1:6379/0":             false,
		"rediss://u:p@cache.example:6380":      false,
		"redis+cluster://127.0.0.1:7000":       true,
		"rediss+cluster://h1:7000,h2:7000/?a=": false, // invalid: unknown option "a"
	} {
		rdb, err := redisconn.New(url)
		if strings.Contains(url, "?a=") {
			if err == nil {
				t.Fatalf("%s: accepted an unknown option", url)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		_, isCluster := rdb.(*redis.ClusterClient)
		_ = rdb.Close()
		if isCluster != cluster {
			t.Fatalf("%s: cluster client %v, want %v", url, isCluster, cluster)
		}
	}
}

func TestValidateRejectsWithoutLeakingPassword(t *testing.T) {
	for _, url := range []string{
		"redis+cluster://u:topsecret@h1:7000/3",         // a cluster has only db 0
		"redis+cluster://u:topsecret@h1:70%zz",          // not a URL
		"redis://u:topsecret@h1:6379/notanumber",        // bad db
		"redis://u:topsecret@h1:6379/0?bogus=1",         // unknown option
		"redis+cluster://u:topsecret@/",                 // no host
		"redis+cluster://u:topsecret@h:1?max_retries=x", // bad option value
	} {
		err := redisconn.Validate(url)
		if err == nil {
			t.Fatalf("%s: accepted", url)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Fatalf("%s: error leaks the password: %v", url, err)
		}
	}
}

// The limiter's and the replay store's pipelines are self-bounded
// (groupcommit.Options.SelfBounded): they hand go-redis no deadline, which is
// right only while go-redis reads none and bounds calls by its own timeouts.
func TestClientsReadNoContextDeadline(t *testing.T) {
	for _, url := range []string{"redis://127.0.0.1:6379/0", "redis+cluster://127.0.0.1:7000"} {
		rdb, err := redisconn.New(url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		var enabled bool
		var read time.Duration
		switch c := rdb.(type) {
		case *redis.Client:
			enabled, read = c.Options().ContextTimeoutEnabled, c.Options().ReadTimeout
		case *redis.ClusterClient:
			enabled, read = c.Options().ContextTimeoutEnabled, c.Options().ReadTimeout
		}
		_ = rdb.Close()
		if enabled || read <= 0 {
			t.Errorf("%s: ContextTimeoutEnabled %v, ReadTimeout %v: want false and a bound", url, enabled, read)
		}
	}
}
