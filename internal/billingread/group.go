package billingread

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// maxFinished bounds how many finished runs a Group remembers. Forgetting one costs
// at most a redundant run (a customer creation Flowglad refuses as a duplicate), never a
// wrong answer.
const maxFinished = 4096

// Group shares one run of an operation among the callers that ask for it, by key,
// while it runs. The operation runs on a context of its own, detached from the caller that
// started it, so one caller giving up does not fail the others that joined.
//
// It also remembers, for a while, which keys had a run succeed and when (on a clock of its
// own, read with Mark), so a caller whose evidence predates a run can tell that the run
// made it stale: a "not found" answered before a creation finished says nothing about
// after.
type Group struct {
	mu      sync.Mutex
	flights map[string]*flightCall
	clock   uint64
	// finished holds the clock at which each remembered key's last run succeeded; order
	// lists them oldest first, to forget the oldest beyond maxFinished.
	finished map[string]uint64
	order    []finishedRun
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

type finishedRun struct {
	key string
	at  uint64
}

// Do runs fn once for every caller asking for key while it runs, and returns its result,
// or the caller's context error if the caller stops waiting first. When no run is in
// progress but one succeeded after mark was taken, fn is not run again and do returns
// (nil, false, nil): the caller's reason to run it predates that run. A panic in fn is
// returned as a *PanicError.
func (g *Group) Do(ctx context.Context, key string, mark uint64, fn func(context.Context) (any, error)) (val any, ran bool, err error) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = map[string]*flightCall{}
	}
	c, ok := g.flights[key]
	if !ok {
		if at, done := g.finished[key]; done && at > mark {
			g.mu.Unlock()
			return nil, false, nil
		}
		c = &flightCall{done: make(chan struct{})}
		g.flights[key] = c
		go func() {
			c.val, c.err = callSafely(context.WithoutCancel(ctx), fn)
			g.mu.Lock()
			delete(g.flights, key)
			if c.err == nil {
				g.rememberLocked(key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, true, c.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// rememberLocked records that key's run succeeded now.
func (g *Group) rememberLocked(key string) {
	g.clock++
	if g.finished == nil {
		g.finished = map[string]uint64{}
	}
	g.finished[key] = g.clock
	g.order = append(g.order, finishedRun{key, g.clock})
	for len(g.order) > maxFinished {
		old := g.order[0]
		g.order = g.order[1:]
		if g.finished[old.key] == old.at {
			delete(g.finished, old.key)
		}
	}
}

// Mark returns the group's clock, to be passed later to Do or SucceededSince.
func (g *Group) Mark() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.clock
}

// SucceededSince reports whether a run for key succeeded after mark was taken. A run in
// progress is waited for (the caller's evidence may predate it), and counts if it succeeds.
func (g *Group) SucceededSince(ctx context.Context, key string, mark uint64) bool {
	g.mu.Lock()
	c := g.flights[key]
	at, ok := g.finished[key]
	g.mu.Unlock()
	if c != nil {
		select {
		case <-c.done:
			return c.err == nil
		case <-ctx.Done():
			return false
		}
	}
	return ok && at > mark
}

// callSafely runs fn, turning a panic into a *PanicError: fn runs on a goroutine of the
// group's, where a panic in code it calls (a customer lookup) would end the process.
func callSafely(ctx context.Context, fn func(context.Context) (any, error)) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// PanicError is a panic recovered from a Group's run. Its text names the panic value's
// type only: the value may hold whatever the panicking code had at hand (an email).
type PanicError struct {
	// Value is what was passed to panic; Stack is where, for the log.
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("flowglad: recovered panic of type %T", e.Value)
}
