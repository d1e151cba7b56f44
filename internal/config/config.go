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
	Settlement          string   // "simulated", "relayer", "stacks"; "" chooses by RelayerURL
	ExecutorKeyFile     string   // stacks: the executor keys' file (Load reads it into ExecutorKeys)
	ExecutorKeys        []string // stacks: the executor accounts' keys (hex), one or a pool; secrets, never shown
	StacksNodeURL       string
	SettlementContract  string
	StacksFeeFloor      int // µSTX
	StacksFeeCap        int // µSTX
	StacksStuckAfter    time.Duration
	StacksQueueWait     time.Duration
	StacksPollInterval  time.Duration
	StacksSlippageBps   int
	StacksChainLimit    int
	OrderMaxLifetime    time.Duration
	ReconcileAfter      time.Duration
	MaintenanceInterval time.Duration

	EventsHeartbeat time.Duration // order event streams: comment frame interval
	EventsPerIP     int           // order event streams open at once per client IP, per instance
	EventsBuffer    int           // frames a stream may lag behind before it is dropped
	EventsRetention time.Duration // order events older than this are deleted
	EventsPoll      time.Duration // the log is read this often even without a notification

	TrustedProxies []netip.Prefix
	OperatorToken  string // bearer token of /api/v1/admin; "": the operator API is off
	// OperatorTokenFile holds the operator token instead of the environment
	// (Load reads it into OperatorToken).
	OperatorTokenFile string
	FailOpen          []string

	KeyCacheTTL        time.Duration
	UsageFlushInterval time.Duration

	DBMaxConns         int
	DBStatementTimeout time.Duration
	DBMinConns         int
	DBMaxConnLifetime  time.Duration
	DBMaxConnIdleTime  time.Duration
	DatabaseReadURL    string // read-only replica for public order reads; empty: DatabaseURL
	MetricsListen      string // the /metrics listener, apart from the API; empty: none ("off")
	MetricsPublic      bool   // /metrics on Listen too (explicit: it tells anyone the traffic)

	BodyLimitBytes  int64
	ShutdownTimeout time.Duration
	LogLevel        string
	GCHeadroomMB    int // garbage collection headroom (internal/gcheadroom); 0: Go's default

	// HTTP server limits against slow and flooding clients (cmd/stxgate).
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	RelayerTimeout    time.Duration // one relayer request; an execute makes up to 3
	RequestTimeout    time.Duration // a request's store and Redis work
}

// Var documents one setting: its environment variable, flag, type and default.
type Var struct {
	Env     string // environment variable
	Flag    string // flag name; "" for a secret, which is never read from a flag
	Type    string // what -h shows: string, int, bool, duration, URL, CIDRs, list, path
	Default string
	Help    string
	Secret  bool // the whole value is a secret: shown nowhere (Var.Show)
	set     func(c *Config, v string) error
}

// Vars lists every setting, in the order the README documents them.
var Vars = []Var{
	urlVar("DATABASE_URL", "database-url", "", "PostgreSQL DSN; empty runs on the embedded in-memory store",
		func(c *Config) *string { return &c.DatabaseURL }),
	urlVar("REDIS_URL", "redis-url", "", "Redis URL: redis:// or rediss:// for one server, redis+cluster://h1:port,h2:port (rediss+cluster://) for a Redis Cluster; empty uses in-process limits and replay store (one instance only)",
		func(c *Config) *string { return &c.RedisURL }),
	text("STXGATE_REDIS_PREFIX", "redis-prefix", "stxgate:", "prefix of every Redis key",
		func(c *Config) *string { return &c.RedisPrefix }),
	text("STXGATE_LISTEN", "listen", "127.0.0.1:8080", "HTTP listen address",
		func(c *Config) *string { return &c.Listen }),
	custom("STXGATE_METRICS_LISTEN", "metrics-listen", "string", "127.0.0.1:9464", "listen address of GET /metrics, apart from the API (keep it private); off: no metrics listener",
		func(c *Config, v string) error {
			c.MetricsListen = v
			if v == "off" {
				c.MetricsListen = ""
			}
			return nil
		}),
	boolean("STXGATE_METRICS_PUBLIC", "metrics-public", "false", "also serve GET /metrics on STXGATE_LISTEN, to everyone who reaches the API",
		func(c *Config) *bool { return &c.MetricsPublic }),
	custom("STXGATE_NETWORK", "network", "string", "mainnet", "mainnet or testnet: addresses, key prefixes and the SIP-018 chain id",
		func(c *Config, v string) error { return parseNetwork(&c.Network, v) }),
	boolean("STXGATE_MIGRATE", "migrate", "true", "apply database migrations at start",
		func(c *Config) *bool { return &c.Migrate }),
	number("STXGATE_RATE_LIMIT_MINUTE", "rate-limit-minute", "100", "default per-minute limit of new keys",
		func(c *Config) *int { return &c.RateLimitMinute }),
	number("STXGATE_RATE_LIMIT_HOUR", "rate-limit-hour", "1000", "default per-hour limit of new keys",
		func(c *Config) *int { return &c.RateLimitHour }),
	number("STXGATE_RATE_LIMIT_DAY", "rate-limit-day", "10000", "default per-day limit of new keys",
		func(c *Config) *int { return &c.RateLimitDay }),
	number("STXGATE_IP_LIMIT_MINUTE", "ip-limit-minute", "300", "wallet-signed calls per minute per client IP",
		func(c *Config) *int { return &c.IPLimitMinute }),
	number("STXGATE_WALLET_LIMIT_MINUTE", "wallet-limit-minute", "60", "wallet-signed calls per minute per wallet",
		func(c *Config) *int { return &c.WalletLimitMinute }),
	number("STXGATE_PUBLIC_LIMIT_MINUTE", "public-limit-minute", "600", "public reads per minute per client IP",
		func(c *Config) *int { return &c.PublicLimitMinute }),
	number("STXGATE_KEY_MISS_LIMIT_MINUTE", "key-miss-limit-minute", "60", "unknown API keys (valid checksum, no such key) per minute per client IP, then 429; keys that exist are never refused; 0: no limit",
		func(c *Config) *int { return &c.KeyMissLimitMinute }),
	duration("STXGATE_SIGNATURE_WINDOW", "signature-window", "5m", "how old a signed message's timestamp may be",
		func(c *Config) *time.Duration { return &c.SignatureWindow }),
	duration("STXGATE_SIGNATURE_SKEW", "signature-skew", "30s", "how far in the future a signed message's timestamp may be",
		func(c *Config) *time.Duration { return &c.SignatureSkew }),
	custom("STXGATE_DOMAIN", "domain", "string", "", "when set, every signed message must carry \"domain\" equal to it (set it in production; clients read it from /api/v1/info)",
		func(c *Config, v string) error { return parseMessageDomain(&c.Domain, v) }),
	number("STXGATE_MAX_KEYS_PER_WALLET", "max-keys-per-wallet", "25", "active API keys a wallet may hold",
		func(c *Config) *int { return &c.MaxKeysPerWallet }),
	text("STXGATE_SIP018_NAME", "sip018-name", "stxgate", "SIP-018 domain name orders are signed under",
		func(c *Config) *string { return &c.SIP018Name }),
	text("STXGATE_SIP018_VERSION", "sip018-version", "1", "SIP-018 domain version orders are signed under",
		func(c *Config) *string { return &c.SIP018Version }),
	urlVar("STXGATE_RELAYER_URL", "relayer-url", "", "settlement relayer; empty uses the SIMULATED settlement (no chain)",
		func(c *Config) *string { return &c.RelayerURL }),
	duration("STXGATE_RELAYER_TIMEOUT", "relayer-timeout", "8s", "timeout of one relayer request (an execute makes up to 3); 3 of them must fit in STXGATE_WRITE_TIMEOUT",
		func(c *Config) *time.Duration { return &c.RelayerTimeout }),
	custom("STXGATE_SETTLEMENT", "settlement", "string", "", "simulated, relayer or stacks; empty: relayer when STXGATE_RELAYER_URL is set, else simulated",
		func(c *Config, v string) error {
			switch v {
			case "", "simulated", "relayer", "stacks":
				c.Settlement = v
				return nil
			}
			return errors.New("want simulated, relayer or stacks")
		}),
	custom("STXGATE_EXECUTOR_KEY_FILE", "", "path", "", "stacks settlement: file holding the executor account's private key (hex), or one per line for a pool of executor accounts; environment only, never a flag, and the key is never logged",
		func(c *Config, v string) error { c.ExecutorKeyFile = v; return nil }),
	urlVar("STXGATE_STACKS_NODE_URL", "stacks-node-url", "", "stacks settlement: Stacks node (with the Hiro API's /extended endpoints) to broadcast to and track on",
		func(c *Config) *string { return &c.StacksNodeURL }),
	text("STXGATE_SETTLEMENT_CONTRACT", "settlement-contract", "", "stacks settlement: <address>.<name> of the settlement contract the executor calls",
		func(c *Config) *string { return &c.SettlementContract }),
	number("STXGATE_STACKS_FEE_FLOOR", "stacks-fee-floor", "1000", "stacks settlement: least fee of a transaction in µSTX (also the fee when the node has no estimate)",
		func(c *Config) *int { return &c.StacksFeeFloor }),
	number("STXGATE_STACKS_FEE_CAP", "stacks-fee-cap", "1000000", "stacks settlement: most fee of a transaction in µSTX, replacements included",
		func(c *Config) *int { return &c.StacksFeeCap }),
	duration("STXGATE_STACKS_STUCK_AFTER", "stacks-stuck-after", "10m", "stacks settlement: a transaction pending this long is replaced by fee (same nonce)",
		func(c *Config) *time.Duration { return &c.StacksStuckAfter }),
	number("STXGATE_STACKS_CHAIN_LIMIT", "stacks-chain-limit", "25", "stacks settlement: most unconfirmed transactions per executor account (the node's mempool chaining limit; a pool of accounts in STXGATE_EXECUTOR_KEY_FILE multiplies it)",
		func(c *Config) *int { return &c.StacksChainLimit }),
	duration("STXGATE_STACKS_QUEUE_WAIT", "stacks-queue-wait", "5s", "stacks settlement: how long an execute waits for a free slot among the executor accounts' unconfirmed transactions (STXGATE_STACKS_CHAIN_LIMIT each) before answering 502 settlement_unknown (reconciliation sends it later)",
		func(c *Config) *time.Duration { return &c.StacksQueueWait }),
	duration("STXGATE_STACKS_POLL_INTERVAL", "stacks-poll-interval", "2s", "stacks settlement: how often submitted transactions are looked up and nonce gaps checked",
		func(c *Config) *time.Duration { return &c.StacksPollInterval }),
	number("STXGATE_STACKS_SLIPPAGE_BPS", "stacks-slippage-bps", "100", "stacks settlement: payout floor below get-quote, in basis points",
		func(c *Config) *int { return &c.StacksSlippageBps }),
	duration("STXGATE_ORDER_MAX_LIFETIME", "order-max-lifetime", "720h", "longest validFrom..validTo span an order may have",
		func(c *Config) *time.Duration { return &c.OrderMaxLifetime }),
	duration("STXGATE_RECONCILE_AFTER", "reconcile-after", "30s", "an execution still unfinished after this is re-asked of settlement (same idempotency key); at least one settlement call's worst case",
		func(c *Config) *time.Duration { return &c.ReconcileAfter }),
	duration("STXGATE_MAINTENANCE_INTERVAL", "maintenance-interval", "10s", "how often executions are reconciled and expired orders swept",
		func(c *Config) *time.Duration { return &c.MaintenanceInterval }),
	duration("STXGATE_EVENTS_HEARTBEAT", "events-heartbeat", "15s", "order event streams (GET /api/v1/orders/events) send a comment line this often, so proxies keep them open",
		func(c *Config) *time.Duration { return &c.EventsHeartbeat }),
	number("STXGATE_EVENTS_PER_IP", "events-per-ip", "20", "order event streams one client IP may hold open at once on one instance (429 above)",
		func(c *Config) *int { return &c.EventsPerIP }),
	number("STXGATE_EVENTS_BUFFER", "events-buffer", "256", "order events a stream may lag behind before it is closed (the client resumes with Last-Event-ID)",
		func(c *Config) *int { return &c.EventsBuffer }),
	duration("STXGATE_EVENTS_RETENTION", "events-retention", "24h", "order events are kept this long for streams to resume from (at least 24h)",
		func(c *Config) *time.Duration { return &c.EventsRetention }),
	duration("STXGATE_EVENTS_POLL", "events-poll", "2s", "the order event log is read this often even without a PostgreSQL notification (a lost one is found by then)",
		func(c *Config) *time.Duration { return &c.EventsPoll }),
	custom("STXGATE_TRUSTED_PROXIES", "trusted-proxies", "CIDRs", "", "comma-separated CIDRs whose X-Forwarded-For is believed; empty: none",
		func(c *Config, v string) (err error) { c.TrustedProxies, err = parsePrefixes(v); return }),
	secret("STXGATE_OPERATOR_TOKEN", "bearer token of the operator API (/api/v1/admin: suspend keys); empty: no operator API. Environment only, never a flag; see STXGATE_OPERATOR_TOKEN_FILE",
		func(c *Config) *string { return &c.OperatorToken }),
	custom("STXGATE_OPERATOR_TOKEN_FILE", "operator-token-file", "path", "", "file holding the operator token (instead of STXGATE_OPERATOR_TOKEN; surrounding white space is ignored)",
		func(c *Config, v string) error { c.OperatorTokenFile = v; return nil }),
	custom("STXGATE_FAIL_OPEN", "fail-open", "list", "keyed-read,signed-read,public",
		"route classes served without rate limits while Redis is unreachable (keyed-write, keyed-read, signed-read, public); the others answer 503",
		func(c *Config, v string) error { c.FailOpen = splitList(v); return nil }),
	duration("STXGATE_KEY_CACHE_TTL", "key-cache-ttl", "30s", "how long a key is cached in process without a database read",
		func(c *Config) *time.Duration { return &c.KeyCacheTTL }),
	duration("STXGATE_USAGE_FLUSH_INTERVAL", "usage-flush-interval", "1s", "how often usage statistics are written to the database",
		func(c *Config) *time.Duration { return &c.UsageFlushInterval }),
	number("STXGATE_DB_MAX_CONNS", "db-max-conns", "0", "PostgreSQL pool size; 0 keeps pgx's default (max(4, cores))",
		func(c *Config) *int { return &c.DBMaxConns }),
	duration("STXGATE_DB_STATEMENT_TIMEOUT", "db-statement-timeout", "5s", "PostgreSQL statement_timeout of every connection",
		func(c *Config) *time.Duration { return &c.DBStatementTimeout }),
	number("STXGATE_DB_MIN_CONNS", "db-min-conns", "0", "PostgreSQL connections kept open even when idle",
		func(c *Config) *int { return &c.DBMinConns }),
	duration("STXGATE_DB_MAX_CONN_LIFETIME", "db-max-conn-lifetime", "1h", "a PostgreSQL connection older than this is closed and replaced (rebalances after failover)",
		func(c *Config) *time.Duration { return &c.DBMaxConnLifetime }),
	duration("STXGATE_DB_MAX_CONN_IDLE_TIME", "db-max-conn-idle-time", "30m", "an idle PostgreSQL connection is closed after this",
		func(c *Config) *time.Duration { return &c.DBMaxConnIdleTime }),
	urlVar("DATABASE_READ_URL", "database-read-url", "", "read-only PostgreSQL replica for public order reads (may lag the primary); empty reads from DATABASE_URL",
		func(c *Config) *string { return &c.DatabaseReadURL }),
	custom("STXGATE_BODY_LIMIT", "body-limit", "int", "65536", "largest request body in bytes",
		func(c *Config, v string) (err error) { c.BodyLimitBytes, err = parseInt64(v); return }),
	number("STXGATE_MAX_HEADER_BYTES", "max-header-bytes", "32768", "largest request header block in bytes (431 above)",
		func(c *Config) *int { return &c.MaxHeaderBytes }),
	duration("STXGATE_READ_HEADER_TIMEOUT", "read-header-timeout", "5s", "time a client has to send its request headers (slow clients are cut)",
		func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }),
	duration("STXGATE_READ_TIMEOUT", "read-timeout", "15s", "time a client has to send a whole request, body included",
		func(c *Config) *time.Duration { return &c.ReadTimeout }),
	duration("STXGATE_WRITE_TIMEOUT", "write-timeout", "30s", "longest time from the end of the request headers to the end of the answer",
		func(c *Config) *time.Duration { return &c.WriteTimeout }),
	duration("STXGATE_IDLE_TIMEOUT", "idle-timeout", "120s", "how long an idle keep-alive connection is kept",
		func(c *Config) *time.Duration { return &c.IdleTimeout }),
	duration("STXGATE_REQUEST_TIMEOUT", "request-timeout", "10s", "deadline of a request's PostgreSQL and Redis work (a partitioned store answers 503, not never); settlement after a claim is not cut",
		func(c *Config) *time.Duration { return &c.RequestTimeout }),
	duration("STXGATE_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long SIGTERM waits for in-flight requests",
		func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	custom("STXGATE_LOG_LEVEL", "log-level", "string", "info", "debug, info, warn or error",
		func(c *Config, v string) error { c.LogLevel = v; return nil }),
	number("STXGATE_GC_HEADROOM_MB", "gc-headroom-mb", "64", "Go's garbage collector runs once per this many MiB allocated while the live heap is smaller (rare pauses: a flatter p99, for as much more memory); 0, or GOGC set in the environment: Go's default pacing",
		func(c *Config) *int { return &c.GCHeadroomMB }),
}

// Load reads args (without the program name) and the environment getenv.
// Every problem is reported at once, in one *Error; -h gives flag.ErrHelp
// (print Usage then). Values appear in errors only through Var.Show, and the
// whole text is passed through Config.Scrub.
//
// The third argument is unused: help and errors are the caller's to print.
func Load(args []string, getenv func(string) string, _ io.Writer) (Config, error) {
	if err := refuseSecretFlags(args); err != nil {
		return Config{}, &Error{Problems: []string{err.Error()}}
	}
	fs := flag.NewFlagSet("stxgate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	vals := map[string]*string{}
	for _, v := range Vars {
		if v.Flag != "" {
			vals[v.Env] = new(string)
			fs.Var(flagValue{vals[v.Env], v.Type == "bool"}, v.Flag, v.Help)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, &Error{Problems: []string{flagProblem(err)}}
	}
	if fs.NArg() > 0 {
		return Config{}, &Error{Problems: []string{fmt.Sprintf("unexpected argument %q (stxgate -h lists the commands and flags)", Redact(fs.Arg(0)))}}
	}
	flagged := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagged[f.Name] = true })

	var c Config
	var problems []string
	for _, v := range Vars {
		raw, source := getenv(v.Env), v.Env
		if v.Flag != "" && flagged[v.Flag] {
			raw, source = *vals[v.Env], "-"+v.Flag
		}
		if raw == "" {
			raw = v.Default
		}
		raw = strings.TrimSpace(raw)
		if err := v.set(&c, raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: %v", source, v.Show(raw), err))
			// The default keeps Validate's checks of other settings meaningful,
			// so one start reports every problem.
			_ = v.set(&c, v.Default)
		}
	}
	if err := c.readOperatorTokenFile(getenv("STXGATE_OPERATOR_TOKEN") != ""); err != nil {
		problems = append(problems, err.Error())
	}
	if err := c.readExecutorKeyFile(); err != nil {
		problems = append(problems, err.Error())
	}
	if err := c.Validate(); err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	if len(problems) > 0 {
		for i, p := range problems {
			problems[i] = c.Scrub(p)
		}
		return Config{}, &Error{Problems: problems}
	}
	return c, nil
}

// flagValue keeps a flag's text for Var.set; a bool flag may stand alone
// (-migrate means -migrate=true).
type flagValue struct {
	s      *string
	isBool bool
}

func (f flagValue) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}
func (f flagValue) Set(v string) error { *f.s = v; return nil }
func (f flagValue) IsBoolFlag() bool   { return f.isBool }

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
	if c.GCHeadroomMB < 0 {
		errs = append(errs, fmt.Errorf("STXGATE_GC_HEADROOM_MB must not be negative, got %d", c.GCHeadroomMB))
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
	errs = append(errs, c.validateEvents()...)
	errs = append(errs, c.validateSettlement()...)
	for env, u := range map[string]string{"DATABASE_URL": c.DatabaseURL, "REDIS_URL": c.RedisURL, "STXGATE_RELAYER_URL": c.RelayerURL, "STXGATE_STACKS_NODE_URL": c.StacksNodeURL} {
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
	if c.OperatorToken != "" {
		if err := CheckOperatorToken(c.OperatorToken); err != nil {
			errs = append(errs, fmt.Errorf("STXGATE_OPERATOR_TOKEN: %w", err))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("STXGATE_LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel))
	}
	return errors.Join(errs...)
}
