package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Closed-loop phases are driven by wrk (Debian package wrk, 4.1): a C load
// generator with one thread costs the two shared cores a fraction of what a
// Go client does, so a ratio compares servers rather than clients. wrk has no
// open-loop mode (wrk2's -R is not packaged), so the paced phases keep the
// tool's own Go client, whose latency counts from the intended send time.
//
// wrk only accepts whole seconds for -d: a run is started with a long -d and
// stopped with SIGINT once its measured time is up (wrk then reports as if
// the time had elapsed). The script below hands out pre-built requests from a
// file and prints one JSON summary line.

const wrkScript = `-- stxgate-bench: requests from a file, a JSON summary. args: file mode offset conns
-- mode "cycle": round-robin over the requests for ever; "pool": each request once, then the
-- connection parks (an empty request) and the last one to park says so on stderr, where the tool
-- reads it and stops wrk (SIGINT) as it does when the time is up.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long sec; long nsec; } stxgate_bench_ts;
int clock_gettime(int clk, stxgate_bench_ts *ts);
]]
local ts = ffi.new("stxgate_bench_ts")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.sec) * 1000000 + math.floor(tonumber(ts.nsec) / 1000)
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local all = f:read("*a")
  f:close()
  reqs = {}
  for r in all:gmatch("([^%z]+)") do reqs[#reqs + 1] = r end
  mode, next_req, conns, parked = args[2], tonumber(args[3]) + 1, tonumber(args[4]), 0
  first_at, dry_at = 0, 0
  if mode == "cycle" then next_req = (next_req - 1) % #reqs + 1 end
end

function request()
  if not verified then -- wrk's start-up check parses one request: hand it out again after
    verified = true
    return reqs[math.min(next_req, #reqs)]
  end
  if first_at == 0 then
    first_at = now_us()
    io.stderr:write("STXGATE-BENCH started\n")
  end
  if mode == "cycle" then
    local r = reqs[next_req]
    next_req = next_req % #reqs + 1
    return r
  end
  if next_req <= #reqs then
    local r = reqs[next_req]
    next_req = next_req + 1
    return r
  end
  parked = parked + 1
  if parked == conns and dry_at == 0 then
    dry_at = now_us()
    io.stderr:write("STXGATE-BENCH dry\n")
  end
  return ""
end

local grid = {}
for p = 1, 99 do grid[#grid + 1] = p end
for p = 991, 999 do grid[#grid + 1] = p / 10 end
for p = 9991, 9999 do grid[#grid + 1] = p / 100 end

function done(summary, latency, requests)
  local t = threads[1]
  local q = {}
  for _, p in ipairs(grid) do q[#q + 1] = string.format("[%g,%d]", p, latency:percentile(p)) end
  q[#q + 1] = string.format("[100,%d]", latency.max) -- percentile(100) ranks past the last sample
  local e = summary.errors
  io.write(string.format('STXGATE-BENCH {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"next":%d,"first_us":%d,"dry_us":%d,"quantiles":[%s]}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    t:get("next_req") - 1, t:get("first_at"), t:get("dry_at"), table.concat(q, ",")))
end
`

// wrkRun is one wrk invocation.
type wrkRun struct {
	Name     string
	Addr     string // loopback host:port
	File     string // requests, NUL-separated (writeRequests)
	Pool     bool   // each request once (else round-robin for ever)
	Offset   int    // first request of the pool (after a warm-up's)
	Conns    int
	Duration time.Duration
}

// wrkSummary is what the script prints.
type wrkSummary struct {
	Requests     int          `json:"requests"`
	DurationUS   int64        `json:"duration_us"`
	StatusErrors int          `json:"status_errors"`
	SocketErrors int          `json:"socket_errors"`
	Next         int          `json:"next"`
	FirstUS      int64        `json:"first_us"`
	DryUS        int64        `json:"dry_us"`
	Quantiles    [][2]float64 `json:"quantiles"` // [percentile, latency µs]
	cpu          time.Duration
}

// wrkPath is the wrk binary; the Makefile installs the Debian package if it
// is missing.
func wrkPath() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk not found: apt-get install wrk (make bench installs it)")
	}
	return p, nil
}

// writeRequests stores pre-built requests for the script (NUL-separated: a
// request never contains one).
func writeRequests(path string, reqs [][]byte) error {
	var b bytes.Buffer
	for _, r := range reqs {
		if bytes.IndexByte(r, 0) >= 0 {
			return errors.New("a request contains a NUL byte")
		}
		b.Write(r)
		b.WriteByte(0)
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// writeScript puts the wrk script in dir.
func writeScript(dir string) (string, error) {
	path := filepath.Join(dir, "stxgate-bench.lua")
	return path, os.WriteFile(path, []byte(wrkScript), 0o600)
}

// run starts wrk, stops it after r.Duration and parses its summary.
func (r wrkRun) run(ctx context.Context, wrk, script string) (*wrkSummary, error) {
	ap, err := netip.ParseAddrPort(r.Addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("refusing to load %q: only loopback addresses", r.Addr)
	}
	mode := "cycle"
	if r.Pool {
		mode = "pool"
	}
	// -d is only an upper bound; SIGINT ends the run. The socket timeout
	// outlasts the run so a parked connection of a dry pool is no error.
	limit := int(r.Duration.Seconds()) + 30
	cmd := exec.Command(wrk, "-t1", "-c"+strconv.Itoa(r.Conns), "-d"+strconv.Itoa(limit)+"s", "--timeout", strconv.Itoa(limit+10)+"s",
		"-s", script, "http://"+r.Addr+"/", "--", r.File, mode, strconv.Itoa(r.Offset), strconv.Itoa(r.Conns))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout // buffered by wrk until it exits: the summary
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start wrk: %w", r.Name, err)
	}
	// The script marks on stderr (unbuffered) its first request — wrk has
	// installed its SIGINT handler by then; before, SIGINT is ignored — and
	// a pool running dry. Other stderr lines are kept for error messages.
	var (
		marks  = make(chan string, 4)
		stderr strings.Builder
	)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			switch line := sc.Text(); line {
			case "STXGATE-BENCH started", "STXGATE-BENCH dry":
				select {
				case marks <- line:
				default:
				}
			default:
				if stderr.Len() < 4000 {
					stderr.WriteString(line + "\n")
				}
			}
		}
		close(marks)
	}()
	// The loop ends when wrk closes stderr (it exited); signals only ask.
	const (
		starting = iota
		running
		stopping
	)
	state := starting
	timer := time.NewTimer(60 * time.Second) // start-up bound
	defer timer.Stop()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		state = stopping
		timer.Reset(time.Minute) // done() and exit
	}
	cancelled := ctx.Done()
	for open := true; open; {
		select {
		case mark, ok := <-marks:
			open = ok
			switch {
			case ok && mark == "STXGATE-BENCH started" && state == starting:
				state = running
				timer.Reset(r.Duration)
			case ok && mark == "STXGATE-BENCH dry" && state == running:
				stop()
			}
		case <-timer.C:
			if state == running {
				stop()
			} else {
				_ = cmd.Process.Kill()
			}
		case <-cancelled:
			_ = cmd.Process.Kill()
			cancelled = nil // then wait for stderr to close
		}
	}
	werr := cmd.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, fmt.Errorf("%s: wrk: %v: %s", r.Name, werr, strings.TrimSpace(stderr.String()))
	}
	var line string
	for l := range strings.SplitSeq(stdout.String(), "\n") {
		if s, ok := strings.CutPrefix(l, "STXGATE-BENCH "); ok {
			line = s
		}
	}
	if line == "" {
		return nil, fmt.Errorf("%s: wrk printed no summary: %s", r.Name, strings.TrimSpace(stderr.String()))
	}
	s := &line
	var sum wrkSummary
	if err := json.Unmarshal([]byte(*s), &sum); err != nil {
		return nil, fmt.Errorf("%s: wrk summary %q: %w", r.Name, *s, err)
	}
	if ru := cmd.ProcessState; ru != nil {
		sum.cpu = ru.UserTime() + ru.SystemTime()
	}
	return &sum, nil
}

// result turns a summary into the tool's Result. wrk keeps an exact
// histogram (1 µs buckets) but only lets a script read percentiles cheaply,
// so the latencies are the grid of percentiles the script prints (every 1 %,
// every 0.1 % above 99 %, every 0.01 % above 99.9 %), each repeated for its
// share of the requests: slices then pool by concatenation, and a quantile
// of one slice is wrk's own. wrk's percentiles include its correction for
// coordinated omission (extra samples for responses slower than twice the
// mean interval), as in the figures it prints.
func (s *wrkSummary) result(name string) *Result {
	res := &Result{Name: name, Count: s.Requests, Sent: s.Requests, Errors: s.StatusErrors + s.SocketErrors,
		Elapsed: time.Duration(s.DurationUS) * time.Microsecond, ClientCPU: s.cpu}
	if s.DryUS > 0 && s.FirstUS > 0 {
		res.Dry, res.Elapsed = true, time.Duration(s.DryUS-s.FirstUS)*time.Microsecond
	}
	if s.StatusErrors > 0 {
		res.FirstError = fmt.Sprintf("%d answers with HTTP status ≥ 400", s.StatusErrors)
	}
	if s.SocketErrors > 0 {
		res.FirstError = strings.TrimPrefix(res.FirstError+fmt.Sprintf("; %d socket errors", s.SocketErrors), "; ")
	}
	res.Lat = make([]time.Duration, 0, s.Requests)
	prev := 0
	for _, q := range s.Quantiles {
		upto := int(math.Round(float64(s.Requests) * q[0] / 100))
		for ; prev < upto; prev++ {
			res.Lat = append(res.Lat, time.Duration(q[1])*time.Microsecond)
		}
	}
	return res
}

// wrkPhase is a closed-loop phase run by wrk: a warm-up run, then the
// measured one (new connections: wrk has no warm-up of its own).
type wrkPhase struct {
	name     string
	addr     string
	file     string
	pool     bool
	offset   *int // pools: the next request, shared by the phase's slices
	size     int  // pools: how many requests the file holds
	conns    int
	warmup   time.Duration
	duration time.Duration
}

func (b *bench) runWrk(ctx context.Context, p wrkPhase) (*Result, error) {
	off := 0
	if p.offset != nil {
		off = *p.offset
	}
	if p.pool && off >= p.size { // wrk needs one request to start
		return &Result{Name: p.name, Dry: true}, nil
	}
	run := wrkRun{Name: p.name, Addr: p.addr, File: p.file, Pool: p.pool, Offset: off, Conns: p.conns}
	var warm *wrkSummary
	if p.warmup > 0 {
		var err error
		run.Duration = p.warmup
		if warm, err = run.run(ctx, b.wrk, b.wrkScript); err != nil {
			return nil, err
		}
		if warm.DryUS > 0 { // nothing left to measure
			if p.offset != nil {
				*p.offset = p.size
			}
			return &Result{Name: p.name, Dry: true, Sent: warm.Requests, ClientCPU: warm.cpu}, nil
		}
		run.Offset = warm.Next
	}
	run.Duration = p.duration
	sum, err := run.run(ctx, b.wrk, b.wrkScript)
	if err != nil {
		return nil, err
	}
	if p.offset != nil {
		*p.offset = sum.Next
	}
	res := sum.result(p.name)
	if warm != nil { // CPU per request counts the warm-up, as for the Go client
		res.Sent += warm.Requests
		res.ClientCPU += warm.cpu
	}
	return res, nil
}

// wrkVersion is wrk's first -v line, for the report.
func wrkVersion(path string) string {
	out, _ := exec.Command(path, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	if v, _, ok := strings.Cut(line, " Copyright"); ok {
		line = v
	}
	return strings.TrimSpace(line)
}
