// Package config builds the one Config of a gateway from flags and the
// environment (a flag wins over its variable), with defaults and validation.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Config is everything a gateway instance needs to start.
type Config struct {
	DatabaseURL string // empty: the embedded in-memory store
	RedisURL    string // empty: in-process limiter and replay store
	RedisPrefix string
	Listen      string
	Network     stacks.Network
	Migrate     bool

	RateLimitMinute int
	RateLimitHour   int
	RateLimitDay    int

	IPLimitMinute     int
	WalletLimitMinute int
	PublicLimitMinute int

	KeyMissLimitMinute int // unknown (checksum-valid) API keys per client IP; 0: no limit

	SignatureWindow time.Duration
	SignatureSkew   time.Duration
	Domain          string

	MaxKeysPerWallet int

	SIP018Name    string
	SIP018Version string

	RelayerURL          string
	OrderMaxLifetime    time.Duration
	ReconcileAfter      time.Duration
	MaintenanceInterval time.Duration

	TrustedProxies []netip.Prefix
	OperatorToken  string // bearer token of /api/v1/admin; "": the operator API is off
	FailOpen       []string

	KeyCacheTTL        time.Duration
	UsageFlushInterval time.Duration

	DBMaxConns         int
	DBStatementTimeout time.Duration
	DBMinConns         int
	DBMaxConnLifetime  time.Duration
	DBMaxConnIdleTime  time.Duration
	DatabaseReadURL    string // read-only replica for public order reads; empty: DatabaseURL
	MetricsListen      string // separate /metrics listener; empty: /metrics on Listen

	BodyLimitBytes  int64
	ShutdownTimeout time.Duration
	LogLevel        string

	// HTTP server limits against slow and flooding clients (cmd/stxgate).
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	RelayerTimeout    time.Duration // one relayer request; an execute makes up to 3
	RequestTimeout    time.Duration // a request's store and Redis work
}

// Var documents one setting: its environment variable, flag and default.
type Var struct {
	Env, Flag, Default, Help string
	set                      func(c *Config, v string) error
}

// Vars lists every setting, in the order the README documents them.
var Vars = []Var{
	{"DATABASE_URL", "database-url", "", "PostgreSQL DSN; empty runs on the embedded in-memory store",
		func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"REDIS_URL", "redis-url", "", "Redis URL: redis:// or rediss:// for one server, redis+cluster://h1:port,h2:port (rediss+cluster://) for a Redis Cluster; empty uses in-process limits and replay store (one instance only)",
		func(c *Config, v string) error { c.RedisURL = v; return nil }},
	{"STXGATE_REDIS_PREFIX", "redis-prefix", "stxgate:", "prefix of every Redis key",
		func(c *Config, v string) error { c.RedisPrefix = v; return nil }},
	{"STXGATE_LISTEN", "listen", "127.0.0.1:8080", "HTTP listen address",
		func(c *Config, v string) error { c.Listen = v; return nil }},
	{"STXGATE_METRICS_LISTEN", "metrics-listen", "", "separate listen address for GET /metrics (keep it private); empty serves /metrics on STXGATE_LISTEN",
		func(c *Config, v string) error { c.MetricsListen = v; return nil }},
	{"STXGATE_NETWORK", "network", "mainnet", "mainnet or testnet: addresses, key prefixes and the SIP-018 chain id",
		func(c *Config, v string) (err error) { c.Network, err = stacks.ParseNetwork(v); return }},
	{"STXGATE_MIGRATE", "migrate", "true", "apply database migrations at start",
		func(c *Config, v string) (err error) { c.Migrate, err = strconv.ParseBool(v); return }},
	{"STXGATE_RATE_LIMIT_MINUTE", "rate-limit-minute", "100", "default per-minute limit of new keys",
		intVar(func(c *Config) *int { return &c.RateLimitMinute })},
	{"STXGATE_RATE_LIMIT_HOUR", "rate-limit-hour", "1000", "default per-hour limit of new keys",
		intVar(func(c *Config) *int { return &c.RateLimitHour })},
	{"STXGATE_RATE_LIMIT_DAY", "rate-limit-day", "10000", "default per-day limit of new keys",
		intVar(func(c *Config) *int { return &c.RateLimitDay })},
	{"STXGATE_IP_LIMIT_MINUTE", "ip-limit-minute", "300", "wallet-signed calls per minute per client IP",
		intVar(func(c *Config) *int { return &c.IPLimitMinute })},
	{"STXGATE_WALLET_LIMIT_MINUTE", "wallet-limit-minute", "60", "wallet-signed calls per minute per wallet",
		intVar(func(c *Config) *int { return &c.WalletLimitMinute })},
	{"STXGATE_PUBLIC_LIMIT_MINUTE", "public-limit-minute", "600", "public reads per minute per client IP",
		intVar(func(c *Config) *int { return &c.PublicLimitMinute })},
	{"STXGATE_KEY_MISS_LIMIT_MINUTE", "key-miss-limit-minute", "60", "unknown API keys (valid checksum, no such key: a database lookup each) per minute per client IP; 0: no limit",
		intVar(func(c *Config) *int { return &c.KeyMissLimitMinute })},
	{"STXGATE_SIGNATURE_WINDOW", "signature-window", "5m", "how old a signed message's timestamp may be",
		durVar(func(c *Config) *time.Duration { return &c.SignatureWindow })},
	{"STXGATE_SIGNATURE_SKEW", "signature-skew", "30s", "how far in the future a signed message's timestamp may be",
		durVar(func(c *Config) *time.Duration { return &c.SignatureSkew })},
	{"STXGATE_DOMAIN", "domain", "", "when set, a signed message's optional \"domain\" field must equal it",
		func(c *Config, v string) error { c.Domain = v; return nil }},
	{"STXGATE_MAX_KEYS_PER_WALLET", "max-keys-per-wallet", "25", "active API keys a wallet may hold",
		intVar(func(c *Config) *int { return &c.MaxKeysPerWallet })},
	{"STXGATE_SIP018_NAME", "sip018-name", "stxgate", "SIP-018 domain name orders are signed under",
		func(c *Config, v string) error { c.SIP018Name = v; return nil }},
	{"STXGATE_SIP018_VERSION", "sip018-version", "1", "SIP-018 domain version orders are signed under",
		func(c *Config, v string) error { c.SIP018Version = v; return nil }},
	{"STXGATE_RELAYER_URL", "relayer-url", "", "settlement relayer; empty uses the SIMULATED settlement (no chain)",
		func(c *Config, v string) error { c.RelayerURL = v; return nil }},
	{"STXGATE_RELAYER_TIMEOUT", "relayer-timeout", "8s", "timeout of one relayer request (an execute makes up to 3); 3 of them must fit in STXGATE_WRITE_TIMEOUT",
		durVar(func(c *Config) *time.Duration { return &c.RelayerTimeout })},
	{"STXGATE_ORDER_MAX_LIFETIME", "order-max-lifetime", "720h", "longest validFrom..validTo span an order may have",
		durVar(func(c *Config) *time.Duration { return &c.OrderMaxLifetime })},
	{"STXGATE_RECONCILE_AFTER", "reconcile-after", "30s", "an execution still unfinished after this is re-asked of settlement (same idempotency key)",
		durVar(func(c *Config) *time.Duration { return &c.ReconcileAfter })},
	{"STXGATE_MAINTENANCE_INTERVAL", "maintenance-interval", "10s", "how often executions are reconciled and expired orders swept",
		durVar(func(c *Config) *time.Duration { return &c.MaintenanceInterval })},
	{"STXGATE_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For is believed; empty: none",
		func(c *Config, v string) (err error) { c.TrustedProxies, err = parsePrefixes(v); return }},
	{"STXGATE_OPERATOR_TOKEN", "operator-token", "", "bearer token of the operator API (/api/v1/admin: suspend keys); empty: no operator API. Set it by env, not flag",
		func(c *Config, v string) error { c.OperatorToken = v; return nil }},
	{"STXGATE_FAIL_OPEN", "fail-open", "keyed-read,signed-read,public",
		"route classes served without rate limits while Redis is unreachable (keyed-write, keyed-read, signed-read, public); the others answer 503",
		func(c *Config, v string) error { c.FailOpen = splitList(v); return nil }},
	{"STXGATE_KEY_CACHE_TTL", "key-cache-ttl", "30s", "how long a key is cached in process without a database read",
		durVar(func(c *Config) *time.Duration { return &c.KeyCacheTTL })},
	{"STXGATE_USAGE_FLUSH_INTERVAL", "usage-flush-interval", "1s", "how often usage statistics are written to the database",
		durVar(func(c *Config) *time.Duration { return &c.UsageFlushInterval })},
	{"STXGATE_DB_MAX_CONNS", "db-max-conns", "0", "PostgreSQL pool size; 0 keeps pgx's default (max(4, cores))",
		intVar(func(c *Config) *int { return &c.DBMaxConns })},
	{"STXGATE_DB_STATEMENT_TIMEOUT", "db-statement-timeout", "5s", "PostgreSQL statement_timeout of every connection",
		durVar(func(c *Config) *time.Duration { return &c.DBStatementTimeout })},
	{"STXGATE_DB_MIN_CONNS", "db-min-conns", "0", "PostgreSQL connections kept open even when idle",
		intVar(func(c *Config) *int { return &c.DBMinConns })},
	{"STXGATE_DB_MAX_CONN_LIFETIME", "db-max-conn-lifetime", "1h", "a PostgreSQL connection older than this is closed and replaced (rebalances after failover)",
		durVar(func(c *Config) *time.Duration { return &c.DBMaxConnLifetime })},
	{"STXGATE_DB_MAX_CONN_IDLE_TIME", "db-max-conn-idle-time", "30m", "an idle PostgreSQL connection is closed after this",
		durVar(func(c *Config) *time.Duration { return &c.DBMaxConnIdleTime })},
	{"DATABASE_READ_URL", "database-read-url", "", "read-only PostgreSQL replica for public order reads (may lag the primary); empty reads from DATABASE_URL",
		func(c *Config, v string) error { c.DatabaseReadURL = v; return nil }},
	{"STXGATE_BODY_LIMIT", "body-limit", "65536", "largest request body in bytes",
		func(c *Config, v string) (err error) { c.BodyLimitBytes, err = strconv.ParseInt(v, 10, 64); return }},
	{"STXGATE_MAX_HEADER_BYTES", "max-header-bytes", "32768", "largest request header block in bytes (431 above)",
		intVar(func(c *Config) *int { return &c.MaxHeaderBytes })},
	{"STXGATE_READ_HEADER_TIMEOUT", "read-header-timeout", "5s", "time a client has to send its request headers (slow clients are cut)",
		durVar(func(c *Config) *time.Duration { return &c.ReadHeaderTimeout })},
	{"STXGATE_READ_TIMEOUT", "read-timeout", "15s", "time a client has to send a whole request, body included",
		durVar(func(c *Config) *time.Duration { return &c.ReadTimeout })},
	{"STXGATE_WRITE_TIMEOUT", "write-timeout", "30s", "longest time from the end of the request headers to the end of the answer",
		durVar(func(c *Config) *time.Duration { return &c.WriteTimeout })},
	{"STXGATE_IDLE_TIMEOUT", "idle-timeout", "120s", "how long an idle keep-alive connection is kept",
		durVar(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"STXGATE_REQUEST_TIMEOUT", "request-timeout", "10s", "deadline of a request's PostgreSQL and Redis work (a partitioned store answers 503, not never); settlement after a claim is not cut",
		durVar(func(c *Config) *time.Duration { return &c.RequestTimeout })},
	{"STXGATE_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long SIGTERM waits for in-flight requests",
		durVar(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"STXGATE_LOG_LEVEL", "log-level", "info", "debug, info, warn or error",
		func(c *Config, v string) error { c.LogLevel = v; return nil }},
}

func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) (err error) { *field(c), err = strconv.Atoi(v); return }
}

func durVar(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) (err error) { *field(c), err = time.ParseDuration(v); return }
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// secretVars may carry passwords or tokens: their values are not shown as
// flag defaults by -h, nor in error messages.
var secretVars = map[string]bool{"DATABASE_URL": true, "REDIS_URL": true, "STXGATE_OPERATOR_TOKEN": true}

// Load reads args (without the program name) and the environment getenv.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("stxgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := make([]*string, len(Vars))
	for i, v := range Vars {
		def := v.Default
		if e := getenv(v.Env); e != "" && !secretVars[v.Env] { // -h prints defaults: never a secret
			def = e
		}
		vals[i] = fs.String(v.Flag, def, fmt.Sprintf("%s (env %s)", v.Help, v.Env))
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	flagged := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagged[f.Name] = true })
	var c Config
	var errs []error
	for i, v := range Vars {
		if e := getenv(v.Env); secretVars[v.Env] && !flagged[v.Flag] && e != "" {
			*vals[i] = e
		}
		if err := v.set(&c, strings.TrimSpace(*vals[i])); err != nil {
			shown := *vals[i]
			if secretVars[v.Env] {
				shown = "(secret)"
			}
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.Env, shown, err))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, c.Validate()
}

// FromEnv loads the configuration from the process environment only.
func FromEnv() (Config, error) { return Load(nil, os.Getenv, io.Discard) }

// Validate reports every invalid setting at once.
func (c Config) Validate() error {
	var errs []error
	positive := map[string]int{
		"STXGATE_RATE_LIMIT_MINUTE": c.RateLimitMinute, "STXGATE_RATE_LIMIT_HOUR": c.RateLimitHour,
		"STXGATE_RATE_LIMIT_DAY": c.RateLimitDay, "STXGATE_IP_LIMIT_MINUTE": c.IPLimitMinute,
		"STXGATE_WALLET_LIMIT_MINUTE": c.WalletLimitMinute, "STXGATE_PUBLIC_LIMIT_MINUTE": c.PublicLimitMinute,
		"STXGATE_MAX_KEYS_PER_WALLET": c.MaxKeysPerWallet,
	}
	for _, v := range Vars { // in table order, so messages are stable
		if n, ok := positive[v.Env]; ok && n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", v.Env, n))
		}
	}
	if c.RateLimitHour < c.RateLimitMinute || c.RateLimitDay < c.RateLimitHour {
		errs = append(errs, errors.New("rate limits must grow with the window: minute <= hour <= day"))
	}
	if c.SignatureWindow <= 0 || c.SignatureWindow > 24*time.Hour {
		errs = append(errs, fmt.Errorf("STXGATE_SIGNATURE_WINDOW must be in (0, 24h], got %s", c.SignatureWindow))
	}
	if c.SignatureSkew < 0 || c.SignatureSkew > 10*time.Minute {
		errs = append(errs, fmt.Errorf("STXGATE_SIGNATURE_SKEW must be in [0, 10m], got %s", c.SignatureSkew))
	}
	if c.BodyLimitBytes < 1024 {
		errs = append(errs, fmt.Errorf("STXGATE_BODY_LIMIT must be at least 1024, got %d", c.BodyLimitBytes))
	}
	if c.ReconcileAfter < 0 || c.MaintenanceInterval <= 0 {
		errs = append(errs, errors.New("STXGATE_RECONCILE_AFTER must not be negative and STXGATE_MAINTENANCE_INTERVAL must be positive"))
	}
	if c.OrderMaxLifetime <= 0 {
		errs = append(errs, errors.New("STXGATE_ORDER_MAX_LIFETIME must be positive"))
	}
	if c.SIP018Name == "" || c.SIP018Version == "" {
		errs = append(errs, errors.New("STXGATE_SIP018_NAME and STXGATE_SIP018_VERSION must not be empty"))
	}
	errs = append(errs, c.validateScale()...)
	for env, u := range map[string]string{"DATABASE_URL": c.DatabaseURL, "REDIS_URL": c.RedisURL, "STXGATE_RELAYER_URL": c.RelayerURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Scheme == "" {
			errs = append(errs, fmt.Errorf("%s is not a URL", env))
		}
	}
	for _, class := range c.FailOpen {
		switch class {
		case "keyed-write", "keyed-read", "signed-read", "public":
		case "signed-write":
			errs = append(errs, errors.New("STXGATE_FAIL_OPEN: signed-write cannot fail open (single-use messages need Redis)"))
		default:
			errs = append(errs, fmt.Errorf("STXGATE_FAIL_OPEN: unknown route class %q", class))
		}
	}
	if c.KeyCacheTTL <= 0 || c.KeyCacheTTL > 10*time.Minute {
		errs = append(errs, fmt.Errorf("STXGATE_KEY_CACHE_TTL must be in (0, 10m], got %s", c.KeyCacheTTL))
	}
	if c.KeyMissLimitMinute < 0 {
		errs = append(errs, fmt.Errorf("STXGATE_KEY_MISS_LIMIT_MINUTE must not be negative, got %d", c.KeyMissLimitMinute))
	}
	if c.MaxHeaderBytes < 4096 {
		errs = append(errs, fmt.Errorf("STXGATE_MAX_HEADER_BYTES must be at least 4096, got %d", c.MaxHeaderBytes))
	}
	if c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 || c.RelayerTimeout <= 0 {
		errs = append(errs, errors.New("STXGATE_READ_HEADER_TIMEOUT, _READ_TIMEOUT, _WRITE_TIMEOUT, _IDLE_TIMEOUT and STXGATE_RELAYER_TIMEOUT must be positive"))
	} else if c.RequestTimeout <= 0 || c.RequestTimeout >= c.WriteTimeout {
		errs = append(errs, fmt.Errorf("STXGATE_REQUEST_TIMEOUT must be positive and below STXGATE_WRITE_TIMEOUT (%s), got %s", c.WriteTimeout, c.RequestTimeout))
	} else if c.RelayerURL != "" && c.WriteTimeout < 3*c.RelayerTimeout+3*time.Second {
		// An execute may wait for 3 relayer attempts plus backoff; an answer
		// cut by the write timeout would reach the client as a dropped connection.
		errs = append(errs, fmt.Errorf("STXGATE_WRITE_TIMEOUT (%s) must be at least 3 x STXGATE_RELAYER_TIMEOUT + 3s (%s)",
			c.WriteTimeout, 3*c.RelayerTimeout+3*time.Second))
	}
	if c.UsageFlushInterval <= 0 {
		errs = append(errs, errors.New("STXGATE_USAGE_FLUSH_INTERVAL must be positive"))
	}
	if c.OperatorToken != "" && (len(c.OperatorToken) < 32 || strings.ContainsAny(c.OperatorToken, " \t\r\n")) {
		errs = append(errs, errors.New("STXGATE_OPERATOR_TOKEN must be at least 32 characters without spaces (e.g. openssl rand -hex 32)"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("STXGATE_LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel))
	}
	return errors.Join(errs...)
}

// String prints the configuration with passwords masked, for the start-up log.
func (c Config) String() string {
	return fmt.Sprintf("listen=%s network=%s database=%s redis=%s relayer=%s migrate=%t limits=%d/%d/%d",
		c.Listen, c.Network, orNone(MaskURL(c.DatabaseURL), "memory"), orNone(MaskURL(c.RedisURL), "memory"),
		orNone(MaskURL(c.RelayerURL), "simulated"), c.Migrate, c.RateLimitMinute, c.RateLimitHour, c.RateLimitDay)
}

// MaskURL hides the password (and any query secrets) of a URL.
func MaskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
