package flowglad

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// StaleBillingCache is a BillingCache that also keeps each customer's last billing read
// successfully, for Config.StaleIfError: with it, every instance sharing the cache can serve
// what any of them last read when Flowglad cannot be read. cache/rediscache implements it.
// Without it, last-known billing is kept in process.
//
// Unlike the billing cache, last-known billing is not forgotten by InvalidateBilling: it is
// what was last known to be true, served only when nothing newer can be had.
type StaleBillingCache interface {
	BillingCache
	// SetLastKnown stores body, read from Flowglad at readAt, as key's last-known billing
	// for ttl, replacing an older one (one read after it is kept instead).
	SetLastKnown(ctx context.Context, key string, body []byte, readAt time.Time, ttl time.Duration) error
	// GetLastKnown returns key's last-known billing and when it was read, or found false.
	GetLastKnown(ctx context.Context, key string) (body []byte, readAt time.Time, found bool, err error)
}

// staleNoteKey is the context key of a route request's staleNote.
type staleNoteKey struct{}

// staleNote collects the age of the oldest last-known billing served to one route request,
// for its Age header. Only requests to a handler with Config.StaleIfError carry one.
type staleNote struct {
	mu     sync.Mutex
	served bool
	age    time.Duration
}

// noteStale records on ctx's staleNote, if any, that billing read at readAt was served
// stale.
func noteStale(ctx context.Context, age time.Duration) {
	n, ok := ctx.Value(staleNoteKey{}).(*staleNote)
	if !ok {
		return
	}
	n.mu.Lock()
	if !n.served || age > n.age {
		n.served, n.age = true, age
	}
	n.mu.Unlock()
}

// ageHeader returns the Age header of the answer: whole seconds since the oldest stale
// billing served was read, and whether any was.
func (n *staleNote) ageHeader() (string, bool) {
	if n == nil {
		return "", false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.served {
		return "", false
	}
	return strconv.FormatInt(int64(max(n.age, 0)/time.Second), 10), true
}
