package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

type globals struct {
	url     string
	network stacks.Network
	keyFile string
	json    bool
	getenv  func(string) string
	out     io.Writer
	errOut  io.Writer
}

func parseGlobal(args []string, getenv func(string) string) (*globals, []string, error) {
	fs := flag.NewFlagSet("stxgatectl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g := &globals{getenv: getenv}
	url := fs.String("url", orDefault(getenv("STXGATE_URL"), "http://127.0.0.1:8080"), "")
	network := fs.String("network", orDefault(getenv("STXGATE_NETWORK"), "mainnet"), "")
	fs.StringVar(&g.keyFile, "key-file", "", "")
	fs.BoolVar(&g.json, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, nil, usagef("%v", err)
	}
	n, err := stacks.ParseNetwork(*network)
	if err != nil {
		return nil, nil, usagef("--network: %v", err)
	}
	g.url, g.network = *url, n
	return g, fs.Args(), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// privateKey reads the wallet key from --key-file or STXGATE_PRIVATE_KEY.
func (g *globals) privateKey() (*stacks.PrivateKey, error) {
	raw := g.getenv("STXGATE_PRIVATE_KEY")
	if g.keyFile != "" {
		b, err := os.ReadFile(g.keyFile)
		if err != nil {
			return nil, fmt.Errorf("read --key-file: %w", err)
		}
		raw = string(b)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, usagef("no private key: set STXGATE_PRIVATE_KEY or pass --key-file")
	}
	k, err := stacks.ParsePrivateKey(raw)
	if err != nil {
		return nil, usagef("private key: %v", err)
	}
	return k, nil
}

// client builds an SDK client; withWallet adds the signer, the API key comes from the environment.
func (g *globals) client(withWallet bool) (*client.Client, error) {
	opts := []client.Option{client.WithNetwork(g.network)}
	if key := g.getenv("STXGATE_API_KEY"); key != "" {
		opts = append(opts, client.WithAPIKey(key))
	}
	if withWallet {
		k, err := g.privateKey()
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithSigner(client.PrivateKeySigner{Key: k}))
	}
	return client.New(g.url, opts...), nil
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

func printAPIError(w io.Writer, e *client.APIError) {
	fmt.Fprintf(w, "error: %d %s\n", e.Status, e.Message)
	for k, v := range e.Details {
		fmt.Fprintf(w, "  %s: %v\n", k, v)
	}
	if e.Status == 429 && e.RateLimit != nil && !e.RateLimit.Reset.IsZero() {
		fmt.Fprintf(w, "  retry after: %s\n", e.RateLimit.Reset.Format(time.RFC3339))
	}
}

func walletCmd(g *globals, sub string) error {
	switch sub {
	case "new":
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(map[string]string{"privateKey": k.Hex(), "address": k.Address(g.network).String(), "network": g.network.String()})
		}
		fmt.Fprintf(g.out, "private key: %s\naddress:     %s (%s)\n", k.Hex(), k.Address(g.network), g.network)
		fmt.Fprintln(g.errOut, "Keep the private key secret; export it as STXGATE_PRIVATE_KEY to use it.")
		return nil
	case "address":
		k, err := g.privateKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(g.out, k.Address(g.network))
		return nil
	}
	return usagef("wallet: want new or address")
}

func signCmd(ctx context.Context, g *globals, sub string, args []string) error {
	switch sub {
	case "message":
		if len(args) != 1 {
			return usagef("sign message: want exactly one argument (quote the text)")
		}
		k, err := g.privateKey()
		if err != nil {
			return err
		}
		sig := stacks.SignMessage(k, []byte(args[0]))
		if g.json {
			return g.printJSON(map[string]string{"message": args[0], "signature": sig, "walletAddress": k.Address(g.network).String()})
		}
		fmt.Fprintln(g.out, sig)
		return nil
	case "order":
		n, err := parseOrderFlags("sign order", args)
		if err != nil {
			return err
		}
		k, err := g.privateKey()
		if err != nil {
			return err
		}
		body, err := signOrder(k, g.network, n)
		if err != nil {
			return err
		}
		return g.printJSON(body)
	}
	return usagef("sign: want message or order")
}

// signOrder signs n under the default stxgate domain and returns the create body.
func signOrder(k *stacks.PrivateKey, network stacks.Network, n client.NewOrder) (map[string]string, error) {
	if n.Owner == "" {
		n.Owner = k.Address(network).String()
	}
	so := ordersig.Order{
		Owner: n.Owner, InputToken: n.InputToken, OutputToken: n.OutputToken, AmountIn: n.AmountIn,
		TargetPrice: n.TargetPrice, Direction: n.Direction, ConditionToken: n.ConditionToken,
		Recipient: n.Recipient, UUID: n.UUID, ValidFrom: n.ValidFrom.Unix(), ValidTo: n.ValidTo.Unix(),
	}
	sig, err := ordersig.Sign(k, so, stacks.NewDomain("stxgate", "1", network))
	if err != nil {
		return nil, usagef("sign order: %v", err)
	}
	return map[string]string{
		"owner": n.Owner, "inputToken": n.InputToken, "outputToken": n.OutputToken, "amountIn": n.AmountIn,
		"targetPrice": n.TargetPrice, "direction": n.Direction, "conditionToken": n.ConditionToken,
		"recipient": n.Recipient, "signature": sig, "uuid": n.UUID,
		"validFrom": n.ValidFrom.UTC().Format(time.RFC3339), "validTo": n.ValidTo.UTC().Format(time.RFC3339),
	}, nil
}

func parseOrderFlags(name string, args []string) (client.NewOrder, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var n client.NewOrder
	fs.StringVar(&n.UUID, "uuid", "", "order uuid (default: random)")
	fs.StringVar(&n.Owner, "owner", "", "owner (default: the wallet's address)")
	fs.StringVar(&n.InputToken, "input-token", "", "token to spend")
	fs.StringVar(&n.OutputToken, "output-token", "", "token to receive")
	fs.StringVar(&n.AmountIn, "amount-in", "", "amount in micro-units")
	fs.StringVar(&n.TargetPrice, "target-price", "", "decimal price")
	fs.StringVar(&n.Direction, "direction", "gt", "gt or lt")
	fs.StringVar(&n.ConditionToken, "condition-token", "", "token whose price is watched")
	fs.StringVar(&n.Recipient, "recipient", "", "who receives the proceeds")
	valid := fs.Duration("valid-for", time.Hour, "how long the order stays valid")
	if err := fs.Parse(args); err != nil {
		return n, usagef("%s: %v", name, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	n.ValidFrom, n.ValidTo = now, now.Add(*valid)
	if n.UUID == "" {
		n.UUID = client.NewUUID()
	}
	return n, nil
}

func keysCmd(ctx context.Context, g *globals, sub string, args []string) error {
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "key name")
	perms := fs.String("permissions", "", "comma-separated: create,execute,cancel")
	ip := fs.String("ip", "", "comma-separated CIDRs allowed to use the key")
	expires := fs.String("expires", "", "RFC 3339 expiry time")
	if err := fs.Parse(args); err != nil {
		return usagef("keys %s: %v", sub, err)
	}
	pos := fs.Args()
	id := ""
	if len(pos) > 0 {
		id = pos[0]
	}
	needID := func() error {
		if id == "" {
			return usagef("keys %s: want a key id", sub)
		}
		return nil
	}
	if sub == "self" {
		c, err := g.client(false)
		if err != nil {
			return err
		}
		self, err := c.Self(ctx)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(self)
		}
		g.printKeys([]client.Key{self.Key})
		for _, w := range []string{"minute", "hour", "day"} {
			s := self.RateLimitState[w]
			fmt.Fprintf(g.out, "%-6s %d/%d remaining, resets %s\n", w, s.Remaining, s.Limit, time.Unix(s.Reset, 0).UTC().Format(time.RFC3339))
		}
		return nil
	}
	c, err := g.client(true)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if *name == "" || *perms == "" {
			return usagef("keys create: --name and --permissions are required")
		}
		r := client.CreateKeyRequest{Name: *name, Permissions: splitComma(*perms), IPAllowlist: splitComma(*ip)}
		if *expires != "" {
			t, err := time.Parse(time.RFC3339, *expires)
			if err != nil {
				return usagef("keys create: --expires: %v", err)
			}
			r.ExpiresAt = &t
		}
		k, err := c.CreateKey(ctx, r)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(k)
		}
		fmt.Fprintf(g.out, "api key: %s\nkey id:  %s\nname:    %s\npermissions: %s\nrate limit: %d/minute\n",
			k.APIKey, k.KeyID, k.Name, strings.Join(k.Permissions, ","), k.RateLimit)
		fmt.Fprintln(g.errOut, "The API key is shown only once: store it now (e.g. export STXGATE_API_KEY=...).")
		return nil
	case "list":
		keys, err := c.ListKeys(ctx)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(keys)
		}
		g.printKeys(keys)
		return nil
	case "get":
		if err := needID(); err != nil {
			return err
		}
		k, err := c.GetKey(ctx, id)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(k)
		}
		g.printKeys([]client.Key{*k})
		return nil
	case "update":
		if err := needID(); err != nil {
			return err
		}
		var r client.UpdateKeyRequest
		if *name != "" {
			r.Name = name
		}
		if *perms != "" {
			r.Permissions = splitComma(*perms)
		}
		if *ip != "" {
			list := splitComma(*ip)
			r.IPAllowlist = &list
		}
		k, err := c.UpdateKey(ctx, id, r)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(k)
		}
		g.printKeys([]client.Key{*k})
		return nil
	case "revoke":
		if err := needID(); err != nil {
			return err
		}
		msg, err := c.RevokeKey(ctx, id)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(map[string]string{"message": msg})
		}
		fmt.Fprintln(g.out, msg)
		return nil
	}
	return usagef("keys: want create, list, get, update, revoke or self")
}

func (g *globals) printKeys(keys []client.Key) {
	rows := make([][]string, len(keys))
	for i, k := range keys {
		last := "never"
		if k.LastUsedAt != nil {
			last = k.LastUsedAt.UTC().Format(time.RFC3339)
		}
		rows[i] = []string{k.KeyID, k.Name, k.Prefix + "…", k.Status, strings.Join(k.Permissions, ","),
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
		c, err := g.client(true)
		if err != nil {
			return err
		}
		o, err := c.CreateOrder(ctx, n)
		if err != nil {
			return err
		}
		return g.printOrders([]client.Order{*o})
	case "execute", "cancel", "get":
		if len(args) != 1 {
			return usagef("orders %s: want an order uuid", sub)
		}
		// Without an API key, execute and cancel are signed by the wallet.
		c, err := g.client(sub != "get" && g.getenv("STXGATE_API_KEY") == "")
		if err != nil {
			return err
		}
		switch sub {
		case "execute":
			txid, err := c.ExecuteOrder(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]string{"status": "success", "txid": txid})
			}
			fmt.Fprintln(g.out, txid)
			return nil
		case "cancel":
			o, err := c.CancelOrder(ctx, args[0])
			if err != nil {
				return err
			}
			return g.printOrders([]client.Order{*o})
		default:
			o, err := c.GetOrder(ctx, args[0])
			if err != nil {
				return err
			}
			return g.printOrders([]client.Order{*o})
		}
	case "list":
		fs := flag.NewFlagSet("orders list", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var r client.ListOrdersRequest
		fs.StringVar(&r.Owner, "owner", "", "")
		fs.StringVar(&r.Status, "status", "", "")
		fs.IntVar(&r.Limit, "limit", 0, "")
		fs.StringVar(&r.Cursor, "cursor", "", "")
		if err := fs.Parse(args); err != nil {
			return usagef("orders list: %v", err)
		}
		c, err := g.client(false)
		if err != nil {
			return err
		}
		page, err := c.ListOrders(ctx, r)
		if err != nil {
			return err
		}
		if g.json {
			return g.printJSON(page)
		}
		if err := g.printOrders(page.Orders); err != nil {
			return err
		}
		if page.NextCursor != "" {
			fmt.Fprintf(g.out, "next page: --cursor %s\n", page.NextCursor)
		}
		return nil
	}
	return usagef("orders: want create, execute, cancel, get or list")
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
		if o.Settlement != nil && *o.Settlement == "simulated" {
			settlement = " (SIMULATED)"
		}
		rows[i] = []string{o.UUID, o.Status, o.Owner, o.AmountIn, o.Direction + " " + o.TargetPrice,
			o.ValidTo.UTC().Format(time.RFC3339), txid + settlement}
	}
	g.table("UUID\tSTATUS\tOWNER\tAMOUNT IN\tCONDITION\tVALID TO\tTXID", rows)
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
