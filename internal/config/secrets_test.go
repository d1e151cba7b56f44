package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testOperatorToken = "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789"

// The secret parts of the values below: none may appear anywhere.
const (
	secretUser  = "alice-the-user"
	secretPass  = "S3cretPassW0rd"
	secretQuery = "T0kenInQuery"
)

func leaks(s string) string {
	for _, f := range []string{secretUser, secretPass, secretQuery, testOperatorToken} {
		if strings.Contains(s, f) {
			return f
		}
	}
	return ""
}

// Every setting, given a value that carries secrets (a URL with userinfo and
// a token parameter; the operator token itself), shows none of them in -h,
// in the errors of Load (by env and by flag), in String, or in a text
// passed through Scrub (what main prints and the logger writes).
func TestEverySettingHidesItsSecrets(t *testing.T) {
	for _, v := range Vars {
		values := []string{
			"https://" + secretUser + ":" + secretPass + "@relayer.example/x?token=" + secretQuery,
			"postgres://" + secretUser + ":" + secretPass + "@db.example:5432/gw?sslmode=disable&password=" + secretQuery,
			"redis://" + secretUser + ":" + secretPass + "@redis.example:6379/0",
			"postgres://" + secretUser + ":" + secretPass + "@db.example:notaport/gw", // unparseable
			"redis+cluster://" + secretUser + ":" + secretPass + "@a:7000,b:7001/3",   // invalid
			"host=db user=gw password=" + secretPass + " dbname=gw",                   // key/value DSN
		}
		if v.Secret {
			values = []string{testOperatorToken}
		}
		for i, value := range values {
			t.Run(v.Env+"/"+string(rune('a'+i)), func(t *testing.T) {
				environ := env(map[string]string{v.Env: value})
				var help strings.Builder
				PrintSettings(&help, environ)
				if f := leaks(help.String()); f != "" {
					t.Fatalf("-h shows %q:\n%s", f, help.String())
				}
				c, err := Load(nil, environ, io.Discard)
				if err != nil {
					if f := leaks(err.Error()); f != "" {
						t.Fatalf("the error shows %q: %v", f, err)
					}
				} else {
					if f := leaks(c.String()); f != "" {
						t.Fatalf("String shows %q: %s", f, c)
					}
					wrapped := errors.New("connect " + value + ": refused (" + value + ")").Error()
					if f := leaks(c.Scrub(wrapped)); f != "" {
						t.Fatalf("Scrub leaves %q: %s", f, c.Scrub(wrapped))
					}
				}
				if v.Flag != "" {
					if _, err := Load([]string{"-" + v.Flag, value}, env(nil), io.Discard); err != nil {
						if f := leaks(err.Error()); f != "" {
							t.Fatalf("the error of -%s shows %q: %v", v.Flag, f, err)
						}
					}
				}
				if f := leaks(Redact("dial " + value + " failed")); f != "" && !v.Secret {
					t.Fatalf("Redact leaves %q", f)
				}
			})
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://gw:hunter2@db:5432/gw?sslmode=disable": "postgres://xxxxx@db:5432/gw?sslmode=disable",
		"redis://:pw@r:6379/0":                             "redis://xxxxx@r:6379/0",
		"https://tok3n@relayer/x":                          "https://xxxxx@relayer/x",
		"postgres://u:p@ss/w0rd@db/x":                      "postgres://xxxxx@db/x",
		"rediss+cluster://u:p@a:7000,b:7001":               "rediss+cluster://xxxxx@a:7000,b:7001",
		"postgres://db/x?password=pw&sslmode=require":      "postgres://db/x?password=xxxxx&sslmode=require",
		"host=db password='a b' user=gw":                   "host=db password=xxxxx user=gw",
		`dial "redis://u:pw@r:6379": refused`:              `dial "redis://xxxxx@r:6379": refused`,
		"postgres://u@db:5432/x":                           "postgres://xxxxx@db:5432/x",
		"127.0.0.1:8080":                                   "127.0.0.1:8080",
		"STXGATE_KEY_CACHE_TTL=30s":                        "STXGATE_KEY_CACHE_TTL=30s",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// The operator token rule: length, alphabet, repetition and entropy; the
// error never repeats the token.
func TestOperatorTokenRule(t *testing.T) {
	tests := []struct{ token, want string }{
		{"shorttok", "too short: 8 characters, want at least 32"},
		{strings.Repeat("a", 31), "too short: 31 characters"},
		{strings.Repeat("a", 64), "low entropy: one 1-character string repeated"},
		{strings.Repeat("ab", 20), "low entropy: one 2-character string repeated"},
		{"0123456789abcdef0123456789abcdef", "low entropy: one 16-character string repeated"},
		{strings.Repeat("a", 20) + " " + strings.Repeat("b", 20), "only printable ASCII without spaces"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "low entropy: about 7 bits, want at least 96"},
	}
	for _, tt := range tests {
		_, err := Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN": tt.token}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "STXGATE_OPERATOR_TOKEN: "+tt.want) {
			t.Errorf("token %q: %v, want %q", tt.token, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), tt.token) {
			t.Errorf("the error repeats the token: %v", err)
		}
	}
	// What the docs recommend always passes: openssl rand -hex 32, -base64 24.
	for range 2000 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		if err := CheckOperatorToken(hex.EncodeToString(b)); err != nil {
			t.Fatalf("a random hex token refused: %v", err)
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

// The operator token comes from the environment or a file, never a flag.
func TestOperatorTokenSources(t *testing.T) {
	for _, args := range [][]string{
		{"-operator-token", testOperatorToken},
		{"--operator-token=" + testOperatorToken},
		{"-listen", "127.0.0.1:1", "-operator-token", testOperatorToken},
	} {
		_, err := Load(args, env(nil), io.Discard)
		want := "invalid configuration: -operator-token: this secret is read from STXGATE_OPERATOR_TOKEN or STXGATE_OPERATOR_TOKEN_FILE, never from a flag (flags show in process lists and shell history)"
		if err == nil || err.Error() != want {
			t.Fatalf("%q: %v\nwant %s", args, err, want)
		}
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(testOperatorToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func() (Config, error){
		"env": func() (Config, error) {
			return Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN_FILE": file}), io.Discard)
		},
		"flag": func() (Config, error) { return Load([]string{"-operator-token-file", file}, env(nil), io.Discard) },
	} {
		c, err := load()
		if err != nil || c.OperatorToken != testOperatorToken {
			t.Fatalf("token file by %s: %v %q", name, err, c.OperatorToken)
		}
	}
	_, err := Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN_FILE": file, "STXGATE_OPERATOR_TOKEN": testOperatorToken}), io.Discard)
	if err == nil || err.Error() != "invalid configuration: STXGATE_OPERATOR_TOKEN and STXGATE_OPERATOR_TOKEN_FILE are both set: set one" {
		t.Fatalf("both: %v", err)
	}
	missing := filepath.Join(dir, "nope")
	_, err = Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN_FILE": missing}), io.Discard)
	if err == nil || err.Error() != "invalid configuration: STXGATE_OPERATOR_TOKEN_FILE: cannot read "+missing+": no such file or directory" {
		t.Fatalf("missing file: %v", err)
	}
	weak := filepath.Join(dir, "weak")
	_ = os.WriteFile(weak, []byte(strings.Repeat("x", 40)), 0o600)
	_, err = Load(nil, env(map[string]string{"STXGATE_OPERATOR_TOKEN_FILE": weak}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "STXGATE_OPERATOR_TOKEN: low entropy") {
		t.Fatalf("weak token in a file: %v", err)
	}
}
