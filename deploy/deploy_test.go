// Package deploy_test checks the deployment files against the gateway's
// configuration: every variable they set is one stxgate knows (a typo would
// otherwise be ignored silently), every setting a multi-instance deployment
// must make is made, the values load, and the ports, probes and shutdown
// timings agree with each other.
package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stxgate/stxgate/internal/config"
)

// runtimeVars are read by the Go runtime, not by stxgate.
var runtimeVars = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true}

func knownVars() map[string]bool {
	known := map[string]bool{}
	for _, v := range config.Vars {
		known[v.Env] = true
	}
	return known
}

// k8s is what the Kubernetes manifests define.
type k8s struct {
	configMaps map[string]map[string]string
	secrets    map[string]map[string]string
	deployment map[string]any
}

func loadK8s(t *testing.T) k8s {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	m := k8s{configMaps: map[string]map[string]string{}, secrets: map[string]map[string]string{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name, _ := dig(doc, "metadata", "name").(string)
			switch doc["kind"] {
			case "ConfigMap":
				m.configMaps[name] = stringMap(t, f, doc["data"])
			case "Secret":
				s := stringMap(t, f, doc["stringData"])
				for k, v := range stringMap(t, f, doc["data"]) {
					s[k] = v
				}
				m.secrets[name] = s
			case "Deployment":
				if m.deployment != nil {
					t.Fatalf("%s: a second Deployment", f)
				}
				m.deployment = doc
			}
		}
	}
	if m.deployment == nil {
		t.Fatal("no Deployment in deploy/k8s")
	}
	return m
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func stringMap(t *testing.T, file string, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	if v == nil {
		return out
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: data is not a map", file)
	}
	for k, val := range m {
		s, ok := val.(string)
		if !ok {
			t.Fatalf("%s: %s must be a string (quote it), got %T", file, k, val)
		}
		out[k] = s
	}
	return out
}

// containerEnv is the environment the gateway container gets: envFrom
// sources in order, then env (values from fieldRefs are left empty).
func (m k8s) containerEnv(t *testing.T) (env map[string]string, explicit []string) {
	t.Helper()
	c := dig(m.deployment, "spec", "template", "spec", "containers", 0)
	env = map[string]string{}
	refs := []struct {
		field, kind, note string
		defined           map[string]map[string]string
	}{
		{"configMapRef", "ConfigMap", "", m.configMaps},
		{"secretRef", "Secret", " (not even as an example)", m.secrets},
	}
	for _, src := range asList(dig(c, "envFrom")) {
		for _, ref := range refs {
			name, ok := dig(src, ref.field, "name").(string)
			if !ok {
				continue
			}
			vars, found := ref.defined[name]
			if !found {
				t.Fatalf("envFrom names %s %q, which deploy/k8s does not define%s", ref.kind, name, ref.note)
			}
			maps.Copy(env, vars)
		}
	}
	for _, e := range asList(dig(c, "env")) {
		name, _ := dig(e, "name").(string)
		value, _ := dig(e, "value").(string)
		env[name] = value
		explicit = append(explicit, name)
	}
	return env, explicit
}

func asList(v any) []any { l, _ := v.([]any); return l }

// compose returns the gateway service's environment, ${VAR:-default} resolved to default.
func composeEnv(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	interp := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	env := map[string]string{}
	switch e := dig(doc, "services", "gateway", "environment").(type) {
	case map[string]any:
		for k, v := range e {
			env[k] = interp.ReplaceAllString(fmt.Sprint(v), "$1")
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
			env[k] = interp.ReplaceAllString(v, "$1")
		}
	default:
		t.Fatal("docker-compose.yml: services.gateway.environment missing")
	}
	return env
}

// dockerfileEnv is what ENV lines of the Dockerfile set.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	return env
}

func TestManifestsSetOnlyKnownVariables(t *testing.T) {
	known := knownVars()
	k, explicit := loadK8s(t).containerEnv(t)
	sources := map[string]map[string]string{"deploy/k8s": k, "deploy/docker-compose.yml": composeEnv(t), "deploy/Dockerfile": dockerfileEnv(t)}
	for src, env := range sources {
		for name := range env {
			if !known[name] && !runtimeVars[name] {
				t.Errorf("%s sets %s, which stxgate does not know (config.Vars)", src, name)
			}
		}
	}
	for _, name := range explicit {
		if runtimeVars[name] {
			continue
		}
		if !known[name] {
			t.Errorf("deploy/k8s Deployment env sets %s, which stxgate does not know", name)
		}
	}
}

func TestManifestsSetEveryRequiredVariable(t *testing.T) {
	k, _ := loadK8s(t).containerEnv(t)
	for _, name := range config.RequiredAtScale {
		if k[name] == "" {
			t.Errorf("deploy/k8s does not set %s (config.RequiredAtScale)", name)
		}
	}
	// Compose runs one gateway for trying things out: the simulated
	// settlement and an open proxy list are fine there, the rest is not.
	c := composeEnv(t)
	for _, name := range config.RequiredAtScale {
		if _, ok := c[name]; !ok {
			t.Errorf("deploy/docker-compose.yml does not mention %s (config.RequiredAtScale); pass it through even if empty", name)
		}
	}
	for _, name := range []string{"DATABASE_URL", "REDIS_URL", "STXGATE_LISTEN"} {
		if c[name] == "" {
			t.Errorf("deploy/docker-compose.yml leaves %s empty", name)
		}
	}
	for _, name := range config.RequiredAtScale {
		if !knownVars()[name] {
			t.Errorf("config.RequiredAtScale names %s, which config.Vars does not define", name)
		}
	}
}

// The values must load: a bad duration or URL would stop every pod at start.
func TestManifestValuesLoad(t *testing.T) {
	k, _ := loadK8s(t).containerEnv(t)
	for name, env := range map[string]map[string]string{"deploy/k8s": k, "deploy/docker-compose.yml": composeEnv(t)} {
		if _, err := config.Load(nil, func(v string) string { return env[v] }, io.Discard); err != nil {
			t.Errorf("%s: the gateway would not start: %v", name, err)
		}
	}
}

// Ports, probes, annotations and shutdown timings must agree with the config.
func TestDeploymentIsConsistent(t *testing.T) {
	m := loadK8s(t)
	env, _ := m.containerEnv(t)
	spec := dig(m.deployment, "spec", "template", "spec")
	c := dig(spec, "containers", 0)
	ports := map[string]int{}
	for _, p := range asList(dig(c, "ports")) {
		name, _ := dig(p, "name").(string)
		port, _ := dig(p, "containerPort").(int)
		ports[name] = port
	}
	portOf := func(addr string) int {
		_, p, _ := strings.Cut(addr, ":")
		n, _ := strconv.Atoi(p)
		return n
	}
	if got := portOf(env["STXGATE_LISTEN"]); got != ports["http"] || !strings.HasPrefix(env["STXGATE_LISTEN"], "0.0.0.0:") {
		t.Errorf("STXGATE_LISTEN %q must listen on every interface at containerPort http (%d)", env["STXGATE_LISTEN"], ports["http"])
	}
	if got := portOf(env["STXGATE_METRICS_LISTEN"]); got != ports["metrics"] {
		t.Errorf("STXGATE_METRICS_LISTEN %q, containerPort metrics %d", env["STXGATE_METRICS_LISTEN"], ports["metrics"])
	}
	if a, _ := dig(m.deployment, "spec", "template", "metadata", "annotations", "prometheus.io/port").(string); a != strconv.Itoa(ports["metrics"]) {
		t.Errorf("prometheus.io/port %q, metrics port %d", a, ports["metrics"])
	}
	// /metrics stays off the public side: its own port, reachable by the
	// scraper (not loopback), never the API listener, and exposed by the image.
	if !strings.HasPrefix(env["STXGATE_METRICS_LISTEN"], "0.0.0.0:") {
		t.Errorf("STXGATE_METRICS_LISTEN %q: the scraper cannot reach a loopback listener", env["STXGATE_METRICS_LISTEN"])
	}
	for src, e := range map[string]map[string]string{"deploy/k8s": env, "deploy/docker-compose.yml": composeEnv(t)} {
		if e["STXGATE_METRICS_PUBLIC"] == "true" {
			t.Errorf("%s serves /metrics on the public listener (STXGATE_METRICS_PUBLIC)", src)
		}
	}
	if dockerfile, _ := os.ReadFile("Dockerfile"); !regexp.MustCompile(`(?m)^EXPOSE .*\b` + strconv.Itoa(ports["metrics"]) + `\b`).Match(dockerfile) {
		t.Errorf("the Dockerfile does not EXPOSE the metrics port %d", ports["metrics"])
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		if got := dig(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %v, want %s", probe, got, path)
		}
		if got := dig(c, probe, "httpGet", "port"); got != "http" {
			t.Errorf("%s port %v, want the http port", probe, got)
		}
	}
	grace, _ := dig(spec, "terminationGracePeriodSeconds").(int)
	pause, _ := dig(c, "lifecycle", "preStop", "sleep", "seconds").(int)
	drain, err := time.ParseDuration(env["STXGATE_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("STXGATE_SHUTDOWN_TIMEOUT: %v", err)
	}
	if pause <= 0 || time.Duration(pause)*time.Second+drain+5*time.Second > time.Duration(grace)*time.Second {
		t.Errorf("terminationGracePeriodSeconds %d must exceed the preStop pause %ds + STXGATE_SHUTDOWN_TIMEOUT %s + 5s", grace, pause, drain)
	}
	if rc := dig(spec, "securityContext", "runAsNonRoot"); rc != true {
		t.Error("pod must run as non-root")
	}
	for _, res := range []string{"requests"} {
		if dig(c, "resources", res, "cpu") == nil {
			t.Errorf("resources.%s.cpu is needed by the HorizontalPodAutoscaler", res)
		}
	}
	if !slices.Contains([]string{"0.0.0.0:8080"}, dockerfileEnv(t)["STXGATE_LISTEN"]) {
		t.Errorf("the image must listen on 0.0.0.0:8080 by default, got %q", dockerfileEnv(t)["STXGATE_LISTEN"])
	}
}
