package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const adminTestToken = "op_cli_0123456789abcdef0123456789abcdef"

// runAdmin runs stxgatectl with env and returns exit code, stdout, stderr.
func runAdmin(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAdminSuspendUnsuspendGetAudit(t *testing.T) {
	gw := testgateway.Start(t, func(c *config.Config) { c.OperatorToken = adminTestToken })
	k := testgateway.Key(t, testgateway.PrivA)
	key, _, err := gw.App.Keys.Create(context.Background(), apikey.CreateInput{
		Wallet: k.Address(stacks.Mainnet).String(), Name: "bot", Permissions: []string{"execute"}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STXGATE_URL": gw.URL, "STXGATE_OPERATOR_TOKEN": adminTestToken}
	asKey := func(stdout string) client.Key {
		t.Helper()
		var got client.Key
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("not a key: %v\n%s", err, stdout)
		}
		return got
	}

	code, out, errOut := runAdmin(t, env, "admin", "suspend", key.ID, "--reason", "leaked", "--json")
	if code != exitOK || asKey(out).Status != "suspended" {
		t.Fatalf("suspend: %d %s %s", code, out, errOut)
	}
	code, out, _ = runAdmin(t, env, "admin", "get", "--json", key.ID)
	if code != exitOK || asKey(out).Status != "suspended" {
		t.Fatalf("get: %d %s", code, out)
	}
	code, out, _ = runAdmin(t, env, "admin", "get", key.ID)
	if code != exitOK || !strings.Contains(out, key.ID) || !strings.Contains(out, "suspended") {
		t.Fatalf("get as table: %d %s", code, out)
	}
	code, out, errOut = runAdmin(t, env, "--json", "admin", "audit", key.ID)
	var page client.AuditPage
	if code != exitOK || json.Unmarshal([]byte(out), &page) != nil || len(page.Events) != 2 {
		t.Fatalf("audit: %d %s %s", code, out, errOut)
	}
	if e := page.Events[0]; e.Event != "key.suspended" || e.Actor != "operator" || e.Details["reason"] != "leaked" || e.ClientIP != "127.0.0.1" {
		t.Fatalf("newest event %+v", e)
	}
	code, out, _ = runAdmin(t, env, "admin", "unsuspend", key.ID, "--json")
	if code != exitOK || asKey(out).Status != "active" {
		t.Fatalf("unsuspend: %d %s", code, out)
	}

	t.Run("NoToken2", func(t *testing.T) {
		code, _, errOut := runAdmin(t, map[string]string{"STXGATE_URL": gw.URL}, "admin", "suspend", key.ID)
		if code != exitUsage || !strings.Contains(errOut, "STXGATE_OPERATOR_TOKEN") {
			t.Fatalf("%d %s", code, errOut)
		}
	})
	t.Run("WrongToken1", func(t *testing.T) {
		wrong := strings.Repeat("w", 40)
		code, out, errOut := runAdmin(t, map[string]string{"STXGATE_URL": gw.URL, "STXGATE_OPERATOR_TOKEN": wrong}, "admin", "suspend", key.ID)
		if code != exitAPI || !strings.Contains(errOut, "401 Invalid operator token") || strings.Contains(out+errOut, wrong) {
			t.Fatalf("%d %s %s", code, out, errOut)
		}
	})
	t.Run("UnknownKey1", func(t *testing.T) {
		code, _, errOut := runAdmin(t, env, "admin", "unsuspend", "nope")
		if code != exitAPI || !strings.Contains(errOut, "404 API key not found") {
			t.Fatalf("%d %s", code, errOut)
		}
	})
	t.Run("Usage2", func(t *testing.T) {
		for _, args := range [][]string{{"admin", "delete", key.ID}, {"admin", "suspend"}, {"admin", "suspend", "a", "b"}} {
			if code, _, errOut := runAdmin(t, env, args...); code != exitUsage {
				t.Fatalf("%v: %d %s", args, code, errOut)
			}
		}
	})
}
