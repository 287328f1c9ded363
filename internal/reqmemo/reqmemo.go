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
	mu    sync.Mutex
	m     map[string]any
	notes map[Note]any
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

// A Note is a package's own record about a key for the rest of the request (the usage
// package notes what was pending when the request's billing was read). Notes live beside
// the memo's values and never collide with them, whatever the key.
type Note struct {
	// Kind names what is noted; Key is the key it is about (an external id).
	Kind, Key string
}

// GetNote returns the value noted under n.
func (m *Memo) GetNote(n Note) (any, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.notes[n]
	return v, ok
}

// SetNote notes v under n.
func (m *Memo) SetNote(n Note, v any) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notes == nil {
		m.notes = map[Note]any{}
	}
	m.notes[n] = v
}

// DeleteNote forgets what is noted under n.
func (m *Memo) DeleteNote(n Note) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.notes, n)
}
