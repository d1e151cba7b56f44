package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// commandHelp is what "stxgatectl <command> -h" prints above the command's
// flags: its synopsis and what it does, by command name as its flag set
// is named ("keys create").
var commandHelp = map[string][2]string{
	"wallet new":      {"wallet new [--export]", "Make a private key; print it and its address (--export: an export line for eval \"$(...)\")."},
	"wallet address":  {"wallet address", "Print the address of the private key (STXGATE_PRIVATE_KEY or --key-file)."},
	"sign message":    {"sign message <text|->", "Sign text (or stdin with -) as stx_signMessage does and print the RSV hex signature."},
	"sign order":      {"sign order [order flags]", "Sign an order (SIP-018) and print the body of POST /api/v1/orders/new."},
	"keys create":     {"keys create --name N --permissions P [--ip CIDR,...] [--expires RFC3339] [--export]", "Create an API key, signed by the wallet. The key is printed once."},
	"keys list":       {"keys list", "List the wallet's API keys (with only STXGATE_API_KEY set: a read key's wallet's, unsigned)."},
	"keys get":        {"keys get <key id>", "Show one of the wallet's API keys."},
	"keys update":     {"keys update <key id> [--name N] [--permissions P] [--ip CIDR,...]", "Change a key's name, permissions or IP allowlist (--ip \"\" allows every address)."},
	"keys rotate":     {"keys rotate <key id> [--grace 1h] [--export]", "Replace a key by a new secret with the same settings, signed by the wallet; the old key works for --grace. The new key is printed once."},
	"keys revoke":     {"keys revoke <key id>", "Revoke a key for good, signed by the wallet."},
	"keys self":       {"keys self", "Show the key in STXGATE_API_KEY and its rate-limit windows."},
	"orders create":   {"orders create [order flags]", "Sign and submit an order (with STXGATE_API_KEY when set: dual-auth)."},
	"orders execute":  {"orders execute <uuid>", "Execute an order: with STXGATE_API_KEY if set, else signed by the wallet."},
	"orders cancel":   {"orders cancel <uuid>", "Cancel an order: with STXGATE_API_KEY if set, else signed by the wallet."},
	"orders get":      {"orders get <uuid>", "Show one order."},
	"orders list":     {"orders list [--owner A] [--status S] [--limit N] [--cursor C]", "List orders, newest first, a page at a time."},
	"orders watch":    {"orders watch [--owner A] [--after N]", "Print each order change as it happens (id, event, uuid, status, owner, txid; --json: one document per line) until interrupted; reconnects and resumes by itself."},
	"admin suspend":   {"admin suspend <key id> [--reason R]", "Suspend a key on every instance (needs STXGATE_OPERATOR_TOKEN)."},
	"admin unsuspend": {"admin unsuspend <key id> [--reason R]", "Lift a suspension (needs STXGATE_OPERATOR_TOKEN)."},
	"admin get":       {"admin get <key id>", "Show any wallet's key (needs STXGATE_OPERATOR_TOKEN)."},
	"admin audit":     {"admin audit <key id> [--limit N] [--cursor C]", "A key's audit trail, a page at a time (needs STXGATE_OPERATOR_TOKEN)."},
	"wait":            {"wait [--timeout 30s]", "Wait until the gateway answers GET /readyz."},
}

// groups are the command groups, in the order usageText lists them.
var groups = []string{"wallet", "sign", "keys", "orders", "admin"}

const globalFlagsHelp = "Global flags (anywhere on the line): --url URL, --network NET, --key-file PATH, --json (see stxgatectl -h).\n"

// helpRequest is a command's -h: run prints that command's help and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h helpRequest) Error() string { return h.fs.Name() + ": help requested" }

// isHelp says whether arg asks for help.
func isHelp(arg string) bool { return slices.Contains([]string{"-h", "-help", "--help", "help"}, arg) }

// printGroupHelp lists a group's commands ("stxgatectl keys -h").
func printGroupHelp(w io.Writer, group string) error {
	var names []string
	for name := range commandHelp {
		if strings.HasPrefix(name, group+" ") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return usagef("unknown command %q", group)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "Usage: stxgatectl %s <command> [flags] [args]\n\nCommands:\n", group)
	for _, name := range names {
		h := commandHelp[name]
		fmt.Fprintf(w, "  %s\n        %s\n", h[0], h[1])
	}
	fmt.Fprintf(w, "\nRun 'stxgatectl %s <command> -h' for a command's flags.\n%s", group, globalFlagsHelp)
	return nil
}

// printCommandHelp is a command's synopsis, what it does and its flags;
// shown limits the flags listed (nil: all of them).
func printCommandHelp(w io.Writer, fs *flag.FlagSet, shown []string) error {
	h, ok := commandHelp[fs.Name()]
	if !ok {
		group, _, _ := strings.Cut(fs.Name(), " ")
		if slices.Contains(groups, group) {
			return usagef("%s: unknown command (stxgatectl %s -h lists them)", fs.Name(), group)
		}
		return usagef("unknown command %q", fs.Name())
	}
	fmt.Fprintf(w, "Usage: stxgatectl %s\n\n%s\n", h[0], h[1])
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if shown != nil && !slices.Contains(shown, f.Name) {
			return
		}
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		typ, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(w, " %s", typ)
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "\n        %s\n", usage)
	})
	fmt.Fprint(w, "\n"+globalFlagsHelp)
	return nil
}

// keyFlags are the flags each keys command takes (keysCmd defines them all
// on one flag set); walletFlags and adminFlags likewise.
var (
	keyFlags = map[string][]string{"create": {"name", "permissions", "ip", "expires", "export"}, "update": {"name", "permissions", "ip"},
		"rotate": {"grace", "export"}}
	walletFlags = map[string][]string{"new": {"export"}}
	adminFlags  = map[string][]string{"suspend": {"reason"}, "unsuspend": {"reason"}, "audit": {"limit", "cursor"}}
)

// shownFlags are the flags a command's help lists; nil: all of its flag set's.
func shownFlags(name string) []string {
	group, sub, _ := strings.Cut(name, " ")
	switch group {
	case "keys":
		return append([]string{}, keyFlags[sub]...)
	case "wallet":
		return append([]string{}, walletFlags[sub]...)
	case "admin":
		return append([]string{}, adminFlags[sub]...)
	}
	return nil
}
