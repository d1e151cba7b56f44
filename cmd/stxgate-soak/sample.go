package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

// sample is the gateway's state after one wrk chunk.
type sample struct {
	at      time.Time
	label   string // "warm-up keyed", "r2 execute"
	warm    bool   // taken during the warm-up (excluded from growth)
	rate    float64
	p99     time.Duration
	wrkErrs int64 // socket errors and timeouts wrk saw

	rss        int64 // bytes, /proc/<pid>/status VmRSS
	heapLive   int64 // bytes, go_gc_heap_live_bytes (live heap marked by the last GC)
	heapInuse  int64 // bytes, go_memstats_heap_inuse_bytes
	gcCycles   int64
	goroutines int64
	fds        int64 // /proc/<pid>/fd
	pgConns    int64 // pg_stat_activity rows of the soak database
	redisMem   int64 // INFO memory used_memory (the whole Redis)

	requests  int64 // the gateway's answered requests so far (every status)
	status5xx int64
	status499 int64
}

// take samples the gateway now.
func (r *runner) take(ctx context.Context, label string, warm bool, res wrkResult) (sample, error) {
	s := sample{at: time.Now(), label: label, warm: warm, rate: res.rate(), p99: time.Duration(res.P99Us) * time.Microsecond,
		wrkErrs: res.ConnectErrors + res.ReadErrors + res.WriteErrors + res.Timeouts}
	pid := r.gw.Pid()
	var err error
	if s.rss, err = loadkit.RSS(pid); err != nil {
		return s, err
	}
	if s.fds, err = procFDs(pid); err != nil {
		return s, err
	}
	m, err := scrape(ctx, "http://"+r.gw.metricsAddr+"/metrics")
	if err != nil {
		return s, err
	}
	s.heapLive, s.heapInuse = int64(m.sum("go_gc_heap_live_bytes", nil)), int64(m.sum("go_memstats_heap_inuse_bytes", nil))
	s.gcCycles, s.goroutines = int64(m.sum("go_gc_cycles_total_gc_cycles_total", nil)), int64(m.sum("go_goroutines", nil))
	s.requests = int64(m.sum("stxgate_http_requests_total", nil))
	s.status5xx = int64(m.sum("stxgate_http_requests_total", func(l string) bool { return strings.Contains(l, `status="5`) }))
	s.status499 = int64(m.sum("stxgate_http_requests_total", func(l string) bool { return strings.Contains(l, `status="499"`) }))
	if err := r.Admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, soakDB).Scan(&s.pgConns); err != nil {
		return s, fmt.Errorf("pg_stat_activity: %w", err)
	}
	if s.redisMem, err = loadkit.UsedMemory(ctx, r.Redis); err != nil {
		return s, err
	}
	return s, nil
}

// procFDs counts pid's open file descriptors.
func procFDs(pid int) (int64, error) {
	es, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return int64(len(es)), err
}

// exposition is a Prometheus text exposition: series line → value.
type exposition map[string]float64

// scrape reads a /metrics page.
func scrape(ctx context.Context, url string) (exposition, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	return parseExposition(resp.Body)
}

func parseExposition(r io.Reader) (exposition, error) {
	m := exposition{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds the series of a metric whose labels pass keep (nil: all).
func (m exposition) sum(name string, keep func(labels string) bool) float64 {
	var total float64
	for series, v := range m {
		rest, ok := strings.CutPrefix(series, name)
		if !ok || (rest != "" && rest[0] != '{') {
			continue
		}
		if keep == nil || keep(rest) {
			total += v
		}
	}
	return total
}
