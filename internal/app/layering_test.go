package app

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain packages know no transport and no driver: metrics reach them
// through small interfaces, Redis and PostgreSQL through the adapters app
// wires in (ratelimit/redislimit, redisconn, store/postgres).
func TestDomainImportsNoTransportOrDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{"github.com/labstack/echo", "github.com/jackc/pgx", "github.com/redis/go-redis"}
	for _, pkg := range []string{"order", "apikey", "walletauth", "usage", "ratelimit"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/stxgate/stxgate/internal/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("internal/%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
