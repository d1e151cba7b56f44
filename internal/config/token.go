package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// The operator token rule (README, docs/operations.md): at least
// minTokenLength printable ASCII characters without spaces, not one shorter
// string repeated, and at least minTokenBits of entropy estimated as its
// length times the Shannon entropy of its own character frequencies.
// `openssl rand -hex 32` (64 characters, about 3.8 bits each) always passes;
// "aaaa…", "abab…" and "0123456789abcdef0123456789abcdef" never do.
const (
	minTokenLength = 32
	minTokenBits   = 96
)

// CheckOperatorToken says why tok is too weak to guard the operator API;
// the error never repeats it.
func CheckOperatorToken(tok string) error {
	if len(tok) < minTokenLength {
		return fmt.Errorf("too short: %d characters, want at least %d (e.g. openssl rand -hex 32)", len(tok), minTokenLength)
	}
	for _, r := range tok {
		if r <= ' ' || r > '~' {
			return errors.New("only printable ASCII without spaces (e.g. openssl rand -hex 32)")
		}
	}
	if p := period(tok); p < len(tok) {
		return fmt.Errorf("low entropy: one %d-character string repeated (e.g. openssl rand -hex 32)", p)
	}
	if bits := entropyBits(tok); bits < minTokenBits {
		return fmt.Errorf("low entropy: about %.0f bits, want at least %d (e.g. openssl rand -hex 32)", bits, minTokenBits)
	}
	return nil
}

// period is the length of the shortest string s is a repetition of (a
// partial last copy included): len(s) when s repeats nothing.
func period(s string) int {
	for p := 1; p <= len(s)/2; p++ {
		if s[p:] == s[:len(s)-p] {
			return p
		}
	}
	return len(s)
}

// entropyBits estimates the entropy of s from its own character frequencies.
func entropyBits(s string) float64 {
	var counts [128]int
	for i := 0; i < len(s); i++ {
		counts[s[i]&0x7f]++
	}
	n := float64(len(s))
	var perChar float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			perChar -= p * math.Log2(p)
		}
	}
	return perChar * n
}

// readOperatorTokenFile loads STXGATE_OPERATOR_TOKEN_FILE into OperatorToken;
// fromEnv says STXGATE_OPERATOR_TOKEN is set too, which is refused.
func (c *Config) readOperatorTokenFile(fromEnv bool) error {
	if c.OperatorTokenFile == "" {
		return nil
	}
	if fromEnv {
		return errors.New("STXGATE_OPERATOR_TOKEN and STXGATE_OPERATOR_TOKEN_FILE are both set: set one")
	}
	b, err := os.ReadFile(c.OperatorTokenFile)
	if err != nil {
		return fmt.Errorf("STXGATE_OPERATOR_TOKEN_FILE: cannot read %s: %v", c.OperatorTokenFile, errors.Unwrap(err))
	}
	c.OperatorToken = strings.TrimSpace(string(b))
	if c.OperatorToken == "" {
		return fmt.Errorf("STXGATE_OPERATOR_TOKEN_FILE: %s is empty", c.OperatorTokenFile)
	}
	return nil
}

// refuseSecretFlags refuses a secret passed as a flag (it would show in
// process lists and shell history) without repeating its value.
func refuseSecretFlags(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		for _, v := range Vars {
			if v.Secret && name == flagName(v.Env) {
				from := v.Env
				if known(v.Env + "_FILE") {
					from += " or " + v.Env + "_FILE"
				}
				return fmt.Errorf("-%s: this secret is read from %s, never from a flag (flags show in process lists and shell history)", name, from)
			}
		}
	}
	return nil
}

// flagName is the flag a variable would have: STXGATE_OPERATOR_TOKEN → operator-token.
func flagName(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "STXGATE_"), "_", "-"))
}
