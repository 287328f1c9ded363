package flowglad

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
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

// lastKnownStore keeps each customer's last billing read, for Config.StaleIfError.
type lastKnownStore interface {
	get(ctx context.Context, key string) (*billingEntry, error) // nil, nil: none
	set(ctx context.Context, key string, e *billingEntry, ttl time.Duration) error
}

// localLastKnown keeps last-known billing in process: a localStore whose entries expire
// when they become too old to serve.
type localLastKnown struct{ store *localStore }

func (l localLastKnown) get(ctx context.Context, key string) (*billingEntry, error) {
	return l.store.get(ctx, key)
}

func (l localLastKnown) set(ctx context.Context, key string, e *billingEntry, ttl time.Duration) error {
	return l.store.set(ctx, key, e, ttl)
}

// sharedLastKnown keeps last-known billing in a StaleBillingCache, each call bounded.
type sharedLastKnown struct {
	cache   StaleBillingCache
	timeout time.Duration
}

func (s sharedLastKnown) get(ctx context.Context, key string) (*billingEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, readAt, ok, err := s.cache.GetLastKnown(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	parsed, err := flowgladapi.ParseBillingBody(body)
	if err != nil {
		return nil, nil // not what we stored: none
	}
	e := newBillingEntry(parsed)
	e.readAt = readAt
	return e, nil
}

func (s sharedLastKnown) set(ctx context.Context, key string, e *billingEntry, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.cache.SetLastKnown(ctx, key, e.raw, e.readAt, ttl)
}

// keepLastKnown stores a billing just read as the customer's last known, when
// Config.StaleIfError asks for it. A failure only means an outage cannot be bridged with it.
func (l *billingLoader) keepLastKnown(ctx context.Context, key string, e *billingEntry) {
	if l.lastKnown == nil {
		return
	}
	if err := l.lastKnown.set(context.WithoutCancel(ctx), key, e, l.staleFor); err != nil {
		l.warn(ctx, "keeping last-known billing failed", err)
	}
}

// lastKnownFor returns what to serve instead of a failed billing read: the customer's
// last-known billing, marked stale, when Config.StaleIfError is on, the failure is
// Flowglad's (isOutage) and that billing is recent enough; else nil.
func (l *billingLoader) lastKnownFor(ctx context.Context, key string, err error) *billingEntry {
	if l.lastKnown == nil || !isOutage(err) {
		return nil
	}
	e, getErr := l.lastKnown.get(ctx, key)
	if getErr != nil {
		l.warn(ctx, "reading last-known billing failed", getErr)
		return nil
	}
	if e == nil {
		return nil
	}
	age := l.now().Sub(e.readAt)
	if e.readAt.IsZero() || age > l.staleFor {
		return nil
	}
	l.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: billing unavailable; serving last-known billing (StaleIfError)",
		slog.String("customer", key), slog.Duration("age", age), slog.String("error", err.Error()))
	// A fresh entry, so that what is decoded of it says it is stale.
	stale := newBillingEntry(e.body)
	stale.readAt, stale.stale = e.readAt, true
	return stale
}

// isOutage reports whether a billing read failed for Flowglad's reasons, which last-known
// billing may bridge: a 5xx, 408 or 429, a 401 of a key that has worked (rate limiting),
// the client's timeout, no answer at all, or a garbled one. A refusal of the request or of
// the API key is not an outage.
func isOutage(err error) bool {
	var api *flowgladapi.Error
	if errors.As(err, &api) {
		return api.StatusCode >= 500 || api.StatusCode == http.StatusRequestTimeout || api.RateLimited()
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, flowgladapi.ErrUnavailable) ||
		errors.Is(err, flowgladapi.ErrInvalidResponse)
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
