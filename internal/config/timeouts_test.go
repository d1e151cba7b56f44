package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestServerLimitsAndTimeouts: the settings that protect the gateway from
// slow clients and hung backends, their defaults and their consistency rules.
func TestServerLimitsAndTimeouts(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadHeaderTimeout != 5*time.Second || c.ReadTimeout != 15*time.Second || c.WriteTimeout != 30*time.Second ||
		c.IdleTimeout != 120*time.Second || c.MaxHeaderBytes != 32<<10 || c.RelayerTimeout != 8*time.Second ||
		c.RequestTimeout != 10*time.Second || c.KeyMissLimitMinute != 60 {
		t.Fatalf("defaults: %+v", c)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // "" = valid
	}{
		{"DefaultsWithRelayerFit", map[string]string{"STXGATE_RELAYER_URL": "http://relayer"}, ""},
		{"RelayerBudgetOverWriteTimeout", map[string]string{"STXGATE_RELAYER_URL": "http://relayer", "STXGATE_RELAYER_TIMEOUT": "10s"},
			"STXGATE_WRITE_TIMEOUT (30s) must be at least 3 x STXGATE_RELAYER_TIMEOUT + 3s (33s)"},
		{"RelayerBudgetIgnoredWithoutRelayer", map[string]string{"STXGATE_RELAYER_TIMEOUT": "10s"}, ""},
		{"RequestTimeoutNotBelowWriteTimeout", map[string]string{"STXGATE_REQUEST_TIMEOUT": "30s"},
			"STXGATE_REQUEST_TIMEOUT must be positive and below STXGATE_WRITE_TIMEOUT (30s), got 30s"},
		{"ZeroReadHeaderTimeout", map[string]string{"STXGATE_READ_HEADER_TIMEOUT": "0s"}, "must be positive"},
		{"TinyHeaderLimit", map[string]string{"STXGATE_MAX_HEADER_BYTES": "1000"}, "STXGATE_MAX_HEADER_BYTES must be at least 4096, got 1000"},
		{"NegativeKeyMissLimit", map[string]string{"STXGATE_KEY_MISS_LIMIT_MINUTE": "-1"}, "STXGATE_KEY_MISS_LIMIT_MINUTE must not be negative"},
		{"KeyMissLimitOff", map[string]string{"STXGATE_KEY_MISS_LIMIT_MINUTE": "0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(nil, env(tc.env), io.Discard)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
