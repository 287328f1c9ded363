// Package reqmemo keeps what one request has already read, so the steps of that request
// (the middleware that gates it, the handler, the meter that records its usage) read a
// customer's billing from Flowglad once, not once each. The root package reads and writes
// the memo; the middleware package puts one in the request's context.
package reqmemo

import (
	"context"
	"sync"
)

type key struct{}

// Memo maps keys to what was read for them during one request. It is safe for concurrent
// use.
type Memo struct {
	mu sync.Mutex
	m  map[string]any
}

// With returns ctx carrying a memo: the one ctx already has, else a new one.
func With(ctx context.Context) context.Context {
	if From(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, key{}, &Memo{m: map[string]any{}})
}

// From returns ctx's memo, or nil.
func From(ctx context.Context) *Memo {
	m, _ := ctx.Value(key{}).(*Memo)
	return m
}

// Get returns what was kept for k. A nil memo holds nothing.
func (m *Memo) Get(k string) (any, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	return v, ok
}

// Set keeps v for k. A nil memo keeps nothing.
func (m *Memo) Set(k string, v any) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k] = v
}

// Delete forgets k.
func (m *Memo) Delete(k string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
}
