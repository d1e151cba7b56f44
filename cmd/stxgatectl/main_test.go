package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// cli runs stxgatectl in process with its own environment, as a shell would.
type cli struct {
	t   *testing.T
	env map[string]string
}

// in is the same shell for subtest t.
func (c *cli) in(t *testing.T) *cli { return &cli{t: t, env: c.env} }

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// ok runs args and wants exit code 0.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		c.t.Fatalf("stxgatectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs args and wants exit code code.
func (c *cli) fails(code int, args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != code {
		c.t.Fatalf("stxgatectl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// field returns the value after "label:" on a line of out.
func field(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", label, out)
	}
	return m[1]
}

var orderFlags = []string{"--input-token", testgateway.SBTC, "--output-token", testgateway.WSTX, "--amount-in", "1000000",
	"--target-price", "0.30", "--direction", "gt", "--condition-token", testgateway.SBTC}

// TestRoundTrip is the README's first round trip, as a user types it:
// wallet new → keys create → orders create → orders execute → keys revoke.
func TestRoundTrip(t *testing.T) {
	g := testgateway.Start(t)
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL}}

	r := c.run("", "wallet", "new")
	if r.code != 0 || !strings.Contains(r.stderr, "Keep the private key secret") {
		t.Fatalf("wallet new: %+v", r)
	}
	priv := field(t, r.stdout, "private key")
	addr := field(t, r.stdout, "address")
	if !regexp.MustCompile(`^[0-9a-f]{64}01$`).MatchString(priv) || !strings.HasPrefix(addr, "SP") || !strings.Contains(r.stdout, "(mainnet)") {
		t.Fatalf("wallet new printed:\n%s", r.stdout)
	}
	c.env["STXGATE_PRIVATE_KEY"] = priv
	if got := strings.TrimSpace(c.ok("wallet", "address")); got != addr {
		t.Fatalf("wallet address %q, want %q", got, addr)
	}

	r = c.run("", "keys", "create", "--name", "My Trading Bot", "--permissions", "create,execute,cancel")
	if r.code != 0 || !strings.Contains(r.stderr, "shown only once") {
		t.Fatalf("keys create: %+v", r)
	}
	apiKey, keyID := field(t, r.stdout, "api key"), field(t, r.stdout, "key id")
	if !strings.HasPrefix(apiKey, "ck_live_") || !strings.Contains(r.stdout, "permissions: create,execute,cancel") ||
		!strings.Contains(r.stdout, "rate limits: 100/minute, 1000/hour, 10000/day") {
		t.Fatalf("keys create printed:\n%s", r.stdout)
	}
	c.env["STXGATE_API_KEY"] = apiKey

	list := c.ok("keys", "list")
	if !strings.HasPrefix(list, "KEY ID") || !strings.Contains(list, keyID) || !strings.Contains(list, "My Trading Bot") || !strings.Contains(list, "active") {
		t.Fatalf("keys list:\n%s", list)
	}
	var self struct {
		KeyID          string `json:"keyId"`
		RateLimitState map[string]struct{ Limit, Remaining int }
	}
	if err := json.Unmarshal([]byte(c.ok("keys", "self", "--json")), &self); err != nil {
		t.Fatal(err)
	}
	if self.KeyID != keyID || self.RateLimitState["minute"].Limit != 100 || self.RateLimitState["minute"].Remaining != 99 {
		t.Fatalf("keys self --json: %+v", self)
	}

	created := c.ok(append([]string{"orders", "create"}, orderFlags...)...)
	lines := strings.Split(strings.TrimSpace(created), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "UUID") {
		t.Fatalf("orders create:\n%s", created)
	}
	cols := strings.Fields(lines[1])
	uuid := cols[0]
	if cols[1] != "open" || cols[2] != addr || cols[3] != "1000000" {
		t.Fatalf("orders create row: %q", lines[1])
	}

	r = c.run("", "orders", "execute", uuid)
	txid := field(t, r.stdout, "txid")
	if r.code != 0 || !regexp.MustCompile(`^0x[0-9a-f]{64}$`).MatchString(txid) ||
		r.stdout != "txid:       "+txid+" (simulated)\nstate:      filled\nsettlement: simulated\n" ||
		r.stderr != "The gateway runs the simulated settlement: no transaction was sent to the chain.\n" {
		t.Fatalf("orders execute: %+v", r)
	}
	var got struct{ Status, Txid, Settlement string }
	if err := json.Unmarshal([]byte(c.ok("orders", "get", uuid, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "filled" || got.Txid != txid || got.Settlement != "simulated" {
		t.Fatalf("orders get: %+v", got)
	}
	if out := c.ok("orders", "get", uuid); !strings.Contains(out, "\ntxid:        "+txid+" (simulated: no chain transaction)\n") || strings.Contains(out, "explorer") {
		t.Fatalf("orders get does not flag the simulated settlement (or links a txid no chain has):\n%s", out)
	}

	r = c.fails(exitAPI, "orders", "execute", uuid)
	if !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 400 Order not open\n  status: filled\n  txid: "+txid+"\n  request id: ") || r.stdout != "" {
		t.Fatalf("second execute:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}

	if msg := c.ok("keys", "revoke", keyID); msg != "API key 'My Trading Bot' has been revoked\n" {
		t.Fatalf("keys revoke printed %q", msg)
	}
	r = c.fails(exitAPI, "keys", "self")
	if !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 401 API key inactive\n") {
		t.Fatalf("revoked key: %s", r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, apiKey) || strings.Contains(r.stderr, priv) {
		t.Fatal("a secret was printed in an error")
	}
}

// TestMoreCommands covers the rest of the command set against a gateway.
func TestMoreCommands(t *testing.T) {
	g := testgateway.Start(t)
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL}}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "wallet.key")
	if err := os.WriteFile(keyFile, []byte(testgateway.PrivA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, _ := stacks.ParsePrivateKey(testgateway.PrivA)
	addr := k.Address(stacks.Mainnet).String()

	t.Run("KeyFileAndGlobalFlagsAnywhere", func(t *testing.T) {
		c := c.in(t)
		var w struct{ Address, Network, PublicKey string }
		if err := json.Unmarshal([]byte(c.ok("wallet", "address", "--key-file", keyFile, "--json")), &w); err != nil {
			t.Fatal(err)
		}
		if w.Address != addr || w.Network != "mainnet" || w.PublicKey != fmt.Sprintf("%x", k.PublicKey()) {
			t.Fatalf("wallet address --json: %+v", w)
		}
		if got := strings.TrimSpace(c.ok("--network", "testnet", "wallet", "address", "--key-file="+keyFile)); got != k.Address(stacks.Testnet).String() {
			t.Fatalf("testnet address %q", got)
		}
	})
	c.env["STXGATE_PRIVATE_KEY"] = testgateway.PrivA

	t.Run("SignMessage", func(t *testing.T) {
		c := c.in(t)
		sig := strings.TrimSpace(c.ok("sign", "message", "hello stxgate"))
		if _, err := stacks.VerifyMessage([]byte("hello stxgate"), sig, k.Address(stacks.Mainnet)); err != nil {
			t.Fatalf("signature %q: %v", sig, err)
		}
		r := c.run(`{"action":"list_api_keys","timestamp":1}`+"\n", "sign", "message", "-", "--json")
		var env struct{ Message, Signature, WalletAddress string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &env) != nil || env.Message != `{"action":"list_api_keys","timestamp":1}` || env.WalletAddress != addr {
			t.Fatalf("sign message - --json: %+v", r)
		}
		if _, err := stacks.VerifyMessage([]byte(env.Message), env.Signature, k.Address(stacks.Mainnet)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SignOrderThenSubmitWithCurl", func(t *testing.T) {
		c := c.in(t)
		var body map[string]string
		if err := json.Unmarshal([]byte(c.ok(append([]string{"sign", "order", "--uuid", "cli-signed"}, orderFlags...)...)), &body); err != nil {
			t.Fatal(err)
		}
		from, _ := time.Parse(time.RFC3339, body["validFrom"])
		to, _ := time.Parse(time.RFC3339, body["validTo"])
		o := ordersig.Order{Owner: body["owner"], InputToken: body["inputToken"], OutputToken: body["outputToken"], AmountIn: body["amountIn"],
			TargetPrice: body["targetPrice"], Direction: body["direction"], ConditionToken: body["conditionToken"], Recipient: body["recipient"],
			UUID: body["uuid"], ValidFrom: from.Unix(), ValidTo: to.Unix()}
		if err := ordersig.Verify(o, stacks.NewDomain("stxgate", "1", stacks.Mainnet), body["signature"]); err != nil {
			t.Fatalf("sign order body does not verify: %v\n%v", err, body)
		}
		if to.Sub(from) != 24*time.Hour || body["recipient"] != addr {
			t.Fatalf("defaults: %v", body)
		}
	})
	t.Run("SignOrderValidFrom", func(t *testing.T) {
		c := c.in(t)
		var body map[string]string
		out := c.ok(append([]string{"sign", "order", "--uuid", "cli-later", "--valid-from", "2030-01-02T03:04:05Z", "--valid-for", "90m"}, orderFlags...)...)
		if err := json.Unmarshal([]byte(out), &body); err != nil {
			t.Fatal(err)
		}
		if body["validFrom"] != "2030-01-02T03:04:05Z" || body["validTo"] != "2030-01-02T04:34:05Z" {
			t.Fatalf("window %q .. %q, want 2030-01-02T03:04:05Z .. 2030-01-02T04:34:05Z", body["validFrom"], body["validTo"])
		}
	})
	t.Run("KeysGetUpdateAndWalletSignedOrders", func(t *testing.T) {
		c := c.in(t)
		out := c.ok("keys", "create", "--name", "ops", "--permissions", "execute", "--ip", "127.0.0.1/32,10.0.0.0/8")
		id := field(t, out, "key id")
		if get := c.ok("keys", "get", id); !strings.Contains(get, "ops") || !strings.Contains(get, "execute") {
			t.Fatalf("keys get:\n%s", get)
		}
		var k struct {
			Name        string
			Permissions []string
			IPAllowlist []string
		}
		if err := json.Unmarshal([]byte(c.ok("keys", "update", id, "--name", "ops 2", "--permissions", "execute,cancel", "--ip", "", "--json")), &k); err != nil {
			t.Fatal(err)
		}
		if k.Name != "ops 2" || strings.Join(k.Permissions, ",") != "execute,cancel" || len(k.IPAllowlist) != 0 {
			t.Fatalf("keys update: %+v", k)
		}
		// No API key: orders are signed by the wallet alone, and so are execute and cancel.
		c.ok(append([]string{"orders", "create", "--uuid", "cli-cancel", "--valid-for", "2h"}, orderFlags...)...)
		cancelled := c.ok("orders", "cancel", "cli-cancel")
		if !strings.Contains(cancelled, "cli-cancel") || !strings.Contains(cancelled, "cancelled") {
			t.Fatalf("orders cancel:\n%s", cancelled)
		}
		var page struct {
			Orders     []struct{ UUID, Status string }
			NextCursor string
		}
		if err := json.Unmarshal([]byte(c.ok("orders", "list", "--owner", addr, "--limit", "1", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Orders) != 1 || page.Orders[0].UUID != "cli-cancel" || page.NextCursor == "" {
			t.Fatalf("orders list --json: %+v", page)
		}
		if table := c.ok("orders", "list", "--status", "cancelled"); !strings.Contains(table, "cli-cancel") {
			t.Fatalf("orders list:\n%s", table)
		}
	})
	t.Run("GatewayRefusal", func(t *testing.T) {
		c := c.in(t)
		r := c.fails(exitAPI, "keys", "create", "--name", "x", "--permissions", "fly")
		if !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 400 Unknown permission \"fly\" (allowed: create, execute, cancel, read)\n  field: permissions\n") {
			t.Fatalf("stderr %q", r.stderr)
		}
		r = c.fails(exitAPI, "orders", "get", "nope")
		if !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 404 Order not found\n") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
}

// TestUsageErrorsAndExitCodes needs no gateway except for the unreachable case.
func TestUsageErrorsAndExitCodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	const secret = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"

	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string // substring of stderr
		stdout string // substring of stdout
	}{
		{name: "NoCommand", code: exitUsage, stderr: "Exit codes:"},
		{name: "Help", args: []string{"help"}, code: exitOK, stdout: "3    the gateway could not be reached"},
		{name: "UnknownCommand", args: []string{"launch"}, code: exitUsage, stderr: `unknown command "launch"`},
		{name: "PrivateKeyFlagRefused", args: []string{"--private-key=" + secret, "wallet", "address"}, code: exitUsage,
			stderr: "--private-key: the private key is never read from a flag; set STXGATE_PRIVATE_KEY or pass --key-file"},
		{name: "PrivateKeyFlagAfterCommand", args: []string{"keys", "list", "--private-key", secret}, code: exitUsage, stderr: "never read from a flag"},
		{name: "NoPrivateKey", args: []string{"wallet", "address"}, code: exitUsage, stderr: "no private key: set STXGATE_PRIVATE_KEY or pass --key-file"},
		{name: "MalformedPrivateKey", env: map[string]string{"STXGATE_PRIVATE_KEY": secret[:64] + "zz"}, args: []string{"wallet", "address"}, code: exitUsage,
			stderr: "private key from STXGATE_PRIVATE_KEY"},
		{name: "MissingKeyFile", args: []string{"wallet", "address", "--key-file", "/nonexistent/key"}, code: exitUsage, stderr: "--key-file"},
		{name: "BadNetwork", args: []string{"--network", "moon", "wallet", "new"}, code: exitUsage, stderr: "--network"},
		{name: "KeysGetWithoutID", env: map[string]string{"STXGATE_PRIVATE_KEY": secret}, args: []string{"keys", "get"}, code: exitUsage, stderr: "want a key id"},
		{name: "FlagNotForThisCommand", env: map[string]string{"STXGATE_PRIVATE_KEY": secret}, args: []string{"keys", "list", "--name", "x"}, code: exitUsage, stderr: "--name does not apply"},
		{name: "KeysSelfWithoutAPIKey", args: []string{"keys", "self"}, code: exitUsage, stderr: "set STXGATE_API_KEY"},
		{name: "OrderFlagsMissing", env: map[string]string{"STXGATE_PRIVATE_KEY": secret}, args: []string{"orders", "create", "--amount-in", "1"}, code: exitUsage,
			stderr: "orders create: missing --condition-token, --direction, --input-token, --output-token, --target-price"},
		{name: "OrderBadToken", env: map[string]string{"STXGATE_PRIVATE_KEY": secret},
			args: []string{"sign", "order", "--input-token", "nope", "--output-token", "nope", "--amount-in", "1", "--target-price", "1", "--direction", "gt", "--condition-token", "nope"},
			code: exitUsage, stderr: "input-token"},
		{name: "OrderBadValidFrom", env: map[string]string{"STXGATE_PRIVATE_KEY": secret},
			args: append([]string{"sign", "order", "--valid-from", "tomorrow"}, orderFlags...), code: exitUsage,
			stderr: "sign order: --valid-from: want an RFC 3339 time such as 2026-12-01T12:00:00Z"},
		{name: "Unreachable", env: map[string]string{"STXGATE_URL": deadURL}, args: []string{"orders", "get", "x"}, code: exitUnreachable,
			stderr: "gateway unreachable"},
		{name: "UnreachableFlagWins", env: map[string]string{"STXGATE_URL": "http://example.invalid"}, args: []string{"orders", "list", "--url", deadURL}, code: exitUnreachable,
			stderr: "Is the gateway running at " + deadURL + "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{t: t, env: tc.env}
			r := c.fails(tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stdout, tc.stdout) {
				t.Fatalf("stdout %q\nstderr %q\nwant stderr containing %q, stdout containing %q", r.stdout, r.stderr, tc.stderr, tc.stdout)
			}
			if strings.Contains(r.stderr+r.stdout, secret) {
				t.Fatal("the private key was printed")
			}
		})
	}
}

// TestValidForTakesDays: --valid-for takes days besides Go durations, and the
// signed order carries exactly that lifetime.
func TestValidForTakesDays(t *testing.T) {
	c := &cli{t: t, env: map[string]string{"STXGATE_PRIVATE_KEY": testgateway.PrivA}}
	for _, tc := range []struct {
		arg  string
		want time.Duration
	}{
		{"1d", 24 * time.Hour}, {"2d12h", 60 * time.Hour}, {"36h", 36 * time.Hour}, {"90m", 90 * time.Minute}, {"7d", 7 * 24 * time.Hour},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			var body map[string]string
			if err := json.Unmarshal([]byte(c.in(t).ok(append([]string{"sign", "order", "--valid-for", tc.arg}, orderFlags...)...)), &body); err != nil {
				t.Fatal(err)
			}
			from, _ := time.Parse(time.RFC3339, body["validFrom"])
			to, _ := time.Parse(time.RFC3339, body["validTo"])
			if got := to.Sub(from); got != tc.want {
				t.Fatalf("--valid-for %s: validTo - validFrom = %s, want %s", tc.arg, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"1x", "d", "-1d", "1.5d", "1d-2h", "01d", "0d"} {
		t.Run("Bad_"+bad, func(t *testing.T) {
			r := c.in(t).fails(exitUsage, append([]string{"sign", "order", "--valid-for", bad}, orderFlags...)...)
			want := "stxgatectl: sign order: invalid value \"" + bad + "\" for flag -valid-for: \"" + bad + "\": want a duration such as 1d, 36h or 1d12h\n"
			if bad == "0d" {
				want = "stxgatectl: sign order: --valid-for must be positive\n"
			}
			if !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
				t.Fatalf("stderr %q, want %q", r.stderr, want)
			}
		})
	}
}

// TestSignedCommandsBindToTheGateway: against a testnet gateway with a
// message domain, key management works without --network (the CLI takes the
// network and domain from /api/v1/info), and a --network that differs is
// refused before anything is signed (issue 13 items 1 and 2).
func TestSignedCommandsBindToTheGateway(t *testing.T) {
	g := testgateway.Start(t, func(c *config.Config) { c.Network, c.Domain = stacks.Testnet, "cli.example" })
	k := testgateway.Key(t, testgateway.PrivA)
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_PRIVATE_KEY": testgateway.PrivA}}
	r := c.run("", "keys", "create", "--name", "testnet bot", "--permissions", "execute")
	if r.code != 0 || !strings.HasPrefix(field(t, r.stdout, "api key"), "ck_test_") {
		t.Fatalf("keys create on testnet: %+v", r)
	}
	if out := c.ok("--json", "keys", "list"); !strings.Contains(out, k.Address(stacks.Testnet).String()) {
		t.Fatalf("keys list: %s", out)
	}
	r = c.fails(exitUsage, "--network", "mainnet", "keys", "list")
	if !strings.Contains(r.stderr, "the gateway at "+g.URL+" runs on testnet, this client is for mainnet (WithNetwork)") {
		t.Fatalf("mainnet CLI on a testnet gateway: %+v", r)
	}
}

// TestKeysRotateAndReadKey: keys rotate prints the new key once and keeps
// the old one for --grace; a read key lists its wallet's keys without the
// wallet's private key.
func TestKeysRotateAndReadKey(t *testing.T) {
	g := testgateway.Start(t)
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_PRIVATE_KEY": testgateway.PrivA}}
	created := c.ok("keys", "create", "--name", "bot", "--permissions", "execute")
	oldKey, oldID := field(t, created, "api key"), field(t, created, "key id")

	r := c.run("", "keys", "rotate", oldID, "--grace", "1h")
	if r.code != 0 || r.stderr != "The API key is shown only once: store it now (e.g. export STXGATE_API_KEY=...).\n"+
		"Rotated: the old key "+oldID+" keeps working for 1h0m0s.\n" {
		t.Fatalf("keys rotate: %+v", r)
	}
	newKey, newID := field(t, r.stdout, "api key"), field(t, r.stdout, "key id")
	if newKey == oldKey || newID == oldID || field(t, r.stdout, "name") != "bot" || field(t, r.stdout, "permissions") != "execute" {
		t.Fatalf("keys rotate printed:\n%s", r.stdout)
	}
	for _, k := range []string{oldKey, newKey} {
		self := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_API_KEY": k}}
		self.ok("keys", "self")
	}
	r = c.fails(exitAPI, "keys", "rotate", oldID)
	if !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 409 API key already rotated\n  rotatedTo: "+newID+"\n") {
		t.Fatalf("second rotation: %s", r.stderr)
	}
	r = c.run("", "keys", "rotate", newID, "--export")
	m := regexp.MustCompile(`\Aexport STXGATE_API_KEY=(ck_live_[0-9A-Za-z]+)\n# key id: (\S+)\n\z`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || !strings.HasSuffix(r.stderr, "; the old key "+newID+" is revoked. The new key is in the export line and shown only once.\n") {
		t.Fatalf("keys rotate --export: %+v", r)
	}
	gone := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_API_KEY": newKey}}
	if r := gone.fails(exitAPI, "keys", "self"); !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 401 API key inactive\n") {
		t.Fatalf("key rotated without grace: %s", r.stderr)
	}
	for _, bad := range [][]string{{"--grace", "25h"}, {"--grace", "1500ms"}, {"--grace", "soon"}, {"--name", "x"}} {
		c.fails(exitUsage, append([]string{"keys", "rotate", m[2]}, bad...)...)
	}
	c.fails(exitUsage, "keys", "rotate")

	// A read key: keys list with only STXGATE_API_KEY.
	reader := field(t, c.ok("keys", "create", "--name", "monitor", "--permissions", "read"), "api key")
	monitor := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_API_KEY": reader}}
	var keys []struct{ KeyID, Name, RotatedFrom, RotatedTo string }
	if err := json.Unmarshal([]byte(monitor.ok("keys", "list", "--json")), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 || keys[0].KeyID != oldID || keys[0].RotatedTo != newID || keys[1].RotatedFrom != oldID || keys[3].Name != "monitor" {
		t.Fatalf("keys listed with the read key: %+v", keys)
	}
	notReader := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_API_KEY": m[1]}}
	if r := notReader.fails(exitAPI, "keys", "list"); !strings.HasPrefix(r.stderr, "stxgatectl: gateway refused: 403 API key does not have the read permission\n") {
		t.Fatalf("keys list with an execute key: %s", r.stderr)
	}
	if r := monitor.fails(exitUsage, "keys", "get", oldID); !strings.Contains(r.stderr, "no private key") {
		t.Fatalf("keys get with only a read key: %s", r.stderr)
	}
}
