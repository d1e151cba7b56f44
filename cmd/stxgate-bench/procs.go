package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

// startProc runs path with args and exactly env (loadkit.Command), logging
// to dir/name.log, and waits for GET /healthz to answer 200.
func startProc(ctx context.Context, dir, name, path string, args, env []string, addr string) (*loadkit.Process, error) {
	return startProcReady(ctx, dir, name, path, args, env, addr, func() bool { return loadkit.Healthy(addr) })
}

// startProcReady is startProc with its own readiness check.
func startProcReady(ctx context.Context, dir, name, path string, args, env []string, addr string, ready func() bool) (*loadkit.Process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the process writes to its own copy
	cmd := loadkit.Command(path, args, env)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	return loadkit.Start(ctx, name, addr, cmd, ready, func() string { return tail(logPath) })
}

// tail is the end of a process log, for error messages.
func tail(logPath string) string {
	b, _ := os.ReadFile(logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// cpuSample is CPU time consumed so far by the machine and by the processes
// the report attributes load to.
type cpuSample struct {
	at       time.Time
	busy     float64 // machine, seconds of CPU (all cores) run in this VM
	steal    float64 // machine, seconds the hypervisor gave another VM while this one had work
	total    float64 // machine, seconds of CPU incl. idle and steal
	self     float64 // this tool (the load generator and, in ceiling (c), the recovery loop)
	server   float64 // the server under load
	redis    float64
	postgres float64 // every postgres process (other engineers' tests share them)
	chain    float64 // the test Stacks node (execute-stacks)
}

const clockTicks = 100 // USER_HZ on Linux

// sampleCPU reads /proc. Errors leave fields zero: the figures are context,
// not measurements the ratios depend on.
func sampleCPU(server, chain int) cpuSample {
	s := cpuSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		s.busy, s.steal, s.total = machineCPU(line)
	}
	s.self = procCPU(os.Getpid())
	if server > 0 {
		s.server = procCPU(server)
	}
	if chain > 0 {
		s.chain = procCPU(chain)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue
		}
		switch c := string(bytes.TrimSpace(comm)); {
		case strings.HasPrefix(c, "redis-server"):
			s.redis += procCPU(pid)
		case c == "postgres" || strings.HasPrefix(c, "postgres:"):
			s.postgres += procCPU(pid)
		}
	}
	return s
}

// machineCPU reads /proc/stat's "cpu" line (user nice system idle iowait
// irq softirq steal guest guest_nice, in clock ticks) as seconds: what this
// VM ran, what the hypervisor stole from it, and everything.
func machineCPU(line string) (busy, steal, total float64) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, 0, 0
	}
	for i, v := range f[1:] {
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		n /= clockTicks
		total += n
		switch i {
		case 3, 4: // idle, iowait
		case 7:
			steal += n
		default:
			busy += n
		}
	}
	return busy, steal, total
}

// procCPU is utime+stime of pid in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clockTicks
}

// cpuUse is what a phase cost, in cores (1.0 = one core busy all along).
type cpuUse struct {
	Machine, Self, Server, Redis, Postgres, Other float64
	// Steal is time this VM was ready to run but the hypervisor ran
	// another: a stall of every process here, not work of any of them.
	Steal float64
	Chain float64 // the test Stacks node
	Cores float64
	Wall  float64 // seconds the sample spans
}

func cpuBetween(a, b cpuSample) cpuUse {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return cpuUse{}
	}
	u := cpuUse{
		Machine:  (b.busy - a.busy) / wall,
		Steal:    (b.steal - a.steal) / wall,
		Cores:    (b.total - a.total) / wall,
		Self:     (b.self - a.self) / wall,
		Server:   (b.server - a.server) / wall,
		Redis:    (b.redis - a.redis) / wall,
		Postgres: (b.postgres - a.postgres) / wall,
		Chain:    (b.chain - a.chain) / wall,
		Wall:     wall,
	}
	u.Other = max(0, u.Machine-u.Self-u.Server-u.Redis-u.Postgres-u.Chain)
	return u
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
