package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Network != stacks.Mainnet || c.RateLimitMinute != 100 || c.RateLimitHour != 1000 ||
		c.RateLimitDay != 10000 || c.SignatureWindow != 5*time.Minute || c.SignatureSkew != 30*time.Second ||
		c.MaxKeysPerWallet != 25 || c.DatabaseURL != "" || !c.Migrate || c.IPLimitMinute != 300 ||
		c.WalletLimitMinute != 60 || c.PublicLimitMinute != 600 || c.SIP018Name != "stxgate" || c.SIP018Version != "1" ||
		c.MetricsListen != "127.0.0.1:9464" || c.MetricsPublic {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvThenFlagsWin(t *testing.T) {
	c, err := Load([]string{"-listen", "127.0.0.1:9999"}, env(map[string]string{
		"STXGATE_LISTEN": "127.0.0.1:7777", "STXGATE_NETWORK": "testnet", "STXGATE_RATE_LIMIT_MINUTE": "5",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.Network != stacks.Testnet || c.RateLimitMinute != 5 {
		t.Fatalf("got %+v", c)
	}
}

func TestInvalidSettingsAreAllReported(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"STXGATE_NETWORK": "moonnet", "STXGATE_RATE_LIMIT_HOUR": "ten", "STXGATE_SIGNATURE_WINDOW": "forever",
	}), io.Discard)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"STXGATE_NETWORK", "STXGATE_RATE_LIMIT_HOUR", "STXGATE_SIGNATURE_WINDOW"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	_, err = Load(nil, env(map[string]string{"STXGATE_RATE_LIMIT_MINUTE": "2000", "STXGATE_FAIL_OPEN": "signed-write"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "minute <= hour <= day") || !strings.Contains(err.Error(), "signed-write cannot fail open") {
		t.Fatalf("got %v", err)
	}
}

func TestStringMasksPasswords(t *testing.T) {
	c, err := Load(nil, env(map[string]string{
		"DATABASE_URL": "postgres://u:s3cret@db:5432/x?sslmode=disable", "REDIS_URL": "redis://:hunter2@r:6379/0",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "s3cret") || strings.Contains(s, "hunter2") || !strings.Contains(s, "xxxxx") {
		t.Fatalf("config string leaks a password: %s", s)
	}
}

// Five bad values are reported by one start, each in plain words, with the
// consistency checks of the other settings still made.
func TestEveryProblemInOnePass(t *testing.T) {
	_, err := Load([]string{"-rate-limit-day", "lots"}, env(map[string]string{
		"STXGATE_MIGRATE":          "yes",
		"STXGATE_RATE_LIMIT_HOUR":  "ten",
		"STXGATE_SIGNATURE_WINDOW": "forever",
		"STXGATE_NETWORK":          "moonnet",
		"STXGATE_TRUSTED_PROXIES":  "10.0.0.0/8, 10.0.0.1",
		"STXGATE_LOG_LEVEL":        "loud",
		"STXGATE_BODY_LIMIT":       "12",
	}), io.Discard)
	want := `invalid configuration (8 problems):
  STXGATE_NETWORK="moonnet": want mainnet or testnet
  STXGATE_MIGRATE="yes": want true or false
  STXGATE_RATE_LIMIT_HOUR="ten": not a whole number
  -rate-limit-day="lots": not a whole number
  STXGATE_SIGNATURE_WINDOW="forever": not a duration: write a number with a unit, such as 500ms, 30s, 5m or 2h
  STXGATE_TRUSTED_PROXIES="10.0.0.0/8, 10.0.0.1": "10.0.0.1" is not a CIDR such as 10.0.0.0/8 or 203.0.113.7/32
  STXGATE_BODY_LIMIT must be at least 1024, got 12
  STXGATE_LOG_LEVEL must be debug, info, warn or error, got "loud"`
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestFlagMistakesInPlainWords(t *testing.T) {
	for args, want := range map[string]string{
		"-signature-windows 5m": "invalid configuration: unknown flag -signature-windows: did you mean -signature-window?",
		"-frobnicate":           "invalid configuration: unknown flag -frobnicate (stxgate -h lists the flags)",
		"-listen":               "invalid configuration: flag -listen needs a value",
		"serve":                 `invalid configuration: unexpected argument "serve" (stxgate -h lists the commands and flags)`,
	} {
		_, err := Load(strings.Fields(args), env(nil), io.Discard)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", args, err, want)
		}
	}
	if _, err := Load([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestUnknownVariablesNameTheNearest(t *testing.T) {
	got := UnknownVars([]string{
		"PATH=/usr/bin",
		"STXGATE_SIGNATURE_WINDOWS=5m",
		"STXGATE_LISTEN=127.0.0.1:8080",
		"STXGATE_RATELIMIT_MINUTE=5",
		"STXGATE_PRIVATE_KEY=whatever", // stxgatectl's, not a typo
		"STXGATE_FROBNICATE=1",
		"STXGATE_OPERATOR_TOKEN_FLIE=/run/secrets/token",
	})
	var lines []string
	for _, u := range got {
		lines = append(lines, u.String())
	}
	want := []string{
		"STXGATE_FROBNICATE is not a stxgate setting and is ignored (stxgate -h lists them)",
		"STXGATE_OPERATOR_TOKEN_FLIE is not a stxgate setting and is ignored: did you mean STXGATE_OPERATOR_TOKEN_FILE?",
		"STXGATE_RATELIMIT_MINUTE is not a stxgate setting and is ignored: did you mean STXGATE_RATE_LIMIT_MINUTE?",
		"STXGATE_SIGNATURE_WINDOWS is not a stxgate setting and is ignored: did you mean STXGATE_SIGNATURE_WINDOW?",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestBoolFlagStandsAlone(t *testing.T) {
	c, err := Load([]string{"-migrate"}, env(map[string]string{"STXGATE_MIGRATE": "false"}), io.Discard)
	if err != nil || !c.Migrate {
		t.Fatalf("-migrate: %v %v", err, c.Migrate)
	}
	c, err = Load([]string{"-migrate=false"}, env(nil), io.Discard)
	if err != nil || c.Migrate {
		t.Fatalf("-migrate=false: %v %v", err, c.Migrate)
	}
}

// STXGATE_DOMAIN is copied into signed messages: a value a client cannot
// reproduce unambiguously is refused at start.
func TestMessageDomain(t *testing.T) {
	for _, bad := range []string{"dex example", "dex.exa\tmple", "dëx.example", strings.Repeat("a", 254)} {
		_, err := Load(nil, env(map[string]string{"STXGATE_DOMAIN": bad}), io.Discard)
		want := fmt.Sprintf("invalid configuration: STXGATE_DOMAIN=%q: want at most 253 printable ASCII characters without spaces, such as dex.example.com", bad)
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", bad, err, want)
		}
	}
	c, err := Load(nil, env(map[string]string{"STXGATE_DOMAIN": "dex.example.com"}), io.Discard)
	if err != nil || c.Domain != "dex.example.com" {
		t.Fatalf("%+v %v", c.Domain, err)
	}
}
