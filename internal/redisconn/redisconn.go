// Package redisconn turns REDIS_URL into a go-redis client: one server, or a
// Redis Cluster. Every Redis user of the gateway takes redis.UniversalClient,
// and every key of one subject shares a hash tag, so nothing else changes.
//
//	redis://[user:pass@]host:port[/db][?options]            one server (TLS: rediss://)
//	redis+cluster://[user:pass@]h1:p1,h2:p2,...[?options]   a cluster (TLS: rediss+cluster://)
//
// The cluster hosts are seeds: any reachable master or replica lets the
// client discover the rest. Options are go-redis's URL options in snake case
// (dial_timeout=2s, pool_size=50, read_timeout=1s, ...); a cluster also takes
// more seeds as addr=host:port (the way to name an IPv6 seed after the first).
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Schemes that name a cluster.
const (
	SchemeCluster    = "redis+cluster"
	SchemeClusterTLS = "rediss+cluster"
)

// IsCluster reports whether raw names a Redis Cluster.
func IsCluster(raw string) bool {
	return strings.HasPrefix(raw, SchemeCluster+"://") || strings.HasPrefix(raw, SchemeClusterTLS+"://")
}

// New returns a client for raw without contacting Redis.
func New(raw string) (redis.UniversalClient, error) {
	if IsCluster(raw) {
		opt, err := ParseCluster(raw)
		if err != nil {
			return nil, err
		}
		failFast(raw, &opt.MaxRetries, &opt.DialerRetries)
		return redis.NewClusterClient(opt), nil
	}
	opt, err := parseSingle(raw)
	if err != nil {
		return nil, err
	}
	failFast(raw, &opt.MaxRetries, &opt.DialerRetries)
	return redis.NewClient(opt), nil
}

// failFast keeps a Redis outage from holding every request: go-redis's
// defaults (3 retries, each dialling 5 times 100 ms apart) make one command
// against a dead Redis take ~2 s, so fail-closed 503s and fail-open reads
// alike waited that long (faulttest.TestRedisKilledUnderLoad). One dial per
// attempt and one retry (for a pooled connection a Redis restart broke)
// answer in milliseconds. max_retries / dialer_retries in the URL still win.
func failFast(raw string, maxRetries, dialerRetries *int) {
	var q url.Values
	if u, err := url.Parse(raw); err == nil {
		q = u.Query()
	}
	if !q.Has("max_retries") {
		*maxRetries = 1
	}
	if !q.Has("dialer_retries") {
		*dialerRetries = 1
	}
}

func parseSingle(raw string) (*redis.Options, error) {
	if _, err := url.Parse(raw); err != nil {
		return nil, errNotURL // url.Parse's error quotes the whole URL, password included
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return opt, nil
}

var errNotURL = errors.New("REDIS_URL: not a URL (IPv6 cluster seeds after the first go in addr= options)")

// Validate checks raw without contacting Redis (config validation).
func Validate(raw string) error {
	if IsCluster(raw) {
		_, err := ParseCluster(raw)
		return err
	}
	_, err := parseSingle(raw)
	return err
}

// ParseCluster reads a redis+cluster:// URL into go-redis cluster options.
func ParseCluster(raw string) (*redis.ClusterOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errNotURL
	}
	scheme := "redis"
	switch u.Scheme {
	case SchemeCluster:
	case SchemeClusterTLS:
		scheme = "rediss"
	default:
		return nil, fmt.Errorf("REDIS_URL: scheme %q is not a cluster scheme", u.Scheme)
	}
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("REDIS_URL: a cluster has only database 0, got /%s", p)
	}
	var seeds []string
	for _, h := range strings.Split(u.Host, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, "6379")
		}
		seeds = append(seeds, h)
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("REDIS_URL: a cluster URL needs at least one host:port")
	}
	// go-redis's own form: the first seed as the host, the others as addr=.
	q := u.Query()
	for _, s := range seeds[1:] {
		q.Add("addr", s)
	}
	native := url.URL{Scheme: scheme, User: u.User, Host: seeds[0], RawQuery: q.Encode()}
	opt, err := redis.ParseClusterURL(native.String())
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return opt, nil
}

// Connect builds the client and checks that Redis answers (for a cluster:
// that the seeds answer and the slots are known).
func Connect(ctx context.Context, raw string) (redis.UniversalClient, error) {
	rdb, err := New(raw)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("ping redis: %w", err)
	}
	if c, ok := rdb.(*redis.ClusterClient); ok { // every master, not one random node
		err := c.ForEachMaster(pctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
		if err != nil {
			_ = rdb.Close()
			return nil, fmt.Errorf("ping redis cluster masters: %w", err)
		}
	}
	return rdb, nil
}
