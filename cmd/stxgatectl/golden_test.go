package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/testgateway"
)

var update = flag.Bool("update", false, "rewrite cmd/stxgatectl/testdata/*.golden from this run")

// transcript records commands and what they printed, as a terminal shows
// them; String replaces the values that change from run to run (secrets
// included) by names.
type transcript struct {
	steps  []recorded
	scrubs []scrub
}

type recorded struct {
	args []string
	r    result
}

type scrub struct{ value, name string }

// hide replaces value by <name> everywhere in the transcript.
func (tr *transcript) hide(value, name string) {
	if value != "" {
		tr.scrubs = append(tr.scrubs, scrub{value, "<" + name + ">"})
	}
}

var (
	timePattern      = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	requestIDPattern = regexp.MustCompile(`request id: \S+`)
	cursorPattern    = regexp.MustCompile(`"nextCursor": "[^"]+"`)
)

func (tr *transcript) clean(s string) string {
	for _, sc := range tr.scrubs {
		s = strings.ReplaceAll(s, sc.value, sc.name)
	}
	s = timePattern.ReplaceAllString(s, "<TIME>")
	s = cursorPattern.ReplaceAllString(s, `"nextCursor": "<CURSOR>"`)
	return requestIDPattern.ReplaceAllString(s, "request id: <REQUEST_ID>")
}

func (tr *transcript) record(args []string, r result) { tr.steps = append(tr.steps, recorded{args, r}) }

func (tr *transcript) String() string {
	var b strings.Builder
	for _, st := range tr.steps {
		quoted := make([]string, len(st.args))
		for i, a := range st.args {
			quoted[i] = a
			if a == "" || strings.ContainsAny(a, " ,\"") {
				quoted[i] = fmt.Sprintf("%q", a)
			}
		}
		fmt.Fprintf(&b, "$ stxgatectl %s\n%s", strings.Join(quoted, " "), st.r.stdout)
		if st.r.stderr != "" {
			fmt.Fprintf(&b, "[stderr]\n%s", st.r.stderr)
		}
		fmt.Fprintf(&b, "[exit %d]\n\n", st.r.code)
	}
	return tr.clean(b.String())
}

// golden compares got with testdata/name (or rewrites it under -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/stxgatectl -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
			var g, w string
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(-update rewrites it; review the diff)\nwhole output:\n%s", path, i+1, g, w, got)
			}
		}
	}
}

// TestGoldenTranscript is the CLI's output, byte for byte, for the commands
// of the README's round trip and their --json and --export forms, against a
// real gateway reached by host:port (no scheme).
func TestGoldenTranscript(t *testing.T) {
	g := testgateway.Start(t)
	hostPort := strings.TrimPrefix(g.URL, "http://")
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": hostPort}}
	tr := &transcript{}
	tr.hide(hostPort, "GATEWAY")
	step := func(args ...string) result {
		t.Helper()
		r := c.run("", args...)
		tr.record(args, r)
		return r
	}

	// A new wallet, as eval "$(stxgatectl wallet new --export)" takes it; its
	// key and address are hidden before the output is recorded.
	exportArgs := []string{"wallet", "new", "--export"}
	r := c.run("", exportArgs...)
	m := regexp.MustCompile(`\Aexport STXGATE_PRIVATE_KEY=([0-9a-f]{64}01)\n# address: (SP[0-9A-Z]+) \(mainnet\)\n\z`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("wallet new --export printed %q", r.stdout)
	}
	newKey := m[1]
	tr.hide(newKey, "PRIVATE_KEY")
	tr.hide(m[2], "NEW_ADDRESS")
	tr.record(exportArgs, r)
	jsonArgs := []string{"wallet", "new", "--json"}
	r = c.run("", jsonArgs...)
	var w struct{ PrivateKey, Address, Network string }
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil || w.Network != "mainnet" {
		t.Fatalf("wallet new --json: %v %+v", err, w)
	}
	tr.hide(w.PrivateKey, "PRIVATE_KEY_2")
	tr.hide(w.Address, "NEW_ADDRESS_2")
	tr.record(jsonArgs, r)
	step("wallet", "new", "--export", "--json")

	// From here on the fixed test wallet, so addresses and signatures are stable.
	c.env["STXGATE_PRIVATE_KEY"] = testgateway.PrivA
	step("wallet", "address")
	step("wallet", "address", "--json")
	step("sign", "message", "hello stxgate")

	r = step("keys", "create", "--name", "My Trading Bot", "--permissions", "create,execute,cancel", "--export")
	m = regexp.MustCompile(`\Aexport STXGATE_API_KEY=(ck_live_[0-9A-Za-z]+)\n# key id: (\S+)\n\z`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keys create --export printed %q", r.stdout)
	}
	apiKey, keyID := m[1], m[2]
	tr.hide(apiKey, "API_KEY")
	tr.hide(keyID, "KEY_ID")
	tr.hide(apiKey[:16], "KEY_PREFIX")
	r = step("keys", "create", "--name", "ops", "--permissions", "execute", "--json")
	var ops struct{ APIKey, KeyID, Prefix string }
	if err := json.Unmarshal([]byte(r.stdout), &ops); err != nil {
		t.Fatal(err)
	}
	tr.hide(ops.APIKey, "API_KEY_2")
	tr.hide(ops.KeyID, "KEY_ID_2")
	tr.hide(ops.Prefix, "KEY_PREFIX_2")
	step("keys", "list")
	rotateArgs := []string{"keys", "rotate", ops.KeyID, "--grace", "1h"}
	r = c.run("", rotateArgs...)
	rotatedKey, rotatedID := field(t, r.stdout, "api key"), field(t, r.stdout, "key id")
	tr.hide(rotatedKey, "API_KEY_3")
	tr.hide(rotatedID, "KEY_ID_3")
	tr.record(rotateArgs, r)
	c.env["STXGATE_API_KEY"] = apiKey

	step(append([]string{"orders", "create", "--uuid", "golden-1"}, orderFlags...)...)
	step(append([]string{"orders", "create", "--uuid", "golden-2", "--valid-for", "1d", "--json"}, orderFlags...)...)
	step("orders", "execute", "golden-1")
	step("orders", "execute", "golden-2", "--json")
	step("orders", "execute", "golden-1")
	step("orders", "get", "golden-1")
	step("orders", "list", "--limit", "1", "--json")
	step("keys", "revoke", ops.KeyID, "--json")
	step("keys", "revoke", keyID)
	step("keys", "self")
	step("wait", "--json")

	out := tr.String()
	golden(t, "transcript.golden", out)
	logs := g.Logs.String()
	for _, secret := range []string{newKey, w.PrivateKey, testgateway.PrivA, apiKey, ops.APIKey, rotatedKey} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a secret reached the gateway's log")
		}
		if strings.Contains(out, secret) {
			t.Fatalf("a secret is in the recorded transcript")
		}
	}
}

// TestGatewayURL: --url and STXGATE_URL take a URL or a bare host:port;
// without either, the local gateway's STXGATE_LISTEN is used.
func TestGatewayURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"Default", nil, nil, "http://127.0.0.1:8080"},
		{"URL", map[string]string{"STXGATE_URL": "http://10.0.0.7:8080/"}, nil, "http://10.0.0.7:8080"},
		{"HostPort", map[string]string{"STXGATE_URL": "127.0.0.1:9090"}, nil, "http://127.0.0.1:9090"},
		{"HostnamePort", map[string]string{"STXGATE_URL": "localhost:9090"}, nil, "http://localhost:9090"},
		{"HTTPS", map[string]string{"STXGATE_URL": "https://gw.example"}, nil, "https://gw.example"},
		{"FlagHostPort", map[string]string{"STXGATE_URL": "http://10.0.0.7:8080"}, []string{"--url", "127.0.0.1:7070"}, "http://127.0.0.1:7070"},
		{"ListenFallback", map[string]string{"STXGATE_LISTEN": "127.0.0.1:9191"}, nil, "http://127.0.0.1:9191"},
		{"ListenAllInterfaces", map[string]string{"STXGATE_LISTEN": ":9191"}, nil, "http://127.0.0.1:9191"},
		{"ListenIPv6Any", map[string]string{"STXGATE_LISTEN": "[::]:9191"}, nil, "http://127.0.0.1:9191"},
		{"URLBeatsListen", map[string]string{"STXGATE_LISTEN": "127.0.0.1:9191", "STXGATE_URL": "127.0.0.1:9292"}, nil, "http://127.0.0.1:9292"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			g, _, err := parseGlobal(append(tc.args, "orders", "list"), func(k string) string { return env[k] })
			if err != nil || g.url != tc.want {
				t.Fatalf("url %v %v, want %q", g, err, tc.want)
			}
		})
	}
	// A password in the URL is never shown: masked, or not at all.
	for bad, want := range map[string]string{
		"ftp://bot:s3cret@x":     `stxgatectl: gateway URL "ftp://bot:xxxxx@x": want`,
		"http://bot:s3cret@[::1": "stxgatectl: gateway URL (not a URL): want",
	} {
		r := (&cli{t: t, env: map[string]string{"STXGATE_URL": bad}}).fails(exitUsage, "orders", "list")
		if !strings.HasPrefix(r.stderr, want) || strings.Contains(r.stderr, "s3cret") {
			t.Fatalf("URL %q: stderr %q, want %q…", bad, r.stderr, want)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	r := (&cli{t: t, env: map[string]string{"STXGATE_URL": "http://bot:s3cret@" + closed}}).fails(exitUnreachable, "orders", "get", "x")
	if !strings.Contains(r.stderr, "Is the gateway running at http://bot:xxxxx@"+closed+"?") || strings.Contains(r.stderr, "s3cret") {
		t.Fatalf("unreachable gateway with a password: %q", r.stderr)
	}
	for _, bad := range []string{"ftp://x", "http://", "127.0.0.1:9090?x=1", "http://[::1"} {
		t.Run("Bad_"+bad, func(t *testing.T) {
			c := &cli{t: t, env: map[string]string{"STXGATE_URL": bad}}
			r := c.fails(exitUsage, "orders", "list")
			want := fmt.Sprintf("stxgatectl: gateway URL %q: want http://host:port, https://host or host:port (--url or STXGATE_URL)\n", bad)
			if !strings.HasPrefix(r.stderr, want) {
				t.Fatalf("stderr %q, want %q", r.stderr, want)
			}
		})
	}
}
