package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// watching runs "stxgatectl orders watch" args in the background; lines
// gives its stdout a line at a time, stop interrupts it and returns its code.
func (c *cli) watching(args ...string) (lines <-chan string, stop func() int) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	out := make(chan string, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out <- sc.Text()
		}
	}()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"orders", "watch"}, args...), func(k string) string { return c.env[k] },
			strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	return out, func() int { cancel(); return <-code }
}

func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("watch ended")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
	}
	return ""
}

// orders watch prints each change as it happens, one line each (or one JSON
// document per line), replays after --after, filters by --owner, and exits
// 130 when interrupted.
func TestOrdersWatch(t *testing.T) {
	g := testgateway.Start(t)
	k := testgateway.Key(t, testgateway.PrivA)
	addr := k.Address(stacks.Mainnet).String()
	c := &cli{t: t, env: map[string]string{"STXGATE_URL": g.URL, "STXGATE_PRIVATE_KEY": testgateway.PrivA}}

	all, stopAll := c.watching()
	for g.App.Events.Subscribers() == 0 {
		time.Sleep(5 * time.Millisecond) // polling a condition: the stream is registered
	}
	// Event ids are strictly increasing, not consecutive (docs/decisions.md,
	// "Order event ids"): a line is "<id> <event> <uuid> <status> <owner> <txid>".
	c.ok(append([]string{"orders", "create", "--uuid", "cli-w1"}, orderFlags...)...)
	created := eventLine(t, nextLine(t, all), "order.created cli-w1 open "+addr+" -")
	c.ok("orders", "cancel", "cli-w1")
	cancelled := eventLine(t, nextLine(t, all), "order.cancelled cli-w1 cancelled "+addr+" -")
	if cancelled <= created {
		t.Fatalf("event ids %d then %d, want increasing", created, cancelled)
	}
	if code := stopAll(); code != exitInterrupted {
		t.Fatalf("exit %d, want %d", code, exitInterrupted)
	}

	replay, stopReplay := c.watching("--owner", addr, "--after", strconv.FormatInt(created, 10), "--json")
	var doc struct {
		ID    int64  `json:"id"`
		Event string `json:"event"`
		Order struct {
			UUID, Status string
		} `json:"order"`
	}
	if err := json.Unmarshal([]byte(nextLine(t, replay)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != cancelled || doc.Event != "order.cancelled" || doc.Order.UUID != "cli-w1" || doc.Order.Status != "cancelled" {
		t.Fatalf("json line %+v", doc)
	}
	stopReplay()

	r := c.fails(exitAPI, "orders", "watch", "--owner", "nobody")
	if !strings.Contains(r.stderr, "owner is not a valid Stacks address of this network") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// eventLine checks a watch line is "<id> " then want, and returns the id.
func eventLine(t *testing.T, line, want string) int64 {
	t.Helper()
	id, rest, _ := strings.Cut(line, " ")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || rest != want {
		t.Fatalf("line %q, want a positive event id then %q", line, want)
	}
	return n
}
