package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Test and benchmark support never ships: the gateway binary imports none
// of the packages that steer a settlement or run the limiter's raw script.
func TestGatewayImportsNoTestSupport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !strings.Contains(string(out), "github.com/stxgate/stxgate/internal/settlement\n") {
		t.Fatalf("go list -deps gave %d packages, not the gateway's:\n%s", len(deps), out)
	}
	for _, d := range deps {
		name := d[strings.LastIndexByte(d, '/')+1:]
		if strings.HasPrefix(d, "github.com/stxgate/stxgate/") && (strings.HasPrefix(name, "test") || strings.HasSuffix(name, "test")) {
			t.Errorf("the gateway imports %s", d)
		}
	}
}
