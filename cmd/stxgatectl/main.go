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

	"github.com/stxgate/stxgate/pkg/client"
)

// Exit codes.
const (
	exitOK    = 0
	exitAPI   = 1 // the gateway answered with an error
	exitUsage = 2 // bad command line or local input
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// usageError marks mistakes of the caller (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usageText = `stxgatectl — command line for the stxgate order gateway

Usage:
  stxgatectl [global flags] <command> [flags]

Commands:
  wallet new                      make a private key; print it and its address
  wallet address                  print the address of STXGATE_PRIVATE_KEY
  sign message <text>             sign text as stx_signMessage does (RSV hex)
  sign order [order flags]        sign an order (SIP-018) and print the create body
  keys create --name N --permissions create,execute,cancel [--ip CIDR,...] [--expires RFC3339]
  keys list | keys get <id> | keys update <id> [--name N] [--permissions P] [--ip CIDR,...] | keys revoke <id>
  keys self                       show the key in STXGATE_API_KEY and its rate-limit state
  orders create [order flags]     sign and submit an order (dual-auth when STXGATE_API_KEY is set)
  orders execute <uuid> | orders cancel <uuid>   (API key if set, else a wallet signature)
  orders get <uuid> | orders list [--owner A] [--status S] [--limit N] [--cursor C]

Global flags:
  --url URL        gateway (env STXGATE_URL, default http://127.0.0.1:8080)
  --network NET    mainnet or testnet (env STXGATE_NETWORK, default mainnet)
  --key-file PATH  file holding the private key (else env STXGATE_PRIVATE_KEY)
  --json           print JSON instead of a table

Exit codes: 0 ok, 1 the gateway refused (the error is printed), 2 usage or local error.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	g, rest, err := parseGlobal(args, getenv)
	if err == nil && len(rest) == 0 {
		err = usagef("no command given")
	}
	if err == nil {
		g.out, g.errOut = stdout, stderr
		err = dispatch(ctx, g, rest)
	}
	var apiErr *client.APIError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &apiErr):
		printAPIError(stderr, apiErr)
		return exitAPI
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "stxgatectl: %s\n\n%s", ue.msg, usageText)
		return exitUsage
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
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(g.out, usageText)
		return nil
	case "wallet":
		return walletCmd(g, sub)
	case "sign":
		return signCmd(ctx, g, sub, args[min(2, len(args)):])
	case "keys":
		return keysCmd(ctx, g, sub, args[min(2, len(args)):])
	case "orders":
		return ordersCmd(ctx, g, sub, args[min(2, len(args)):])
	}
	return usagef("unknown command %q", cmd)
}
