package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stxgate/stxgate/internal/redisconn"
)

// validateScale checks the settings of running many instances: the Redis
// URL (one server or a cluster), the key prefix, the pool and the replica.
func (c Config) validateScale() []error {
	var errs []error
	if c.RedisURL != "" {
		if err := redisconn.Validate(c.RedisURL); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		// Keys are hash-tagged {subject} for Redis Cluster: a brace in the
		// prefix would become the tag and put every key in one slot.
		errs = append(errs, errors.New("STXGATE_REDIS_PREFIX must not contain { or }"))
	}
	if c.DBMinConns < 0 || c.DBMaxConns < 0 {
		errs = append(errs, errors.New("STXGATE_DB_MIN_CONNS and STXGATE_DB_MAX_CONNS must not be negative"))
	} else if c.DBMaxConns > 0 && c.DBMinConns > c.DBMaxConns {
		errs = append(errs, fmt.Errorf("STXGATE_DB_MIN_CONNS (%d) must not exceed STXGATE_DB_MAX_CONNS (%d)", c.DBMinConns, c.DBMaxConns))
	}
	if c.DBMaxConnLifetime < 0 || c.DBMaxConnIdleTime < 0 || c.DBStatementTimeout < 0 {
		errs = append(errs, errors.New("STXGATE_DB_MAX_CONN_LIFETIME, STXGATE_DB_MAX_CONN_IDLE_TIME and STXGATE_DB_STATEMENT_TIMEOUT must not be negative"))
	}
	if c.DatabaseReadURL != "" {
		if c.DatabaseURL == "" {
			errs = append(errs, errors.New("DATABASE_READ_URL needs DATABASE_URL (the replica only serves public reads)"))
		}
		if !strings.HasPrefix(c.DatabaseReadURL, "postgres://") && !strings.HasPrefix(c.DatabaseReadURL, "postgresql://") {
			errs = append(errs, errors.New("DATABASE_READ_URL must be a postgres:// URL"))
		}
	}
	if c.MetricsListen != "" && c.MetricsListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") { // :0 picks two free ports
		errs = append(errs, errors.New("STXGATE_METRICS_LISTEN must differ from STXGATE_LISTEN (to serve /metrics on the API listener, set STXGATE_METRICS_PUBLIC=true, and STXGATE_METRICS_LISTEN=off for no other listener)"))
	}
	return errs
}

// RequiredAtScale are the settings a multi-instance deployment must set:
// their defaults only suit one gateway on a laptop (loopback listeners,
// in-memory stores, simulated settlement, no proxy). deploy/ sets every one of them; a test keeps it so.
var RequiredAtScale = []string{
	"DATABASE_URL",
	"REDIS_URL",
	"STXGATE_LISTEN",
	"STXGATE_METRICS_LISTEN",
	"STXGATE_NETWORK",
	"STXGATE_RELAYER_URL",
	"STXGATE_TRUSTED_PROXIES",
}
