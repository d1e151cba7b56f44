package scaletest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/testenv"

	"github.com/stxgate/stxgate/internal/testgateway"
)

// redisCluster is a local Redis Cluster of three masters (no replicas) on
// loopback, started by the test and stopped when it ends.
type redisCluster struct {
	URL   string // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
	Addrs []string
}

// startRedisCluster needs redis-server and redis-cli on PATH: without them
// the test is skipped, but fails under CI=true.
func startRedisCluster(t *testing.T) *redisCluster {
	t.Helper()
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		msg := "redis-server and redis-cli are needed to start a local Redis Cluster"
		if testenv.InCI() {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skipf("SKIPPED — %s", msg)
	}
	dir := t.TempDir()
	rc := &redisCluster{}
	for range 3 {
		port := strconv.Itoa(freePort(t))
		addr := "127.0.0.1:" + port
		cmd := exec.Command(server,
			"--bind", "127.0.0.1", "--port", port,
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes-"+port+".conf"),
			"--cluster-node-timeout", "2000",
			"--dir", dir, "--save", "", "--appendonly", "no",
			"--logfile", filepath.Join(dir, "redis-"+port+".log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		rc.Addrs = append(rc.Addrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, addr := range rc.Addrs {
		waitFor(ctx, t, "redis "+addr+" answers", func() error {
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			return c.Ping(ctx).Err()
		})
	}
	args := append([]string{"--cluster", "create"}, rc.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s\nlogs:\n%s", err, out, clusterLogs(dir))
	}
	for _, addr := range rc.Addrs {
		waitFor(ctx, t, "cluster_state:ok on "+addr, func() error {
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("cluster not ok yet")
			}
			return nil
		})
	}
	rc.URL = "redis+cluster://" + strings.Join(rc.Addrs, ",")
	return rc
}

func clusterLogs(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "redis-*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}

// waitFor is testgateway.WaitFor.
var waitFor = testgateway.WaitFor
