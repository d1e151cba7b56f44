// Command stxgatectl drives a stxgate gateway from a shell: make a wallet,
// sign messages and orders, manage API keys, create and execute orders.
//
// The private key is read from STXGATE_PRIVATE_KEY or --key-file, never from
// a flag (flags end up in shell history and process lists). The API key is
// read from STXGATE_API_KEY.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/client"
)

// Exit codes (documented in usageText and the README).
const (
	exitOK          = 0
	exitAPI         = 1   // the gateway answered with an error
	exitUsage       = 2   // bad command line or local input (flags, private key, order fields)
	exitUnreachable = 3   // the gateway could not be reached or did not answer
	exitInterrupted = 130 // interrupted (Ctrl-C)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// usageError marks mistakes of the caller (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usageText = `stxgatectl — command line for the stxgate order gateway

Usage:
  stxgatectl [global flags] <command> [flags] [args]

Wallet and signing (no gateway needed):
  wallet new [--export]           make a private key; print it and its address
                                  (--export: "export STXGATE_PRIVATE_KEY=..." for eval "$(...)")
  wallet address                  print the address of the private key
  sign message <text|->           sign text (or stdin) as stx_signMessage does (RSV hex)
  sign order [order flags]        sign an order (SIP-018) and print the POST /orders/new body

API keys (signed by the wallet; "keys self" uses STXGATE_API_KEY):
  keys create --name N --permissions create,execute,cancel,read [--ip CIDR,...] [--expires RFC3339] [--export]
                                  (--export: "export STXGATE_API_KEY=..." for eval "$(...)")
  keys list                       (with only STXGATE_API_KEY, a read key: its wallet's keys, unsigned)
  keys get <key id>
  keys update <key id> [--name N] [--permissions P] [--ip CIDR,...]   (--ip "" allows every address)
  keys rotate <key id> [--grace 1h] [--export]   a new secret, same settings; the old key works for --grace
  keys revoke <key id>
  keys self                       the key in STXGATE_API_KEY and its rate-limit windows

Orders:
  orders create [order flags]     sign and submit an order (dual-auth when STXGATE_API_KEY is set)
  orders execute <uuid>           with STXGATE_API_KEY if set, else signed by the wallet
  orders cancel <uuid>            with STXGATE_API_KEY if set, else signed by the wallet
  orders get <uuid>
  orders list [--owner A] [--status S] [--limit N] [--cursor C]

Gateway:
  wait [--timeout 30s]            wait until the gateway answers GET /readyz

Operator (needs STXGATE_OPERATOR_TOKEN):
  admin suspend|unsuspend <key id> [--reason R] | admin get <key id> | admin audit <key id> [--limit N] [--cursor C]

Order flags:
  --input-token T --output-token T --amount-in N --target-price P --direction gt|lt
  --condition-token T [--recipient A (default: owner)] [--uuid U (default: random)]
  [--owner A (default: the wallet)] [--valid-from RFC3339 (default: now)]
  [--valid-for DURATION (default 24h; also 1d, 2d12h, 90m)]

Global flags (anywhere on the line):
  --url URL        gateway: a URL or host:port (env STXGATE_URL; else STXGATE_LISTEN, the local
                   gateway's address; else http://127.0.0.1:8080)
  --network NET    mainnet or testnet (env STXGATE_NETWORK, default mainnet; signed
                   messages otherwise take the gateway's network from /api/v1/info)
  --key-file PATH  file holding the private key (else env STXGATE_PRIVATE_KEY)
  --json           print JSON instead of a table (one document on stdout, for jq)

Environment:
  STXGATE_PRIVATE_KEY   the wallet's private key (66 hex; never accepted as a flag)
  STXGATE_API_KEY       API key for keyed calls (keys self, orders create/execute/cancel; keys list with a read key)
  STXGATE_SIP018_NAME, STXGATE_SIP018_VERSION   SIP-018 domain of "sign order" (default stxgate, 1;
                   the other commands sign under the gateway's, from /api/v1/info)
  STXGATE_OPERATOR_TOKEN  the gateway's operator token, for the admin commands

Exit codes:
  0    success
  1    the gateway refused the request (its status and error are printed)
  2    usage or local error (bad flags, missing or malformed private key, bad order fields)
  3    the gateway could not be reached or did not answer (the request may or may not have taken effect)
  130  interrupted
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	g, rest, err := parseGlobal(args, getenv)
	if err == nil && len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if err == nil {
		g.in, g.out, g.errOut = stdin, stdout, stderr
		err = dispatch(ctx, g, rest)
	}
	var apiErr *client.APIError
	var ue usageError
	var help helpRequest
	if errors.As(err, &help) {
		err = printCommandHelp(stdout, help.fs, shownFlags(help.fs.Name()))
	}
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &apiErr):
		printAPIError(stderr, apiErr)
		return exitAPI
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "stxgatectl: %s\nRun 'stxgatectl help' for usage.\n", ue.msg)
		return exitUsage
	case errors.Is(err, client.ErrUnreachable):
		fmt.Fprintf(stderr, "stxgatectl: %v\n  Is the gateway running at %s? Set --url or STXGATE_URL.\n", err, g.shown)
		return exitUnreachable
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "stxgatectl: interrupted")
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "stxgatectl: %v\n", err)
		return exitUsage
	}
}

func dispatch(ctx context.Context, g *globals, args []string) error {
	cmd, sub := args[0], ""
	if len(args) > 1 {
		sub = args[1]
	}
	rest := args[min(2, len(args)):]
	switch {
	case isHelp(cmd) && sub == "":
		fmt.Fprint(g.out, usageText)
		return nil
	case isHelp(cmd): // help keys [create]: as keys [create] -h
		return dispatch(ctx, g, slices.Concat(args[1:], []string{"-h"}))
	case slices.Contains(groups, cmd) && isHelp(sub):
		return printGroupHelp(g.out, cmd)
	}
	switch cmd {
	case "wallet":
		return walletCmd(g, sub, rest)
	case "sign":
		return signCmd(ctx, g, sub, rest)
	case "keys":
		return keysCmd(ctx, g, sub, rest)
	case "orders":
		return ordersCmd(ctx, g, sub, rest)
	case "admin":
		return adminCmd(ctx, g, sub, rest)
	case "wait":
		return waitCmd(ctx, g, args[1:])
	}
	return usagef("unknown command %q", cmd)
}

// printAPIError writes the gateway's refusal: status, error, details, and
// what a script needs to react (when to retry, the request id to report).
func printAPIError(w io.Writer, e *client.APIError) {
	fmt.Fprintf(w, "stxgatectl: gateway refused: %d %s\n", e.Status, e.Message)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %v\n", k, e.Details[k])
	}
	if rl := e.RateLimit; e.Status == 429 {
		switch {
		case rl.RetryIn > 0:
			fmt.Fprintf(w, "  retry after: %s\n", rl.RetryIn)
		case !rl.Reset.IsZero():
			fmt.Fprintf(w, "  retry after: %s\n", rl.Reset.UTC().Format(time.RFC3339))
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(w, "  request id: %s\n", e.RequestID)
	}
}

// forbiddenFlags are ways people try to pass a private key on the command line.
var forbiddenFlags = []string{"private-key", "privateKey", "private_key", "priv", "secret-key"}

func isForbiddenFlag(arg string) bool {
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	for _, f := range forbiddenFlags {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}
