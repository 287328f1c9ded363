// Package queuetest is the conformance suite every usage.Queue passes: the memory queue,
// usage/boltqueue and usage/redisqueue run the same table of behaviours, so the recorder can
// rely on them whichever queue it is given.
//
// Call Run from a test of the queue's package:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T) usage.Queue { return usage.NewMemoryQueue(100) })
//	}
//
// Durable queues add WithReopen, so the suite also checks what survives a restart.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/usage"
)

// Option changes what Run checks.
type Option func(*config)

type config struct {
	capacity int
	reopen   func(t *testing.T, q usage.Queue) usage.Queue
	timeout  time.Duration
}

// WithCapacity tells the suite the capacity of the queues open returns, for a queue that
// has no Capacity() int method. Without either, the ErrQueueFull cases are skipped.
func WithCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// WithReopen gives the suite a way to restart a durable queue: reopen closes q (as a
// process that stops would, without acknowledging or releasing what it holds) and returns
// a new queue on the same storage. The suite then checks that every event not acknowledged
// is there again, claimed ones included, and that acknowledged ones are gone.
func WithReopen(reopen func(t *testing.T, q usage.Queue) usage.Queue) Option {
	return func(c *config) { c.reopen = reopen }
}

// WithTimeout bounds each wait of the suite (a concurrent run, a claimed event coming
// back after a reopen); the default is 20 seconds.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Run runs the conformance suite, one subtest per behaviour. open returns a new, empty
// queue each time it is called, with room for at least 10 events (800 for the concurrent
// case, which is skipped below that); the suite closes it at the end of the subtest.
func Run(t *testing.T, open func(t *testing.T) usage.Queue, opts ...Option) {
	t.Helper()
	cfg := config{timeout: 20 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	cases := []struct {
		name string
		run  func(t *testing.T, s *suite)
	}{
		{"Empty", testEmpty},
		{"PutClaimOrder", testPutClaimOrder},
		{"ClaimNothing", testClaimNothing},
		{"RoundTrip", testRoundTrip},
		{"PutCopies", testPutCopies},
		{"ClaimHides", testClaimHides},
		{"Ack", testAck},
		{"Release", testRelease},
		{"Stats", testStats},
		{"Capacity", testCapacity},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
		{"Reopen", testReopen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &suite{cfg: cfg}
			s.q = open(t)
			if s.q == nil {
				t.Fatal("open returned a nil queue")
			}
			t.Cleanup(func() { _ = s.q.Close() })
			c.run(t, s)
		})
	}
}

type suite struct {
	cfg config
	q   usage.Queue
}

// base is the RecordedAt of the first event events makes: events are recorded one
// millisecond apart, oldest first.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// events returns n distinct events whose transaction ids start with prefix.
func events(prefix string, n int) []usage.Event {
	out := make([]usage.Event, n)
	for i := range out {
		at := base.Add(time.Duration(i) * time.Millisecond).UnixMilli()
		out[i] = usage.Event{
			CustomerID:     "cust_" + prefix,
			UsageMeterSlug: "api-calls",
			Amount:         int64(i + 1),
			TransactionID:  fmt.Sprintf("%s-%d", prefix, i),
			UsageDate:      at - 1000,
			RecordedAt:     at,
		}
	}
	return out
}

func (s *suite) put(t *testing.T, evs []usage.Event) {
	t.Helper()
	if err := s.q.Put(t.Context(), evs); err != nil {
		t.Fatalf("Put(%d events): %v", len(evs), err)
	}
}

func (s *suite) claim(t *testing.T, max int) []usage.Claimed {
	t.Helper()
	c, err := s.q.Claim(t.Context(), max)
	if err != nil {
		t.Fatalf("Claim(%d): %v", max, err)
	}
	if len(c) > max && max > 0 {
		t.Fatalf("Claim(%d) returned %d events", max, len(c))
	}
	return c
}

func (s *suite) ack(t *testing.T, ids ...string) {
	t.Helper()
	if err := s.q.Ack(t.Context(), ids); err != nil {
		t.Fatalf("Ack(%v): %v", ids, err)
	}
}

func (s *suite) release(t *testing.T, ids ...string) {
	t.Helper()
	if err := s.q.Release(t.Context(), ids); err != nil {
		t.Fatalf("Release(%v): %v", ids, err)
	}
}

func (s *suite) stats(t *testing.T) usage.QueueStats {
	t.Helper()
	st, err := s.q.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func (s *suite) wantStats(t *testing.T, queued, claimed int, oldest time.Time) {
	t.Helper()
	st := s.stats(t)
	if st.Queued != queued || st.Claimed != claimed || !st.OldestRecordedAt.Equal(oldest) {
		t.Errorf("Stats = {Queued %d, Claimed %d, OldestRecordedAt %v}, want {%d, %d, %v}",
			st.Queued, st.Claimed, st.OldestRecordedAt, queued, claimed, oldest)
	}
}

// normal is e as a queue that stores bytes gives it back: what every queue must return.
func normal(t *testing.T, e usage.Event) usage.Event {
	t.Helper()
	b, err := usage.EncodeEvent(e)
	if err != nil {
		t.Fatalf("EncodeEvent: %v", err)
	}
	out, err := usage.DecodeEvent(b)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	return out
}

func txIDs(c []usage.Claimed) []string {
	out := make([]string, len(c))
	for i := range c {
		out[i] = c[i].Event.TransactionID
	}
	return out
}

func ids(c []usage.Claimed) []string {
	out := make([]string, len(c))
	for i := range c {
		out[i] = c[i].ID
	}
	return out
}

func wantTxIDs(t *testing.T, what string, got []usage.Claimed, want ...string) {
	t.Helper()
	if g := txIDs(got); !slices.Equal(g, want) {
		t.Errorf("%s claimed %v, want %v", what, g, want)
	}
}

// wantSameTxIDs is wantTxIDs in any order.
func wantSameTxIDs(t *testing.T, what string, got []usage.Claimed, want ...string) {
	t.Helper()
	g := slices.Sorted(slices.Values(txIDs(got)))
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		t.Errorf("%s claimed %v, want %v in any order", what, g, w)
	}
}

func testEmpty(t *testing.T, s *suite) {
	if c := s.claim(t, 10); len(c) != 0 {
		t.Errorf("an empty queue's Claim returned %d events", len(c))
	}
	s.wantStats(t, 0, 0, time.Time{})
	if err := s.q.Put(t.Context(), nil); err != nil {
		t.Errorf("Put(nil) = %v, want nil", err)
	}
	s.wantStats(t, 0, 0, time.Time{})
	s.ack(t)
	s.release(t)
}

// Events are claimed oldest first, across Puts, at most max at a time.
func testPutClaimOrder(t *testing.T, s *suite) {
	evs := events("o", 5)
	s.put(t, evs[:3])
	s.put(t, evs[3:])
	first := s.claim(t, 2)
	wantTxIDs(t, "Claim(2)", first, "o-0", "o-1")
	rest := s.claim(t, 10)
	wantTxIDs(t, "Claim(10)", rest, "o-2", "o-3", "o-4")
	if c := s.claim(t, 10); len(c) != 0 {
		t.Errorf("Claim after everything was claimed returned %v", txIDs(c))
	}
	all := append(first, rest...)
	seen := map[string]bool{}
	for _, c := range all {
		if c.ID == "" || seen[c.ID] {
			t.Errorf("claimed ids %v: each must be non-empty and distinct", ids(all))
			break
		}
		seen[c.ID] = true
	}
}

// Claim with max <= 0 claims nothing.
func testClaimNothing(t *testing.T, s *suite) {
	s.put(t, events("n", 2))
	for _, max := range []int{0, -1} {
		if c := s.claim(t, max); len(c) != 0 {
			t.Errorf("Claim(%d) returned %d events", max, len(c))
		}
	}
	s.wantStats(t, 2, 0, base)
	wantTxIDs(t, "Claim(10)", s.claim(t, 10), "n-0", "n-1")
}

// Every field of an event comes back as EncodeEvent and DecodeEvent give it.
func testRoundTrip(t *testing.T, s *suite) {
	evs := []usage.Event{{
		CustomerID: "user_ü 1", UsageMeterID: "meter_1", SubscriptionID: "sub_1",
		Amount: 1<<53 - 1, TransactionID: "tx \"quoted\" ✓",
		Properties: map[string]any{
			"model": "small", "tokens": 12.5, "ok": true, "none": nil,
			"tags": []any{"a", 2.0}, "nested": map[string]any{"k": "v"},
		},
		UsageDate: 1, RecordedAt: base.UnixMilli(),
	}, {
		CustomerID: "user_2", PriceSlug: "per-call", Amount: 1, TransactionID: "t2",
		UsageDate: base.UnixMilli(), RecordedAt: base.UnixMilli() + 1,
	}, {
		CustomerID: "user_3", PriceID: "price_1", Amount: 2, TransactionID: "t3",
		Properties: map[string]any{}, RecordedAt: base.UnixMilli() + 2,
	}}
	s.put(t, evs)
	got := s.claim(t, 10)
	if len(got) != len(evs) {
		t.Fatalf("Claim returned %d events, want %d", len(got), len(evs))
	}
	for i, e := range evs {
		want, g := normal(t, e), normal(t, got[i].Event)
		wb, _ := usage.EncodeEvent(want)
		gb, _ := usage.EncodeEvent(g)
		if string(wb) != string(gb) {
			t.Errorf("event %d came back as %s, want %s", i, gb, wb)
		}
	}
}

// A queue keeps its own copy of what was Put: the caller may reuse its slice and maps.
func testPutCopies(t *testing.T, s *suite) {
	evs := events("c", 2)
	evs[0].Properties = map[string]any{"model": "small"}
	s.put(t, evs)
	evs[0].Properties["model"] = "changed"
	evs[1].Amount = 99
	got := s.claim(t, 10)
	if len(got) != 2 {
		t.Fatalf("Claim returned %d events, want 2", len(got))
	}
	if m := got[0].Event.Properties["model"]; m != "small" {
		t.Errorf("Properties[model] = %v after the caller changed its map, want small", m)
	}
	if a := got[1].Event.Amount; a != 2 {
		t.Errorf("Amount = %d after the caller changed its slice, want 2", a)
	}
}

// Claimed events are hidden from other Claims until acknowledged or released.
func testClaimHides(t *testing.T, s *suite) {
	s.put(t, events("h", 4))
	a := s.claim(t, 2)
	b := s.claim(t, 10)
	wantTxIDs(t, "first Claim", a, "h-0", "h-1")
	wantTxIDs(t, "second Claim", b, "h-2", "h-3")
	if c := s.claim(t, 10); len(c) != 0 {
		t.Errorf("a third Claim returned %v", txIDs(c))
	}
	s.wantStats(t, 4, 4, base)
}

// Ack removes events; repeating it, or giving unknown ids, is harmless; a Release after an
// Ack does not bring the event back.
func testAck(t *testing.T, s *suite) {
	s.put(t, events("a", 3))
	c := s.claim(t, 3)
	if len(c) != 3 {
		t.Fatalf("Claim returned %d events, want 3", len(c))
	}
	s.ack(t, c[0].ID, c[1].ID)
	s.wantStats(t, 1, 1, base.Add(2*time.Millisecond))
	s.ack(t, c[0].ID, c[1].ID)
	s.ack(t, "no-such-id", "", "0-0")
	s.wantStats(t, 1, 1, base.Add(2*time.Millisecond))
	s.release(t, c[0].ID)
	if got := s.claim(t, 10); len(got) != 0 {
		t.Errorf("Release after Ack brought back %v", txIDs(got))
	}
	s.ack(t, c[2].ID)
	s.wantStats(t, 0, 0, time.Time{})
}

// Release gives events back to be claimed again, once however often it is repeated;
// unknown ids are ignored.
func testRelease(t *testing.T, s *suite) {
	s.put(t, events("r", 3))
	c := s.claim(t, 3)
	if len(c) != 3 {
		t.Fatalf("Claim returned %d events, want 3", len(c))
	}
	s.release(t, c[1].ID)
	s.release(t, c[1].ID) // twice: still one event to claim
	s.release(t, "no-such-id", "")
	s.wantStats(t, 3, 2, base)
	again := s.claim(t, 10)
	wantTxIDs(t, "Claim after Release", again, "r-1")
	s.release(t, c[0].ID, c[2].ID, again[0].ID)
	s.wantStats(t, 3, 0, base)
	all := s.claim(t, 10)
	wantSameTxIDs(t, "Claim after releasing all", all, "r-0", "r-1", "r-2")
	s.ack(t, ids(all)...)
	s.wantStats(t, 0, 0, time.Time{})
}

// Stats counts claimed events as queued, and OldestRecordedAt follows the oldest event
// still in the queue, claimed or not.
func testStats(t *testing.T, s *suite) {
	s.put(t, events("s", 3))
	s.wantStats(t, 3, 0, base)
	c := s.claim(t, 1)
	s.wantStats(t, 3, 1, base)
	s.ack(t, ids(c)...)
	s.wantStats(t, 2, 0, base.Add(time.Millisecond))
	c = s.claim(t, 2)
	s.release(t, c[1].ID)
	s.wantStats(t, 2, 1, base.Add(time.Millisecond))
	s.ack(t, c[0].ID)
	s.wantStats(t, 1, 0, base.Add(2*time.Millisecond))
}

// A Put that does not fit adds nothing and returns ErrQueueFull; claimed events take room
// until they are acknowledged.
func testCapacity(t *testing.T, s *suite) {
	n := s.cfg.capacity
	if c, ok := s.q.(interface{ Capacity() int }); ok && n == 0 {
		n = c.Capacity()
	}
	if n <= 0 {
		t.Skip("the queue has no capacity (no Capacity method, no WithCapacity)")
	}
	ctx := t.Context()
	if err := s.q.Put(ctx, events("big", n+1)); !errors.Is(err, usage.ErrQueueFull) {
		t.Errorf("Put(capacity+1 events) into an empty queue = %v, want ErrQueueFull", err)
	}
	s.wantStats(t, 0, 0, time.Time{})
	fill := events("f", n)
	for i := 0; i < n-1; i += 500 {
		s.put(t, fill[i:min(i+500, n-1)])
	}
	if err := s.q.Put(ctx, events("x", 2)); !errors.Is(err, usage.ErrQueueFull) {
		t.Errorf("Put(2) with room for 1 = %v, want ErrQueueFull", err)
	}
	oldest := base
	if n == 1 {
		oldest = time.Time{}
	}
	s.wantStats(t, n-1, 0, oldest)
	s.put(t, fill[n-1:])
	if err := s.q.Put(ctx, events("y", 1)); !errors.Is(err, usage.ErrQueueFull) {
		t.Errorf("Put(1) into a full queue = %v, want ErrQueueFull", err)
	}
	c := s.claim(t, 1)
	if err := s.q.Put(ctx, events("z", 1)); !errors.Is(err, usage.ErrQueueFull) {
		t.Errorf("Put(1) with a claimed event = %v, want ErrQueueFull", err)
	}
	s.ack(t, ids(c)...)
	s.put(t, events("w", 1))
	oldest = base.Add(time.Millisecond) // f-1
	if n == 1 {
		oldest = base // w-0
	}
	s.wantStats(t, n, 0, oldest)
	got := s.claim(t, n+1)
	if len(got) != n || got[len(got)-1].Event.TransactionID != "w-0" {
		t.Errorf("Claim(all) returned %d events ending with %v, want %d ending with w-0",
			len(got), txIDs(got[max(0, len(got)-1):]), n)
	}
}

// Concurrent Puts, Claims, Releases and Acks: every event is acknowledged exactly once
// and never held by two claimers at a time.
func testConcurrent(t *testing.T, s *suite) {
	const putters, perPutter, claimers = 4, 200, 4
	total := putters * perPutter
	if s.cfg.capacity > 0 && s.cfg.capacity < total {
		t.Skipf("capacity %d is below the %d events of the run", s.cfg.capacity, total)
	}
	if c, ok := s.q.(interface{ Capacity() int }); ok && c.Capacity() < total {
		t.Skipf("capacity %d is below the %d events of the run", c.Capacity(), total)
	}
	ctx, cancel := context.WithTimeout(t.Context(), s.cfg.timeout)
	defer cancel()

	var (
		mu     sync.Mutex
		held   = map[string]int{} // transaction id -> claimer
		acked  = map[string]int{}
		errs   []string
		putWG  sync.WaitGroup
		workWG sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for p := range putters {
		putWG.Go(func() {
			evs := events(fmt.Sprintf("p%d", p), perPutter)
			for i := 0; i < len(evs); {
				n := min(1+i%5, len(evs)-i)
				if err := s.q.Put(ctx, evs[i:i+n]); err != nil {
					fail("putter %d: Put: %v", p, err)
					return
				}
				i += n
			}
		})
	}
	putsDone := make(chan struct{})
	go func() { putWG.Wait(); close(putsDone) }()

	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == total || len(errs) > 0
	}
	for w := range claimers {
		workWG.Go(func() {
			round := 0
			for !done() {
				if ctx.Err() != nil {
					fail("claimer %d: %v before every event was acknowledged", w, ctx.Err())
					return
				}
				c, err := s.q.Claim(ctx, 7)
				if err != nil {
					fail("claimer %d: Claim: %v", w, err)
					return
				}
				if len(c) == 0 {
					runtime.Gosched()
					continue
				}
				round++
				mu.Lock()
				for _, e := range c {
					tx := e.Event.TransactionID
					if other, ok := held[tx]; ok {
						errs = append(errs, fmt.Sprintf("%s claimed by %d while %d held it", tx, w, other))
					}
					held[tx] = w
				}
				// Every third round gives its last event back, to be claimed again.
				keep := c
				var back []usage.Claimed
				if round%3 == 0 {
					keep, back = c[:len(c)-1], c[len(c)-1:]
				}
				for _, e := range c {
					delete(held, e.Event.TransactionID)
				}
				for _, e := range keep {
					acked[e.Event.TransactionID]++
				}
				mu.Unlock()
				if err := s.q.Release(ctx, ids(back)); err != nil {
					fail("claimer %d: Release: %v", w, err)
					return
				}
				if err := s.q.Ack(ctx, ids(keep)); err != nil {
					fail("claimer %d: Ack: %v", w, err)
					return
				}
			}
		})
	}
	workWG.Wait()
	<-putsDone
	for _, e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		return
	}
	for p := range putters {
		for i := range perPutter {
			tx := fmt.Sprintf("p%d-%d", p, i)
			if acked[tx] != 1 {
				t.Errorf("%s acknowledged %d times, want 1", tx, acked[tx])
			}
		}
	}
	if c := s.claim(t, 10); len(c) != 0 {
		t.Errorf("Claim after the run returned %v", txIDs(c))
	}
	s.wantStats(t, 0, 0, time.Time{})
}

// After Close every method returns ErrClosed, and a second Close does not panic.
func testClosed(t *testing.T, s *suite) {
	s.put(t, events("z", 2))
	c := s.claim(t, 1)
	if err := s.q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	_, claimErr := s.q.Claim(ctx, 1)
	_, statsErr := s.q.Stats(ctx)
	for name, err := range map[string]error{
		"Put":     s.q.Put(ctx, events("y", 1)),
		"Claim":   claimErr,
		"Ack":     s.q.Ack(ctx, ids(c)),
		"Release": s.q.Release(ctx, ids(c)),
		"Stats":   statsErr,
	} {
		if !errors.Is(err, usage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	_ = s.q.Close()
}

// A durable queue, reopened, holds every event not acknowledged (claimed ones too: their
// holder is gone) and none that was.
func testReopen(t *testing.T, s *suite) {
	if s.cfg.reopen == nil {
		t.Skip("no WithReopen: the queue is not durable")
	}
	evs := events("d", 6)
	evs[4].Properties = map[string]any{"model": "small", "n": 3.0}
	s.put(t, evs)
	c := s.claim(t, 4)
	if len(c) != 4 {
		t.Fatalf("Claim returned %d events, want 4", len(c))
	}
	s.ack(t, c[0].ID, c[1].ID)
	s.release(t, c[2].ID)
	// c[3] stays claimed: the process holding it stops.
	s.q = s.cfg.reopen(t, s.q)
	if s.q == nil {
		t.Fatal("reopen returned a nil queue")
	}
	if st := s.stats(t); st.Queued != 4 {
		t.Errorf("Stats.Queued after reopen = %d, want 4", st.Queued)
	}
	ctx, cancel := context.WithTimeout(t.Context(), s.cfg.timeout)
	defer cancel()
	var got []usage.Claimed
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(got) < 4 {
		c, err := s.q.Claim(ctx, 10)
		if err != nil {
			t.Fatalf("Claim after reopen: %v", err)
		}
		got = append(got, c...)
		if len(got) >= 4 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after reopen, claimed %v by the deadline, want d-2..d-5", txIDs(got))
		case <-tick.C:
		}
	}
	wantSameTxIDs(t, "Claim after reopen", got, "d-2", "d-3", "d-4", "d-5")
	for _, g := range got {
		i := slices.IndexFunc(evs, func(e usage.Event) bool { return e.TransactionID == g.Event.TransactionID })
		if i < 0 {
			continue
		}
		wb, _ := usage.EncodeEvent(normal(t, evs[i]))
		gb, _ := usage.EncodeEvent(normal(t, g.Event))
		if string(wb) != string(gb) {
			t.Errorf("after reopen, event %d came back as %s, want %s", i, gb, wb)
		}
	}
	s.ack(t, ids(got)...)
	s.wantStats(t, 0, 0, time.Time{})
}
