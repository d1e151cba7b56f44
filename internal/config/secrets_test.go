package config

import (
	"io"
	"strings"
	"testing"
)

const testOperatorToken = "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789"

// A weak or malformed operator token stops the gateway at start, and the
// error does not repeat it.
func TestOperatorTokenValidated(t *testing.T) {
	for _, tok := range []string{"short", strings.Repeat("a", 31), strings.Repeat("a", 20) + " " + strings.Repeat("b", 20)} {
		_, err := Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN": tok}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "STXGATE_OPERATOR_TOKEN must be at least 32 characters") {
			t.Fatalf("token %q: %v", tok, err)
		}
		if strings.Contains(err.Error(), tok) {
			t.Fatalf("the error repeats the token: %v", err)
		}
	}
	c, err := Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN": testOperatorToken}), io.Discard)
	if err != nil || c.OperatorToken != testOperatorToken {
		t.Fatalf("valid token: %v, got %q", err, c.OperatorToken)
	}
	if c, _ := Load(nil, env(nil), io.Discard); c.OperatorToken != "" {
		t.Fatal("the operator API must be off by default")
	}
}

// Secret settings come from the environment but are never printed as flag
// defaults by -h; a flag still wins over its variable.
func TestSecretsNotShownByHelp(t *testing.T) {
	vars := map[string]string{
		"STXGATE_OPERATOR_TOKEN": testOperatorToken,
		"DATABASE_URL":           "postgres://gw:hunter2hunter2@db:5432/gw",
		"REDIS_URL":              "redis://:s3cr3tpass@redis:6379/0",
	}
	var help strings.Builder
	_, err := Load([]string{"-h"}, env(vars), &help)
	if err == nil {
		t.Fatal("-h should stop loading")
	}
	for _, secret := range []string{testOperatorToken, "hunter2hunter2", "s3cr3tpass"} {
		if strings.Contains(help.String(), secret) {
			t.Fatalf("-h shows a secret:\n%s", help.String())
		}
	}
	if !strings.Contains(help.String(), "-operator-token") {
		t.Fatalf("-h does not list the flag:\n%s", help.String())
	}
	c, err := Load(nil, env(vars), io.Discard)
	if err != nil || c.OperatorToken != testOperatorToken || c.DatabaseURL != vars["DATABASE_URL"] || c.RedisURL != vars["REDIS_URL"] {
		t.Fatalf("from env: %v %+v", err, c)
	}
	other := strings.Repeat("z", 40)
	c, err = Load([]string{"-operator-token", other}, env(vars), io.Discard)
	if err != nil || c.OperatorToken != other {
		t.Fatalf("flag over env: %v %q", err, c.OperatorToken)
	}
}
