package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// The constructors of Vars: each parses one kind of value and says in plain
// words what it wanted when the value is not one.

func text(env, flag, def, help string, field func(*Config) *string) Var {
	return Var{Env: env, Flag: flag, Type: "string", Default: def, Help: help,
		set: func(c *Config, v string) error { *field(c) = v; return nil }}
}

func urlVar(env, flag, def, help string, field func(*Config) *string) Var {
	v := text(env, flag, def, help, field)
	v.Type = "URL"
	return v
}

// secret is a setting read from the environment only (flags show in process
// lists and shell history) and never shown.
func secret(env, help string, field func(*Config) *string) Var {
	v := text(env, "", "", help, field)
	v.Secret = true
	return v
}

func number(env, flag, def, help string, field func(*Config) *int) Var {
	return parsed(env, flag, "int", def, help, field, strconv.Atoi, "not a whole number")
}

func duration(env, flag, def, help string, field func(*Config) *time.Duration) Var {
	return parsed(env, flag, "duration", def, help, field, time.ParseDuration,
		"not a duration: write a number with a unit, such as 500ms, 30s, 5m or 2h")
}

func boolean(env, flag, def, help string, field func(*Config) *bool) Var {
	return parsed(env, flag, "bool", def, help, field, parseBool, "want true or false")
}

// parsed is a Var of type typ that parse reads into field; a value parse
// refuses is the problem want (parse's own error may quote the value).
func parsed[T any](env, flag, typ, def, help string, field func(*Config) *T, parse func(string) (T, error), want string) Var {
	return Var{Env: env, Flag: flag, Type: typ, Default: def, Help: help,
		set: func(c *Config, v string) error {
			x, err := parse(v)
			if err != nil {
				return errors.New(want)
			}
			*field(c) = x
			return nil
		}}
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

func custom(env, flag, typ, def, help string, set func(*Config, string) error) Var {
	return Var{Env: env, Flag: flag, Type: typ, Default: def, Help: help, set: set}
}

func parseNetwork(n *stacks.Network, v string) error {
	parsed, err := stacks.ParseNetwork(v)
	if err != nil {
		return errors.New("want mainnet or testnet")
	}
	*n = parsed
	return nil
}

// parseMessageDomain accepts what a client can copy into a signed message
// unambiguously: printable ASCII without spaces, at most a DNS name's length.
func parseMessageDomain(d *string, v string) error {
	if len(v) > 253 || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return errors.New("want at most 253 printable ASCII characters without spaces, such as dex.example.com")
	}
	*d = v
	return nil
}

func parseInt64(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New("not a whole number")
	}
	return n, nil
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
	for _, s := range splitList(v) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or 203.0.113.7/32", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
