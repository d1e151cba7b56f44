package loadkit

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a server a load tool started (a gateway, a ceiling or floor
// server) on a loopback port, killed with the tool if the tool dies.
type Process struct {
	Addr string // host:port it serves on
	cmd  *exec.Cmd
	done chan error
}

// Command runs path with args and exactly env plus PATH and HOME: nothing
// else is inherited, so a developer's STXGATE_* settings cannot leak into a
// measurement. The caller directs its output.
func Command(path string, args, env []string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Start starts cmd, the server name on addr, and polls ready every 100 ms
// for up to 60 s. When the server exits, ctx ends or the time is up, it
// stops the server and fails; the error quotes logTail, the end of its log.
func Start(ctx context.Context, name, addr string, cmd *exec.Cmd, ready func() bool, logTail func() string) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Addr: addr, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("%s exited at start (%v); log:\n%s", name, err, logTail())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if ready() {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s not healthy after 60s; log:\n%s", name, logTail())
		}
	}
}

// Healthy reports whether GET http://addr/healthz answers 200.
func Healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop asks for a clean shutdown, then kills after 20 s. A nil p is
// nothing to stop.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// Pid of the process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// RSS is the resident memory (VmRSS) of process pid in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
