package flowglad

import (
	"context"
	"sync"
)

// flightGroup shares one run of an operation among the callers that ask for it, by key,
// while it runs. The operation runs on a context of its own, detached from the caller that
// started it, so one caller giving up does not fail the others that joined.
type flightGroup struct {
	mu      sync.Mutex
	flights map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

// do runs fn once for every caller asking for key while it runs, and returns its result,
// or the caller's context error if the caller stops waiting first.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = map[string]*flightCall{}
	}
	c, ok := g.flights[key]
	if !ok {
		c = &flightCall{done: make(chan struct{})}
		g.flights[key] = c
		go func() {
			c.val, c.err = fn(context.WithoutCancel(ctx))
			g.mu.Lock()
			delete(g.flights, key)
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
