package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/config"
)

func TestScaleSettings(t *testing.T) {
	const db = "postgres://u@db:5432/x"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" loads
	}{
		{"ClusterURL", map[string]string{"REDIS_URL": "redis+cluster://a:7000,b:7001,c:7002?dial_timeout=2s"}, ""},
		{"ClusterURLBadOption", map[string]string{"REDIS_URL": "redis+cluster://a:7000?bogus=1"}, "unexpected option: bogus"},
		{"ClusterURLDatabase", map[string]string{"REDIS_URL": "redis+cluster://a:7000/2"}, "only database 0"},
		{"SingleURLBadDatabase", map[string]string{"REDIS_URL": "redis://a:6379/x"}, "invalid database number"},
		{"PrefixWithBrace", map[string]string{"STXGATE_REDIS_PREFIX": "gw{1}:"}, "must not contain { or }"},
		{"Replica", map[string]string{"DATABASE_URL": db, "DATABASE_READ_URL": "postgres://ro@replica:5432/x"}, ""},
		{"ReplicaWithoutPrimary", map[string]string{"DATABASE_READ_URL": "postgres://ro@replica:5432/x"}, "DATABASE_READ_URL needs DATABASE_URL"},
		{"ReplicaNotPostgres", map[string]string{"DATABASE_URL": db, "DATABASE_READ_URL": "mysql://x"}, "must be a postgres:// URL"},
		{"MinAboveMax", map[string]string{"STXGATE_DB_MAX_CONNS": "4", "STXGATE_DB_MIN_CONNS": "5"}, "must not exceed"},
		{"NegativeLifetime", map[string]string{"STXGATE_DB_MAX_CONN_LIFETIME": "-1s"}, "must not be negative"},
		{"MetricsOnItsOwnPort", map[string]string{"STXGATE_METRICS_LISTEN": "0.0.0.0:9464"}, ""},
		{"MetricsOnTheAPIPort", map[string]string{"STXGATE_LISTEN": "0.0.0.0:8080", "STXGATE_METRICS_LISTEN": "0.0.0.0:8080"}, "must differ"},
		{"MetricsOnTheDefaultPort", map[string]string{"STXGATE_LISTEN": "127.0.0.1:9464"}, "STXGATE_METRICS_LISTEN must differ from STXGATE_LISTEN"},
		{"MetricsOffAndOnTheAPIPort", map[string]string{"STXGATE_LISTEN": "127.0.0.1:9464", "STXGATE_METRICS_LISTEN": "off", "STXGATE_METRICS_PUBLIC": "true"}, ""},
		{"BothOnFreePorts", map[string]string{"STXGATE_LISTEN": "127.0.0.1:0", "STXGATE_METRICS_LISTEN": "127.0.0.1:0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(nil, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRequiredAtScaleAreKnown(t *testing.T) {
	known := map[string]bool{}
	for _, v := range config.Vars {
		known[v.Env] = true
	}
	for _, name := range config.RequiredAtScale {
		if !known[name] {
			t.Errorf("RequiredAtScale names %s, which Vars does not define", name)
		}
	}
}
