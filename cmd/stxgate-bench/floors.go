package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/loadkit"
)

// The floors are the reference servers of ../shared/ceilings (main.go and
// limiter.lua there, built by the Makefile into bin/ceilings): the least work
// any gateway must do per request on the same stack. Every target of the
// report is a ratio to one of them, measured in the same run:
//
//	floor-self     ceilings -mode self:    SHA-256 of X-API-Key, one EVALSHA of its limiter, a small JSON
//	floor-execute  ceilings -mode execute: the same, then one conditional UPDATE … RETURNING
//	floor-recover  ceilings -mode recover: decred RecoverCompact on every core
//
// Without ../shared/ceilings (a clone on its own) the tool's in-tree ceilings
// stand in — (a) bare Echo + EVALSHA of our own limiter script, (b) that plus
// the gateway's claim statement, (c) RecoverCompact in the tool's process —
// and the report says so.
type floors struct {
	shared bool   // the ../shared/ceilings binary is measured
	note   string // why not, when it is not
	bin    string
	self   *loadkit.Process // floor-self's server (shared: its own process; else the in-tree ceiling)
	exec   *loadkit.Process
	rdb    *redis.Client
}

// startFloors starts the shared floors' servers if the binary exists.
func (b *bench) startFloors(ctx context.Context, dsn string) error {
	f := &floors{bin: b.s.floors, rdb: b.Redis}
	b.floors = f
	if _, err := os.Stat(f.bin); err != nil {
		f.note = fmt.Sprintf("%s not built (../shared/ceilings is absent)", f.bin)
		f.self, f.exec = b.ceil, b.ceil
		loadkit.Logf("floors: %s; the in-tree ceilings (a), (b), (c) stand in", f.note)
		return nil
	}
	opt := b.Redis.Options()
	if opt.DB != 0 || opt.Password != "" || opt.Username != "" {
		// The floors take a bare address and use database 0 without AUTH.
		f.note = "REDIS_URL selects a database or credentials the shared floors cannot use"
		f.self, f.exec = b.ceil, b.ceil
		loadkit.Logf("floors: %s; the in-tree ceilings stand in", f.note)
		return nil
	}
	var err error
	if f.self, err = b.startFloor(ctx, "floor-self", "-mode", "self", "-redis", opt.Addr); err != nil {
		return err
	}
	if f.exec, err = b.startFloor(ctx, "floor-execute", "-mode", "execute", "-redis", opt.Addr, "-dsn", dsn); err != nil {
		return err
	}
	f.shared = true
	return nil
}

// startFloor runs the floor binary on a free loopback port. It has no health
// route: it is up when its port accepts (it listens after its setup).
func (b *bench) startFloor(ctx context.Context, name string, args ...string) (*loadkit.Process, error) {
	addr, err := loadkit.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	return startProcReady(ctx, b.Dir, name, b.floors.bin, append(args, "-listen", addr), nil, addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// name is how the report calls the server that plays floor key.
func (f *floors) name(key string) string {
	if f.shared {
		return map[string]string{"floor-self": "floor `self`", "floor-execute": "floor `execute`", "floor-recover": "floor `recover`"}[key]
	}
	return map[string]string{"floor-self": "in-tree ceiling (a)", "floor-execute": "in-tree ceiling (b)", "floor-recover": "in-tree ceiling (c)"}[key]
}

// selfRequests: GET /self with the bench keys (shared floor), or ceiling (a).
func (f *floors) selfRequests(keys []benchKey) [][]byte {
	if !f.shared {
		return ceilingARequests(f.self.Addr, len(keys))
	}
	reqs := make([][]byte, len(keys))
	for i, k := range keys {
		reqs[i] = buildRequest("GET", f.self.Addr, "/self", [][2]string{{"X-API-Key", k.secret}}, nil)
	}
	return reqs
}

// execRequests: one per order, with the owner's key.
func (f *floors) execRequests(rows []orderRow, keys []benchKey) [][]byte {
	if !f.shared {
		return ceilingBPool(f.exec.Addr, rows).reqs
	}
	reqs := make([][]byte, len(rows))
	for i, r := range rows {
		reqs[i] = buildRequest("POST", f.exec.Addr, "/orders/"+r.o.UUID+"/execute", [][2]string{{"X-API-Key", keys[r.keyIdx].secret}}, nil)
	}
	return reqs
}

// copyOrders gives floor-execute its open orders: the shared floor's own
// table (ceiling_orders, created by the floor), or the gateway's for (b).
func (f *floors) copyOrders(ctx context.Context, b *bench, rows []orderRow) error {
	if !f.shared {
		return copyOrders(ctx, b.dbA, rows, b.keysA)
	}
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		return []any{rows[i].o.UUID, rows[i].o.Owner, "open"}, nil
	})
	if _, err := b.dbA.CopyFrom(ctx, pgx.Identifier{"ceiling_orders"}, []string{"uuid", "owner", "status"}, src); err != nil {
		return fmt.Errorf("copy floor orders: %w", err)
	}
	return nil
}

// dropOrders removes floor-execute's orders after its phase (claimedOnly:
// after each slice). Only (b) needs it: it shares the gateway's table and
// leaves its claims for the gateway's reconciliation to settle; the shared
// floor fills its own table.
func (f *floors) dropOrders(ctx context.Context, b *bench, rows []orderRow, claimedOnly bool) error {
	if f.shared {
		if claimedOnly {
			return nil
		}
		uuids := make([]string, len(rows))
		for i, r := range rows {
			uuids[i] = r.o.UUID
		}
		_, err := b.dbA.Exec(ctx, `DELETE FROM ceiling_orders WHERE uuid = ANY($1)`, uuids)
		return err
	}
	return b.dropCeilingOrders(ctx, rows, claimedOnly)
}

// recover measures floor-recover for duration: the shared floor in its own
// process (its CPU is reported in the load generator column), else (c).
func (f *floors) recover(ctx context.Context, warmup, duration time.Duration) (*Result, error) {
	if !f.shared {
		return recoverCeiling(ctx, warmup, duration)
	}
	cmd := exec.CommandContext(ctx, f.bin, "-mode", "recover", "-d", duration.String())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("floor recover: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	// "recover: 14700 ops/s on 2 cores"
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "recover: "); ok {
			num, _, _ := strings.Cut(rest, " ")
			rate, err := strconv.ParseFloat(num, 64)
			if err != nil {
				break
			}
			n := int(rate * duration.Seconds())
			ru := cmd.ProcessState
			return &Result{Name: "floor-recover", Count: n, Sent: n, Elapsed: duration, ClientCPU: ru.UserTime() + ru.SystemTime()}, nil
		}
	}
	return nil, fmt.Errorf("floor recover printed %q", out)
}

// cleanup removes the Redis keys the shared floor-self and floor-execute
// made for the bench keys (their limiter has no prefix: cm:, ch:, cd: and
// the hash tag of the key's id, hex of the first 8 bytes of its SHA-256).
func (f *floors) cleanup(ctx context.Context, sent []benchKey) error {
	if f == nil || !f.shared || len(sent) == 0 {
		return nil
	}
	var keys []string
	for _, k := range sent {
		h := sha256.Sum256([]byte(k.secret))
		tag := "{" + hex.EncodeToString(h[:8]) + "}"
		keys = append(keys, "cm:"+tag, "ch:"+tag, "cd:"+tag)
	}
	return f.rdb.Unlink(ctx, keys...).Err()
}
