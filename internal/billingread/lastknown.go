package billingread

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// LastKnownCache is a Cache that also keeps each key's last billing read successfully, with
// the method set and contract of flowglad.StaleBillingCache.
type LastKnownCache interface {
	Cache
	SetLastKnown(ctx context.Context, key string, body []byte, readAt time.Time, ttl time.Duration) error
	GetLastKnown(ctx context.Context, key string) (body []byte, readAt time.Time, found bool, err error)
}

// LastKnownStore keeps each key's last billing read, to serve through an outage
// (Config.StaleFor): NewLocalLastKnown in process, NewSharedLastKnown in a LastKnownCache.
type LastKnownStore[E Holder] interface {
	getLastKnown(ctx context.Context, key string) (E, bool, error) // false, nil: none
	setLastKnown(ctx context.Context, key string, e E, ttl time.Duration) error
}

// localLastKnown keeps last-known billing in process: a localStore whose entries expire
// when they become too old to serve.
type localLastKnown[E Holder] struct{ store *localStore[E] }

// NewLocalLastKnown returns an in-process LastKnownStore bounded as NewLocalStore is.
func NewLocalLastKnown[E Holder](maxBytes int64, now func() time.Time) LastKnownStore[E] {
	return localLastKnown[E]{newLocalStore[E](maxBytes, now)}
}

func (l localLastKnown[E]) getLastKnown(ctx context.Context, key string) (E, bool, error) {
	return l.store.get(ctx, key)
}

func (l localLastKnown[E]) setLastKnown(ctx context.Context, key string, e E, ttl time.Duration) error {
	return l.store.set(ctx, key, e, ttl)
}

// sharedLastKnown keeps last-known billing in a LastKnownCache, each call bounded.
type sharedLastKnown[E Holder] struct {
	cache    LastKnownCache
	timeout  time.Duration
	newEntry func(*flowgladapi.BillingBody) E
}

// NewSharedLastKnown returns a LastKnownStore in cache, each call bounded by timeout
// (DefaultCacheTimeout when not positive), making the entries of what it finds with
// newEntry.
func NewSharedLastKnown[E Holder](cache LastKnownCache, timeout time.Duration, newEntry func(*flowgladapi.BillingBody) E) LastKnownStore[E] {
	if timeout <= 0 {
		timeout = DefaultCacheTimeout
	}
	return sharedLastKnown[E]{cache: cache, timeout: timeout, newEntry: newEntry}
}

func (s sharedLastKnown[E]) getLastKnown(ctx context.Context, key string) (E, bool, error) {
	var zero E
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, readAt, ok, err := s.cache.GetLastKnown(ctx, key)
	if err != nil || !ok {
		return zero, false, err
	}
	parsed, err := flowgladapi.ParseBillingBody(body)
	if err != nil {
		return zero, false, nil // not what we stored: none
	}
	e := s.newEntry(parsed)
	e.BillingEntry().readAt = readAt
	return e, true, nil
}

func (s sharedLastKnown[E]) setLastKnown(ctx context.Context, key string, e E, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	be := e.BillingEntry()
	return s.cache.SetLastKnown(ctx, key, be.raw, be.readAt, ttl)
}

// keepLastKnown stores a billing just read as the key's last known, when the loader keeps
// them. A failure only means an outage cannot be bridged with it.
func (l *Loader[A, E]) keepLastKnown(ctx context.Context, key string, e E) {
	if l.lastKnown == nil {
		return
	}
	if err := l.lastKnown.setLastKnown(context.WithoutCancel(ctx), key, e, l.staleFor); err != nil {
		l.warn(ctx, "keeping last-known billing failed", err)
	}
}

// lastKnownFor returns what to serve instead of a failed billing read: the key's last-known
// billing, marked stale, when the loader keeps them, the failure is Flowglad's (IsOutage)
// and that billing is recent enough; else found false.
func (l *Loader[A, E]) lastKnownFor(ctx context.Context, key string, err error) (E, bool) {
	var zero E
	if l.lastKnown == nil || !IsOutage(err) {
		return zero, false
	}
	e, found, getErr := l.lastKnown.getLastKnown(ctx, key)
	if getErr != nil {
		l.warn(ctx, "reading last-known billing failed", getErr)
		return zero, false
	}
	if !found {
		return zero, false
	}
	known := e.BillingEntry()
	age := l.now().Sub(known.readAt)
	if known.readAt.IsZero() || age > l.staleFor {
		return zero, false
	}
	l.logger.LogAttrs(ctx, slog.LevelWarn, "flowglad: billing unavailable; serving last-known billing (StaleIfError)",
		slog.String("customer", key), slog.Duration("age", age), slog.String("error", err.Error()))
	// A fresh entry, so that what is decoded of it says it is stale.
	stale := l.newEntry(known.body)
	se := stale.BillingEntry()
	se.readAt, se.stale = known.readAt, true
	return stale, true
}

// IsOutage reports whether a billing read failed for Flowglad's reasons, which last-known
// billing may bridge: a 5xx, 408 or 429, a 401 of a key that has worked (rate limiting),
// the client's timeout, no answer at all, or a garbled one. A refusal of the request or of
// the API key is not an outage.
func IsOutage(err error) bool {
	var api *flowgladapi.Error
	if errors.As(err, &api) {
		return api.StatusCode >= 500 || api.StatusCode == http.StatusRequestTimeout || api.RateLimited()
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, flowgladapi.ErrUnavailable) ||
		errors.Is(err, flowgladapi.ErrInvalidResponse)
}
