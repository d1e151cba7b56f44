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
