package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

type globals struct {
	url     string
	shown   string // url with its password masked: what messages show
	network stacks.Network
	// networkSet: --network or STXGATE_NETWORK was given. Otherwise signed
	// messages take the gateway's network from /api/v1/info.
	networkSet bool
	keyFile    string
	json       bool
	getenv     func(string) string
	in         io.Reader
	out        io.Writer
	errOut     io.Writer
}

// globalFlags take a value; "json" is the one boolean global flag.
var globalFlags = map[string]bool{"url": true, "network": true, "key-file": true, "json": false}

// hoistGlobals moves global flags found anywhere before "--" to the front,
// so "stxgatectl keys list --json" works like "stxgatectl --json keys list".
func hoistGlobals(args []string) (globals, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if isForbiddenFlag(a) {
			flagName, _, _ := strings.Cut(a, "=") // never echo a value: it may be the key
			return nil, nil, usagef("%s: the private key is never read from a flag; set STXGATE_PRIVATE_KEY or pass --key-file", flagName)
		}
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, global := globalFlags[name]
		if !global {
			rest = append(rest, a)
			continue
		}
		globals = append(globals, a)
		if takesValue && !hasValue {
			if i+1 >= len(args) {
				return nil, nil, usagef("flag %s needs a value", a)
			}
			globals = append(globals, args[i+1])
			i++
		}
	}
	return globals, rest, nil
}

func parseGlobal(args []string, getenv func(string) string) (*globals, []string, error) {
	global, rest, err := hoistGlobals(args)
	if err != nil {
		return nil, nil, err
	}
	fs := flag.NewFlagSet("stxgatectl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g := &globals{getenv: getenv}
	url := fs.String("url", defaultURL(getenv), "")
	network := fs.String("network", orDefault(getenv("STXGATE_NETWORK"), "mainnet"), "")
	fs.StringVar(&g.keyFile, "key-file", "", "")
	fs.BoolVar(&g.json, "json", false, "")
	if err := fs.Parse(global); err != nil {
		return nil, nil, usagef("%v", err)
	}
	n, err := stacks.ParseNetwork(*network)
	if err != nil {
		return nil, nil, usagef("--network: %v", err)
	}
	g.network = n
	if g.url, g.shown, err = gatewayURL(*url); err != nil {
		return nil, nil, err
	}
	g.networkSet = getenv("STXGATE_NETWORK") != ""
	fs.Visit(func(f *flag.Flag) { g.networkSet = g.networkSet || f.Name == "network" })
	return g, rest, nil
}

// defaultURL is the gateway when --url is not given: STXGATE_URL, else the
// local gateway's STXGATE_LISTEN (so one variable moves both to another
// port), else the gateway's default address.
func defaultURL(getenv func(string) string) string {
	if u := getenv("STXGATE_URL"); u != "" {
		return u
	}
	if l := getenv("STXGATE_LISTEN"); l != "" {
		host, port, err := net.SplitHostPort(l)
		if err != nil {
			return l // reported by gatewayURL
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1" // listening on every interface: loopback is one of them
		}
		return net.JoinHostPort(host, port)
	}
	return "http://127.0.0.1:8080"
}

// gatewayURL accepts a URL or a bare host:port (http:// assumed) and returns
// it with the form messages show (password masked; the URL as typed is never
// repeated, it may hold one).
func gatewayURL(raw string) (url, shown string, err error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := neturl.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		shown := strconv.Quote(raw)
		if strings.Contains(raw, "@") { // may hold a password: show the masked form, or nothing
			shown = "(not a URL)"
			if err == nil {
				shown = strconv.Quote(u.Redacted())
			}
		}
		return "", "", usagef("gateway URL %s: want http://host:port, https://host or host:port (--url or STXGATE_URL)", shown)
	}
	return strings.TrimRight(u.String(), "/"), strings.TrimRight(u.Redacted(), "/"), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// privateKey reads the wallet key from --key-file or STXGATE_PRIVATE_KEY.
func (g *globals) privateKey() (*stacks.PrivateKey, error) {
	raw, from := g.getenv("STXGATE_PRIVATE_KEY"), "STXGATE_PRIVATE_KEY"
	if g.keyFile != "" {
		b, err := os.ReadFile(g.keyFile)
		if err != nil {
			return nil, usagef("--key-file: %v", err)
		}
		raw, from = string(b), "--key-file"
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, usagef("no private key: set STXGATE_PRIVATE_KEY or pass --key-file")
	}
	k, err := stacks.ParsePrivateKey(raw)
	if err != nil {
		return nil, usagef("private key from %s: %v", from, err) // the error never repeats the key
	}
	return k, nil
}

// client builds an SDK client; withWallet adds the signer, the API key comes
// from the environment. The SDK reads the gateway's /api/v1/info, so signed
// messages and orders carry the gateway's network and domains; a --network
// that differs from the gateway's is refused before the wallet signs.
func (g *globals) client(ctx context.Context, withWallet bool, extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{client.WithUserAgent("stxgatectl")}
	if g.networkSet {
		opts = append(opts, client.WithNetwork(g.network))
	}
	if key := strings.TrimSpace(g.getenv("STXGATE_API_KEY")); key != "" {
		opts = append(opts, client.WithAPIKey(key))
	}
	if withWallet {
		k, err := g.privateKey()
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithSigner(client.PrivateKeySigner{Key: k}))
	}
	return client.New(ctx, g.url, append(opts, extra...)...)
}

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (g *globals) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// newFlags is a subcommand's flag set; its errors become usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses flags up to the first positional argument.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpRequest{fs}
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// parseArgs parses flags anywhere among the arguments ("keys update <id>
// --name x" as well as "keys update --name x <id>"; "--" ends the flags) and
// returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// parseN is parseArgs wanting exactly n positional arguments (what names them).
func parseN(fs *flag.FlagSet, args []string, n int, what string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, usagef("%s: want %s", fs.Name(), what)
	}
	return pos, nil
}

func walletCmd(g *globals, sub string, args []string) error {
	fs := newFlags("wallet " + sub)
	export := fs.Bool("export", false, "print a shell export line (wallet new)")
	if _, err := parseN(fs, args, 0, "no arguments"); err != nil {
		return err
	}
	if *export && sub != "new" {
		return usagef("wallet %s: flag --export does not apply", sub)
	}
	switch sub {
	case "new":
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return err
		}
		addr := k.Address(g.network).String()
		switch {
		case g.json && *export:
			return usagef("wallet new: --json and --export exclude each other")
		case g.json:
			return g.printJSON(map[string]string{"privateKey": k.Hex(), "address": addr, "network": g.network.String()})
		case *export:
			// For eval "$(stxgatectl wallet new --export)": the key goes only
			// to stdout, the address also to stderr so a person sees it.
			fmt.Fprintf(g.out, "export STXGATE_PRIVATE_KEY=%s\n# address: %s (%s)\n", k.Hex(), addr, g.network)
			fmt.Fprintf(g.errOut, "New wallet %s (%s). Its private key is in the export line: keep it secret.\n", addr, g.network)
			return nil
		}
		fmt.Fprintf(g.out, "private key: %s\naddress:     %s (%s)\n", k.Hex(), addr, g.network)
		fmt.Fprintln(g.errOut, "Keep the private key secret; export it as STXGATE_PRIVATE_KEY (or put it in a --key-file) to use it.")
		return nil
	case "address":
		k, err := g.privateKey()
		if err != nil {
			return err
		}
		addr := k.Address(g.network).String()
		if g.json {
			return g.printJSON(map[string]string{"address": addr, "network": g.network.String(), "publicKey": fmt.Sprintf("%x", k.PublicKey())})
		}
		fmt.Fprintln(g.out, addr)
		return nil
	}
	return usagef("wallet: want new or address")
}

func signCmd(ctx context.Context, g *globals, sub string, args []string) error {
	switch sub {
	case "message":
		fs := newFlags("sign message")
		pos, err := parseN(fs, args, 1, "exactly one argument: the text (quote it), or - to read it from stdin")
		if err != nil {
			return err
		}
		text := pos[0]
		if text == "-" {
			b, err := io.ReadAll(g.in)
			if err != nil {
				return fmt.Errorf("read stdin: %w", err)
			}
			text = strings.TrimSuffix(string(b), "\n")
		}
		k, err := g.privateKey()
		if err != nil {
			return err
		}
		sig, err := stacks.SignMessage(k, []byte(text))
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(client.Envelope{Message: text, Signature: sig, WalletAddress: k.Address(g.network).String()})
		}
		fmt.Fprintln(g.out, sig)
		return nil
	case "order":
		n, err := parseOrderFlags("sign order", args)
		if err != nil {
			return err
		}
		so, err := signOrder(ctx, g, nil, "sign order", n)
		if err != nil {
			return err
		}
		return g.printJSON(so) // the body is JSON whatever --json says
	}
	return usagef("sign: want message or order")
}

// signOrder signs n with the wallet (STXGATE_PRIVATE_KEY or --key-file):
// with c, under c's gateway's domain; without, offline under --network and
// STXGATE_SIP018_NAME / _VERSION.
func signOrder(ctx context.Context, g *globals, c *client.Client, name string, n client.NewOrder) (*client.SignedOrder, error) {
	var (
		so  *client.SignedOrder
		err error
	)
	if c != nil {
		so, err = c.SignOrder(ctx, n)
	} else {
		k, kerr := g.privateKey()
		if kerr != nil {
			return nil, kerr
		}
		d := stacks.NewDomain(orDefault(g.getenv("STXGATE_SIP018_NAME"), "stxgate"), orDefault(g.getenv("STXGATE_SIP018_VERSION"), "1"), g.network)
		so, err = client.SignOrder(ctx, client.PrivateKeySigner{Key: k}, g.network, d, n)
	}
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	return so, nil
}

func parseOrderFlags(name string, args []string) (client.NewOrder, error) {
	fs := newFlags(name)
	var n client.NewOrder
	fs.StringVar(&n.UUID, "uuid", "", "order uuid (default: random)")
	fs.StringVar(&n.Owner, "owner", "", "owner (default: the wallet's address)")
	fs.StringVar(&n.InputToken, "input-token", "", "token to spend")
	fs.StringVar(&n.OutputToken, "output-token", "", "token to receive")
	fs.StringVar(&n.AmountIn, "amount-in", "", "amount in micro-units")
	fs.StringVar(&n.TargetPrice, "target-price", "", "decimal price")
	fs.StringVar((*string)(&n.Direction), "direction", "", "gt or lt")
	fs.StringVar(&n.ConditionToken, "condition-token", "", "token whose price is watched")
	fs.StringVar(&n.Recipient, "recipient", "", "who receives the proceeds (default: the owner)")
	validFrom := fs.String("valid-from", "", "RFC 3339 time from which the order may execute (default: now)")
	valid := lifetime(client.DefaultOrderLifetime)
	fs.Var(&valid, "valid-for", "how long the order stays valid: 1d, 36h, 1d12h, 90m")
	if _, err := parseN(fs, args, 0, "only flags"); err != nil {
		return n, err
	}
	var missing []string
	for flagName, v := range map[string]string{"input-token": n.InputToken, "output-token": n.OutputToken,
		"amount-in": n.AmountIn, "target-price": n.TargetPrice, "direction": string(n.Direction), "condition-token": n.ConditionToken} {
		if v == "" {
			missing = append(missing, "--"+flagName)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return n, usagef("%s: missing %s", name, strings.Join(missing, ", "))
	}
	if valid <= 0 {
		return n, usagef("%s: --valid-for must be positive", name)
	}
	n.ValidFrom = time.Now()
	if *validFrom != "" {
		t, err := time.Parse(time.RFC3339, *validFrom)
		if err != nil {
			return n, usagef("%s: --valid-from: want an RFC 3339 time such as 2026-12-01T12:00:00Z", name)
		}
		n.ValidFrom = t
	}
	n.ValidTo = n.ValidFrom.Add(time.Duration(valid))
	return n, nil
}

func keysCmd(ctx context.Context, g *globals, sub string, args []string) error {
	fs := newFlags("keys " + sub)
	name := fs.String("name", "", "key name")
	perms := fs.String("permissions", "", "comma-separated: create,execute,cancel,read (read alone: a monitoring key)")
	ip := fs.String("ip", "", "comma-separated CIDRs allowed to use the key")
	expires := fs.String("expires", "", "RFC 3339 expiry time")
	export := fs.Bool("export", false, "print a shell export line with the new key")
	var grace lifetime
	fs.Var(&grace, "grace", "how long the old key keeps working: 90s, 1h, 24h at most (0: revoked at once)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for f := range set {
		if !slices.Contains(keyFlags[sub], f) {
			return usagef("keys %s: flag --%s does not apply", sub, f)
		}
	}
	keyID := func() (string, error) {
		if len(pos) != 1 {
			return "", usagef("%s: want a key id (see keys list)", fs.Name())
		}
		return pos[0], nil
	}
	noArgs := func() error {
		if len(pos) != 0 {
			return usagef("%s: want no arguments", fs.Name())
		}
		return nil
	}

	if sub == "self" {
		if err := noArgs(); err != nil {
			return err
		}
		if g.getenv("STXGATE_API_KEY") == "" {
			return usagef("keys self: set STXGATE_API_KEY")
		}
		c, err := g.client(ctx, false)
		if err != nil {
			return err
		}
		self, _, err := c.Self(ctx)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(self)
		}
		g.printKeys([]client.Key{self.Key})
		fmt.Fprintln(g.out)
		rows := [][]string{}
		for _, w := range []string{"minute", "hour", "day"} {
			s := self.RateLimitState[w]
			rows = append(rows, []string{w, fmt.Sprint(s.Limit), fmt.Sprint(s.Remaining), time.Unix(s.Reset, 0).UTC().Format(time.RFC3339)})
		}
		g.table("WINDOW\tLIMIT\tREMAINING\tRESETS", rows)
		return nil
	}
	switch sub {
	case "create", "list", "get", "update", "rotate", "revoke":
	default:
		return usagef("keys: want create, list, get, update, rotate, revoke or self")
	}
	// The client reads the gateway's /api/v1/info: made once the command's
	// arguments are known to be good, so a usage error needs no gateway.
	// keys list with a read key (STXGATE_API_KEY) and no wallet key: no signature.
	withWallet := !(sub == "list" && g.keyFile == "" && g.getenv("STXGATE_PRIVATE_KEY") == "" && g.getenv("STXGATE_API_KEY") != "")
	var c *client.Client
	connect := func() (err error) {
		c, err = g.client(ctx, withWallet)
		return err
	}
	switch sub {
	case "create":
		if err := noArgs(); err != nil {
			return err
		}
		if *name == "" || *perms == "" {
			return usagef("keys create: --name and --permissions are required")
		}
		if g.json && *export {
			return usagef("keys create: --json and --export exclude each other")
		}
		r := client.CreateKeyRequest{Name: *name, Permissions: permissions(*perms), IPAllowlist: splitComma(*ip)}
		if *expires != "" {
			t, err := time.Parse(time.RFC3339, *expires)
			if err != nil {
				return usagef("keys create: --expires: want an RFC 3339 time such as 2027-01-31T00:00:00Z")
			}
			r.ExpiresAt = &t
		}
		if err := connect(); err != nil {
			return err
		}
		k, _, err := c.CreateKey(ctx, r)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(k)
		}
		if *export {
			// For eval "$(stxgatectl keys create ... --export)": the key goes only to stdout.
			fmt.Fprintf(g.out, "export STXGATE_API_KEY=%s\n# key id: %s\n", k.APIKey, k.KeyID)
			fmt.Fprintf(g.errOut, "Created API key %q (key id %s, %s). The key is in the export line and shown only once.\n",
				k.Name, k.KeyID, joinPermissions(k.Permissions))
			return nil
		}
		g.printNewKey(k)
		return nil
	case "rotate":
		id, err := keyID()
		if err != nil {
			return err
		}
		if g.json && *export {
			return usagef("keys rotate: --json and --export exclude each other")
		}
		if time.Duration(grace) > 24*time.Hour || time.Duration(grace)%time.Second != 0 {
			return usagef("keys rotate: --grace: want whole seconds up to 24h, such as 1h or 90s")
		}
		if err := connect(); err != nil {
			return err
		}
		k, _, err := c.RotateKey(ctx, id, time.Duration(grace))
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(k)
		}
		old := "the old key " + id + " is revoked"
		if grace > 0 {
			old = fmt.Sprintf("the old key %s keeps working for %s", id, time.Duration(grace))
		}
		if *export {
			fmt.Fprintf(g.out, "export STXGATE_API_KEY=%s\n# key id: %s\n", k.APIKey, k.KeyID)
			fmt.Fprintf(g.errOut, "Rotated API key %q to key id %s; %s. The new key is in the export line and shown only once.\n", k.Name, k.KeyID, old)
			return nil
		}
		g.printNewKey(k)
		fmt.Fprintf(g.errOut, "Rotated: %s.\n", old)
		return nil
	case "list":
		if err := noArgs(); err != nil {
			return err
		}
		if err := connect(); err != nil {
			return err
		}
		keys, _, err := c.ListKeys(ctx)
		if err != nil {
			return err
		}
		if g.json {
			if keys == nil {
				keys = []client.Key{}
			}
			return g.printJSON(keys)
		}
		g.printKeys(keys)
		return nil
	case "get":
		id, err := keyID()
		if err != nil {
			return err
		}
		if err := connect(); err != nil {
			return err
		}
		k, _, err := c.GetKey(ctx, id)
		return g.showKey(k, err)
	case "update":
		id, err := keyID()
		if err != nil {
			return err
		}
		var r client.UpdateKeyRequest
		if set["name"] {
			r.Name = name
		}
		if set["permissions"] {
			r.Permissions = permissions(*perms)
		}
		if set["ip"] {
			list := splitComma(*ip)
			r.IPAllowlist = &list
		}
		if len(set) == 0 {
			return usagef("keys update: give --name, --permissions or --ip")
		}
		if err := connect(); err != nil {
			return err
		}
		k, _, err := c.UpdateKey(ctx, id, r)
		return g.showKey(k, err)
	default: // revoke
		id, err := keyID()
		if err != nil {
			return err
		}
		if err := connect(); err != nil {
			return err
		}
		msg, _, err := c.RevokeKey(ctx, id)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(map[string]string{"message": msg})
		}
		fmt.Fprintln(g.out, msg)
		return nil
	}
}

// printNewKey prints a created or rotated key, its secret shown this once.
func (g *globals) printNewKey(k *client.CreatedKey) {
	fmt.Fprintf(g.out, "api key:     %s\nkey id:      %s\nname:        %s\npermissions: %s\nrate limits: %d/minute, %d/hour, %d/day\n",
		k.APIKey, k.KeyID, k.Name, joinPermissions(k.Permissions), k.RateLimits.Minute, k.RateLimits.Hour, k.RateLimits.Day)
	fmt.Fprintln(g.errOut, "The API key is shown only once: store it now (e.g. export STXGATE_API_KEY=...).")
}

// showKey prints k (as JSON with --json), or returns err from the call that read it.
func (g *globals) showKey(k *client.Key, err error) error {
	if err != nil {
		return err
	}
	if g.json {
		return g.printJSON(k)
	}
	g.printKeys([]client.Key{*k})
	return nil
}

func (g *globals) printKeys(keys []client.Key) {
	rows := make([][]string, len(keys))
	for i, k := range keys {
		last := "never"
		if k.LastUsedAt != nil {
			last = k.LastUsedAt.UTC().Format(time.RFC3339)
		}
		rows[i] = []string{k.KeyID, k.Name, k.Prefix + "…", string(k.Status), joinPermissions(k.Permissions),
			fmt.Sprintf("%d/%d/%d", k.RateLimits.Minute, k.RateLimits.Hour, k.RateLimits.Day),
			k.CreatedAt.UTC().Format(time.RFC3339), last,
			fmt.Sprintf("%d (%d ok, %d failed)", k.UsageStats.TotalRequests, k.UsageStats.SuccessfulRequests, k.UsageStats.FailedRequests)}
	}
	g.table("KEY ID\tNAME\tPREFIX\tSTATUS\tPERMISSIONS\tLIMITS m/h/d\tCREATED\tLAST USED\tREQUESTS", rows)
}

func ordersCmd(ctx context.Context, g *globals, sub string, args []string) error {
	switch sub {
	case "create":
		n, err := parseOrderFlags("orders create", args)
		if err != nil {
			return err
		}
		c, err := g.client(ctx, true)
		if err != nil {
			return err
		}
		so, err := signOrder(ctx, g, c, "orders create", n)
		if err != nil {
			return err
		}
		o, _, err := c.SubmitOrder(ctx, *so)
		if err != nil {
			return err
		}
		return g.printOrders([]client.Order{*o})
	case "execute", "cancel", "get":
		fs := newFlags("orders " + sub)
		pos, err := parseN(fs, args, 1, "an order uuid")
		if err != nil {
			return err
		}
		uuid := pos[0]
		// Without an API key, execute and cancel are signed by the wallet.
		c, err := g.client(ctx, sub != "get" && g.getenv("STXGATE_API_KEY") == "")
		if err != nil {
			return err
		}
		switch sub {
		case "execute":
			ex, _, err := c.ExecuteOrder(ctx, uuid)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(ex)
			}
			note := ""
			if ex.Simulated() {
				note = " (simulated)"
			}
			fmt.Fprintf(g.out, "txid:       %s%s\nstate:      %s\nsettlement: %s\n", ex.TxID, note, ex.State, ex.Settlement)
			if ex.Simulated() {
				fmt.Fprintln(g.errOut, "The gateway runs the simulated settlement: no transaction was sent to the chain.")
			}
			return nil
		case "cancel":
			o, _, err := c.CancelOrder(ctx, uuid)
			if err != nil {
				return err
			}
			return g.printOrders([]client.Order{*o})
		default:
			o, _, err := c.GetOrder(ctx, uuid)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(o)
			}
			printOrder(g.out, o, c.Network())
			return nil
		}
	case "list":
		fs := newFlags("orders list")
		var r client.ListOrdersRequest
		fs.StringVar(&r.Owner, "owner", "", "only the orders of this address")
		fs.StringVar((*string)(&r.Status), "status", "", "only orders in this state (e.g. open, filled, cancelled)")
		fs.IntVar(&r.Limit, "limit", 0, "orders per page (the gateway's default when 0)")
		fs.StringVar(&r.Cursor, "cursor", "", "next page, as printed by the previous one")
		if _, err := parseN(fs, args, 0, "only flags"); err != nil {
			return err
		}
		c, err := g.client(ctx, false)
		if err != nil {
			return err
		}
		page, _, err := c.ListOrders(ctx, r)
		if err != nil {
			return err
		}
		if g.json {
			if page.Orders == nil {
				page.Orders = []client.Order{}
			}
			return g.printJSON(page)
		}
		if err := g.printOrders(page.Orders); err != nil {
			return err
		}
		if page.NextCursor != "" {
			fmt.Fprintf(g.out, "next page: --cursor %s\n", page.NextCursor)
		}
		return nil
	case "watch":
		return watchOrders(ctx, g, args)
	}
	return usagef("orders: want create, execute, cancel, get, list or watch")
}

// watchOrders prints one line per order event (GET /api/v1/orders/events)
// until interrupted; the SDK reconnects and resumes by itself.
func watchOrders(ctx context.Context, g *globals, args []string) error {
	fs := newFlags("orders watch")
	var f client.OrderEventFilter
	fs.StringVar(&f.Owner, "owner", "", "only the orders of this address")
	fs.Int64Var(&f.After, "after", 0, "first replay every event after this id (0: start with the next change)")
	if _, err := parseN(fs, args, 0, "only flags"); err != nil {
		return err
	}
	c, err := g.client(ctx, false)
	if err != nil {
		return err
	}
	for ev, err := range c.OrderEvents(ctx, f) {
		if err != nil {
			return err
		}
		if g.json { // one compact document per line (NDJSON), for jq
			b, err := json.Marshal(struct {
				ID    int64        `json:"id"`
				Event string       `json:"event"`
				Order client.Order `json:"order"`
			}{ev.ID, ev.Type, ev.Order})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s\n", b)
			continue
		}
		txid := "-"
		if ev.Order.TxID != nil {
			txid = *ev.Order.TxID
		}
		fmt.Fprintf(g.out, "%d %s %s %s %s %s\n", ev.ID, ev.Type, ev.Order.UUID, ev.Order.Status, ev.Order.Owner, txid)
	}
	return ctx.Err()
}

func (g *globals) printOrders(orders []client.Order) error {
	if g.json {
		if len(orders) == 1 {
			return g.printJSON(orders[0])
		}
		return g.printJSON(orders)
	}
	rows := make([][]string, len(orders))
	for i, o := range orders {
		txid, settlement := "-", ""
		if o.TxID != nil {
			txid = *o.TxID
		}
		if o.Settlement != nil && *o.Settlement == client.SettlementSimulated {
			settlement = " (simulated)"
		}
		rows[i] = []string{o.UUID, string(o.Status), o.Owner, o.AmountIn, string(o.Direction) + " " + o.TargetPrice,
			o.ValidTo.UTC().Format(time.RFC3339), txid + settlement}
	}
	g.table("UUID\tSTATUS\tOWNER\tAMOUNT IN\tCONDITION\tVALID TO\tTXID", rows)
	return nil
}

// printOrder shows one order field by field: its state, and once executed
// the txid with, for a transaction on chain, its block and a link to the
// Stacks explorer of the gateway's network.
func printOrder(w io.Writer, o *client.Order, net stacks.Network) {
	line := func(k, v string) { fmt.Fprintf(w, "%-12s %s\n", k+":", v) }
	line("uuid", o.UUID)
	line("state", string(o.Status))
	line("owner", o.Owner)
	line("trade", o.AmountIn+" "+o.InputToken+" -> "+o.OutputToken)
	line("condition", string(o.Direction)+" "+o.TargetPrice+" ("+o.ConditionToken+")")
	line("recipient", o.Recipient)
	line("valid", o.ValidFrom.UTC().Format(time.RFC3339)+" .. "+o.ValidTo.UTC().Format(time.RFC3339))
	if o.TxID != nil {
		simulated := o.Settlement != nil && *o.Settlement == client.SettlementSimulated
		note := ""
		if simulated {
			note = " (simulated: no chain transaction)"
		}
		line("txid", *o.TxID+note)
		if o.Settlement != nil {
			line("settlement", string(*o.Settlement))
		}
		if o.BlockHeight != nil {
			line("block", strconv.FormatInt(*o.BlockHeight, 10))
		}
		if !simulated {
			line("explorer", "https://explorer.hiro.so/txid/"+*o.TxID+"?chain="+net.String())
		}
	}
	for _, t := range []struct {
		k string
		v *time.Time
	}{{"submitted", o.SubmittedAt}, {"filled", o.FilledAt}, {"cancelled", o.CancelledAt}, {"expired", o.ExpiredAt}} {
		if t.v != nil {
			line(t.k, t.v.UTC().Format(time.RFC3339))
		}
	}
	if o.LastError != nil {
		line("last error", *o.LastError)
	}
}

func splitComma(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// permissions reads a --permissions list; the gateway judges the names.
func permissions(s string) []client.Permission {
	names := splitComma(s)
	out := make([]client.Permission, len(names))
	for i, n := range names {
		out[i] = client.Permission(n)
	}
	return out
}

func joinPermissions(ps []client.Permission) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, ",")
}

// lifetime is a duration flag that also takes days: "1d", "2d12h", or any
// Go duration ("36h", "90m").
type lifetime time.Duration

func (l *lifetime) String() string { return time.Duration(*l).String() }

func (l *lifetime) Set(s string) error {
	days, rest := 0, s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 3650 || s[:i] != strconv.Itoa(n) {
			return fmt.Errorf("%q: want a duration such as 1d, 36h or 1d12h", s)
		}
		days, rest = n, s[i+1:]
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || strings.HasPrefix(rest, "-") {
			return fmt.Errorf("%q: want a duration such as 1d, 36h or 1d12h", s)
		}
		d += r
	}
	*l = lifetime(d)
	return nil
}

// waitCmd polls GET /readyz until the gateway is ready: a script that starts
// the gateway in the background waits for it with "stxgatectl wait".
func waitCmd(ctx context.Context, g *globals, args []string) error {
	fs := newFlags("wait")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait")
	if _, err := parseN(fs, args, 0, "only flags"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var c *client.Client // made once the gateway answers /api/v1/info
	for {
		var err error
		if c == nil {
			c, err = g.client(ctx, false)
		}
		if c != nil {
			_, _, err = c.Ready(ctx)
		}
		if err == nil {
			if g.json {
				return g.printJSON(map[string]string{"status": "ready", "url": g.shown})
			}
			fmt.Fprintf(g.errOut, "The gateway at %s is ready.\n", g.shown)
			return nil
		}
		var apiErr *client.APIError
		if !errors.Is(err, client.ErrUnreachable) && !errors.As(err, &apiErr) && ctx.Err() == nil {
			return err // nothing waiting cures (another network than --network's)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("gateway at %s not ready after %s: %w", g.shown, *timeout, errNotReady{err})
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// errNotReady keeps the last answer's error for the exit code: an API error
// (a store down) exits 1, no answer at all exits 3.
type errNotReady struct{ last error }

func (e errNotReady) Error() string { return e.last.Error() }
func (e errNotReady) Unwrap() error { return e.last }
