package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A stacks gateway's queue wait must leave time in STXGATE_WRITE_TIMEOUT for
// the broadcast and the answer: an execute that waited longer would be cut off
// by the server, its order executing with no answer.
func TestStacksQueueWait(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "executor.key")
	if err := os.WriteFile(keyFile, []byte("edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stacksEnv := func(extra map[string]string) func(string) string {
		m := map[string]string{
			"STXGATE_NETWORK": "testnet", "STXGATE_SETTLEMENT": "stacks", "STXGATE_EXECUTOR_KEY_FILE": keyFile,
			"STXGATE_STACKS_NODE_URL":     "http://127.0.0.1:3999",
			"STXGATE_SETTLEMENT_CONTRACT": "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.stxgate-settlement",
			"DATABASE_URL":                "postgres://postgres@127.0.0.1:5432/x",
		}
		for k, v := range extra {
			m[k] = v
		}
		return env(m)
	}
	c, err := Load(nil, stacksEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.StacksQueueWait != 5*time.Second {
		t.Fatalf("default queue wait %s, want 5s", c.StacksQueueWait)
	}
	if c, err := Load(nil, stacksEnv(map[string]string{"STXGATE_STACKS_QUEUE_WAIT": "25s"}), io.Discard); err != nil || c.StacksQueueWait != 25*time.Second {
		t.Fatalf("25s of the default 30s write timeout: %v, %v", c.StacksQueueWait, err)
	}
	_, err = Load(nil, stacksEnv(map[string]string{"STXGATE_STACKS_QUEUE_WAIT": "26s"}), io.Discard)
	want := "STXGATE_STACKS_QUEUE_WAIT must be at least 0 and leave 5s of STXGATE_WRITE_TIMEOUT (30s) for the broadcast and the answer, got 26s"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("26s: %v, want an error saying %q", err, want)
	}
}

// STXGATE_EXECUTOR_KEY_FILE holds one key, or one per line for a pool of
// executor accounts (blank lines and # comments skipped); a bad line is
// named by its number, never shown, and a repeated key is refused.
func TestExecutorKeyFilePool(t *testing.T) {
	const (
		k1 = "edf9aee84d9b7abc145504dde6726c64f369d37ee34ded868fabd876c26570bc01"
		k2 = "61d243e78485cb755d35ab9591ea27c87ec44f62889d686c167e0d56b89ff2ff01"
	)
	load := func(content string, extra ...string) (Config, error) {
		keyFile := filepath.Join(t.TempDir(), "executor.key")
		if err := os.WriteFile(keyFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{
			"STXGATE_NETWORK": "testnet", "STXGATE_SETTLEMENT": "stacks", "STXGATE_EXECUTOR_KEY_FILE": keyFile,
			"STXGATE_STACKS_NODE_URL":     "http://127.0.0.1:3999",
			"STXGATE_SETTLEMENT_CONTRACT": "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.stxgate-settlement",
			"DATABASE_URL":                "postgres://postgres@127.0.0.1:5432/x",
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return Load(nil, env(m), io.Discard)
	}
	c, err := load("# executor pool\n" + k1 + "\n\n  " + k2 + "  \n")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ExecutorKeys) != 2 || c.ExecutorKeys[0] != k1 || c.ExecutorKeys[1] != k2 || c.StacksChainLimit != 25 {
		t.Fatalf("keys %d, chain limit %d; want the 2 keys in order and 25", len(c.ExecutorKeys), c.StacksChainLimit)
	}
	for _, tc := range []struct{ content, want string }{
		{k1 + "\nnot-a-key-" + k2[:20] + "\n", "line 2 of"},
		{k1 + "\n" + k1 + "\n", "line 2 of"},
		{"# only a comment\n\n", "is empty"},
	} {
		_, err := load(tc.content)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), k1[:16]) || strings.Contains(err.Error(), k2[:16]) {
			t.Errorf("%q: %v, want an error with %q that shows no key", tc.content, err, tc.want)
		}
	}
	if _, err := load(k1, "STXGATE_STACKS_CHAIN_LIMIT", "26"); err == nil || !strings.Contains(err.Error(), "STXGATE_STACKS_CHAIN_LIMIT must be in [1, 25]") {
		t.Errorf("chain limit 26: %v", err)
	}
}
