package webhook

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// ClaimStatus is what [Store.Claim] found for an id.
type ClaimStatus int

const (
	// Claimed: the id was new; the caller now holds it and must Complete or
	// Release it.
	Claimed ClaimStatus = iota + 1
	// InFlight: another caller holds the id and has not finished.
	InFlight
	// Completed: the id was handled already.
	Completed
)

// Store remembers the delivery ids a [Handler] has handled, so each is
// handled once although Flowglad delivers at least once. It is a small
// state machine per id: unknown → claimed (Claim) → completed (Complete),
// or back to unknown (Release) when handling failed, so the redelivery is
// handled.
//
// Implementations must be safe for concurrent use, and Claim must be
// atomic: of concurrent claims of one unknown id exactly one gets Claimed.
// The default is an in-process [MemoryStore]; several instances behind a
// load balancer need a shared one (Redis SET NX, a unique database row).
// A shared store should let a claim expire (after well more than the
// handler's timeout), or an instance that dies mid-event blocks the id
// until it does; completed ids should be kept at least as long as Flowglad
// may redeliver (Svix's retry schedule spans about a day).
//
// An error from any method makes the handler answer 500, so Flowglad
// retries; Complete's error is only logged, as the event was handled.
type Store interface {
	// Claim reserves id for the caller if nobody has claimed or completed
	// it, and reports what it found.
	Claim(ctx context.Context, id string) (ClaimStatus, error)
	// Complete marks the claimed id as handled for good.
	Complete(ctx context.Context, id string) error
	// Release forgets the claim on id, so a later delivery is handled.
	Release(ctx context.Context, id string) error
}

// Defaults of [NewMemoryStore].
const (
	DefaultStoreSize = 10_000
	DefaultStoreTTL  = 48 * time.Hour
)

// MemoryStore is the in-process [Store]: completed ids are remembered for a
// TTL, and at most a fixed number of them, the oldest forgotten first.
// Claims in flight are not counted: there are as many as deliveries being
// handled at once, and forgetting one would let its id run twice.
//
// Its methods never fail. It is safe for concurrent use, and one
// MemoryStore may be shared by the handlers of several endpoints (each
// Flowglad message carries one event type, so their ids do not collide).
type MemoryStore struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	inFlight map[string]struct{}
	done     map[string]*list.Element // of doneID
	order    *list.List               // completed ids, oldest first
}

type doneID struct {
	id      string
	expires time.Time
}

// NewMemoryStore returns a MemoryStore that remembers up to size completed
// ids (default [DefaultStoreSize] when size <= 0) for ttl each (default
// [DefaultStoreTTL] when ttl <= 0).
func NewMemoryStore(size int, ttl time.Duration) *MemoryStore {
	if size <= 0 {
		size = DefaultStoreSize
	}
	if ttl <= 0 {
		ttl = DefaultStoreTTL
	}
	return &MemoryStore{
		max: size, ttl: ttl, now: time.Now,
		inFlight: map[string]struct{}{},
		done:     map[string]*list.Element{},
		order:    list.New(),
	}
}

// Claim implements [Store].
func (s *MemoryStore) Claim(_ context.Context, id string) (ClaimStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if _, ok := s.done[id]; ok {
		return Completed, nil
	}
	if _, ok := s.inFlight[id]; ok {
		return InFlight, nil
	}
	s.inFlight[id] = struct{}{}
	return Claimed, nil
}

// Complete implements [Store].
func (s *MemoryStore) Complete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inFlight, id)
	if _, ok := s.done[id]; ok {
		return nil
	}
	// Completion times only grow and the TTL is fixed, so the list stays
	// in expiry order and both evictions take from its front.
	s.done[id] = s.order.PushBack(doneID{id: id, expires: s.now().Add(s.ttl)})
	for s.order.Len() > s.max {
		s.removeLocked(s.order.Front())
	}
	return nil
}

// Release implements [Store].
func (s *MemoryStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inFlight, id)
	return nil
}

func (s *MemoryStore) expireLocked() {
	now := s.now()
	for e := s.order.Front(); e != nil && !now.Before(e.Value.(doneID).expires); e = s.order.Front() {
		s.removeLocked(e)
	}
}

func (s *MemoryStore) removeLocked(e *list.Element) {
	delete(s.done, e.Value.(doneID).id)
	s.order.Remove(e)
}
