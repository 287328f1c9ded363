package billingread

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIsOutage: what last-known billing may bridge is Flowglad's failure, never a refusal
// of the request or of the key.
func TestIsOutage(t *testing.T) {
	t.Parallel()
	status := func(code int) error { return &flowgladapi.Error{StatusCode: code} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"500", status(http.StatusInternalServerError), true},
		{"503", status(http.StatusServiceUnavailable), true},
		{"408", status(http.StatusRequestTimeout), true},
		{"429", status(http.StatusTooManyRequests), true},
		{"499", status(499), false},
		{"400", status(http.StatusBadRequest), false},
		{"403", status(http.StatusForbidden), false},
		{"404", status(http.StatusNotFound), false},
		{"wrapped 502", fmt.Errorf("reading: %w", status(http.StatusBadGateway)), true},
		{"timeout", context.DeadlineExceeded, true},
		{"unavailable", flowgladapi.ErrUnavailable, true},
		{"garbled", errors.Join(flowgladapi.ErrInvalidResponse, errors.New("eof")), true},
		{"canceled", context.Canceled, false},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsOutage(tc.err))
		})
	}
}

// TestBeforeRead: BeforeRead is told of a read within a request (a context with a memo),
// once per read into the memo, before the read; a read outside a request tells nothing.
func TestBeforeRead(t *testing.T) {
	t.Parallel()
	var told []string
	reads := 0
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry,
		BeforeRead: func(_ context.Context, key string) (uint64, bool, bool) {
			told = append(told, fmt.Sprint(key, "@", reads))
			return 0, false, false
		},
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			reads++
			return flowgladapi.ParseBillingBody([]byte(`{}`))
		}})
	_, err := load(t.Context(), l, blCustomer)
	require.NoError(t, err)
	assert.Empty(t, told, "not within a request")

	req := reqmemo.With(t.Context())
	for range 2 {
		_, err = load(req, l, blCustomer)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"u1@1"}, told, "once, before the request's read")
}

// deadlineCache is a LastKnownCache that records the time left before the deadline of each
// call.
type deadlineCache struct {
	*mapCache
	left []time.Duration
}

func (c *deadlineCache) note(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		c.left = append(c.left, -1)
		return
	}
	c.left = append(c.left, time.Until(d))
}

func (c *deadlineCache) SetLastKnown(ctx context.Context, _ string, _ []byte, _ time.Time, _ time.Duration) error {
	c.note(ctx)
	return nil
}

func (c *deadlineCache) GetLastKnown(ctx context.Context, _ string) ([]byte, time.Time, bool, error) {
	c.note(ctx)
	return nil, time.Time{}, false, nil
}

// TestSharedStoresBounded: every call to a shared cache is bounded, by DefaultCacheTimeout
// when no timeout is given, else by the one given.
func TestSharedStoresBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		timeout, bound time.Duration
	}{{0, DefaultCacheTimeout}, {-time.Second, DefaultCacheTimeout}, {50 * time.Millisecond, 50 * time.Millisecond}} {
		t.Run(fmt.Sprint(tc.timeout), func(t *testing.T) {
			cache := &deadlineCache{mapCache: newMapCache()}
			lk := NewSharedLastKnown(cache, tc.timeout, NewEntry)
			_, _, err := lk.getLastKnown(t.Context(), "u1")
			require.NoError(t, err)
			require.NoError(t, lk.setLastKnown(t.Context(), "u1", entryOf(t, `{}`), time.Hour))
			require.Len(t, cache.left, 2)
			for _, left := range cache.left {
				assert.Positive(t, left, "the call had a deadline")
				assert.LessOrEqual(t, left, tc.bound)
			}
		})
	}
}

// TestSharedStoreBounded: NewSharedStore bounds each call as NewSharedLastKnown does.
func TestSharedStoreBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		timeout, bound time.Duration
	}{{0, DefaultCacheTimeout}, {50 * time.Millisecond, 50 * time.Millisecond}} {
		t.Run(fmt.Sprint(tc.timeout), func(t *testing.T) {
			cache := &hangingCache{mapCache: newMapCache(), sets: make(chan time.Duration, 1)}
			st := NewSharedStore(cache, tc.timeout, NewEntry)
			done := make(chan error, 1)
			go func() { done <- st.set(context.Background(), "u1", entryOf(t, `{}`), time.Hour) }()
			select {
			case left := <-cache.sets:
				assert.Positive(t, left, "the call had a deadline ahead")
				assert.LessOrEqual(t, left, tc.bound)
			case <-time.After(10 * time.Second):
				t.Fatal("no Set reached the cache")
			}
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			case <-time.After(10 * time.Second):
				t.Fatal("the Set was not bounded")
			}
		})
	}
}

// TestLocalStoreExactlyFull: bodies that fill the store exactly are all kept, and so is one
// body of exactly its size.
func TestLocalStoreExactlyFull(t *testing.T) {
	t.Parallel()
	st := newLocalStore[*Entry](100, nil)
	ctx := t.Context()
	body := func(n int) *Entry { return entryOf(t, `{"p":"`+strings.Repeat("x", n-8)+`"}`) }
	require.NoError(t, st.set(ctx, "a", body(60), time.Minute))
	require.NoError(t, st.set(ctx, "b", body(40), time.Minute))
	for _, key := range []string{"a", "b"} {
		_, found, err := st.get(ctx, key)
		require.NoError(t, err)
		assert.True(t, found, key)
	}
	require.NoError(t, st.set(ctx, "c", body(100), time.Minute))
	_, found, err := st.get(ctx, "c")
	require.NoError(t, err)
	assert.True(t, found, "a body the size of the whole store is kept")
	assert.Equal(t, int64(100), st.bytes)
}

// TestEntryPriceMeter: a price names its usage meter through the pricing model, by id or
// (when no id is given) by slug, whether listed under the meter or under a product; a
// price that bills no meter, and a pricing model of the wrong shape, name none.
func TestEntryPriceMeter(t *testing.T) {
	t.Parallel()
	e := entryOf(t, `{"pricingModel": {
		"usageMeters": [{"id": "m_1", "slug": "calls", "prices": [{"id": "pr_1", "slug": "per-call"}]}],
		"products": [{"id": "prod_1", "prices": [
			{"id": "pr_2", "slug": "tokens", "usageMeterId": "m_2"},
			{"id": "pr_3", "slug": "monthly"}]}]}}`)
	tests := []struct{ id, slug, want string }{
		{"pr_1", "", "m_1"},
		{"", "per-call", "m_1"},
		{"pr_2", "", "m_2"},
		{"", "tokens", "m_2"},
		{"pr_2", "per-call", "m_2"},
		{"pr_3", "", ""},
		{"", "monthly", ""},
		{"pr_9", "", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, e.PriceMeter(tc.id, tc.slug), "%s/%s", tc.id, tc.slug)
	}
	assert.Empty(t, entryOf(t, `{"pricingModel": 7}`).PriceMeter("pr_1", ""))
}
