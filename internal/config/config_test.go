package config

import (
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
		c.WalletLimitMinute != 60 || c.PublicLimitMinute != 600 || c.SIP018Name != "stxgate" || c.SIP018Version != "1" {
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
