package billingread

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versioned is a BeforeRead whose version of the pending usage the test sets.
type versioned struct {
	mu      sync.Mutex
	v       uint64
	tracked bool
	known   bool
}

func (p *versioned) set(v uint64, tracked, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.v, p.tracked, p.known = v, tracked, known
}

func (p *versioned) read(context.Context, string) (uint64, bool, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.v, p.tracked, p.known
}

// TestPendingVersionNotCrossed: a request never gets billing read under another version of
// the pending usage than the one it saw before its read (usage reached Flowglad in
// between, on this instance or another): neither from the cache nor by joining a read
// another request began. Under one version, and when nothing pending is tracked, both are
// shared as before.
func TestPendingVersionNotCrossed(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	release := make(chan struct{})
	var hold atomic.Bool
	pv := &versioned{v: 1, tracked: true, known: true}
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, BeforeRead: pv.read,
		Store: NewLocalStore[*Entry](1<<20, time.Now), TTL: time.Hour,
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			reads.Add(1)
			if hold.Load() {
				<-release
			}
			return flowgladapi.ParseBillingBody([]byte(`{"customer":{"id":"c1"}}`))
		}})
	request := func() context.Context { return reqmemo.With(t.Context()) }
	ctx := func() context.Context {
		c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		t.Cleanup(cancel)
		return c
	}

	// The cache: read under version 1, served under version 1.
	_, err := load(request(), l, blCustomer)
	require.NoError(t, err)
	_, err = load(request(), l, blCustomer)
	require.NoError(t, err)
	assert.EqualValues(t, 1, reads.Load(), "a hit under the same version")
	_, err = load(t.Context(), l, blCustomer)
	require.NoError(t, err)
	assert.EqualValues(t, 1, reads.Load(), "outside a request, the cache serves as before")

	// Usage reached Flowglad: version 2. The entry read under 1 is not served; the new
	// read replaces it.
	pv.set(2, true, true)
	_, err = load(request(), l, blCustomer)
	require.NoError(t, err)
	assert.EqualValues(t, 2, reads.Load(), "read again under a new version")
	_, err = load(request(), l, blCustomer)
	require.NoError(t, err)
	assert.EqualValues(t, 2, reads.Load(), "the new read is the hit now")

	// A version that cannot be read shares nothing.
	pv.set(2, true, false)
	_, err = load(request(), l, blCustomer)
	require.NoError(t, err)
	assert.EqualValues(t, 3, reads.Load(), "an unknown version is served nothing kept")

	// A running read begun under version 3 is not joined by a request that saw 4.
	require.NoError(t, l.Invalidate(t.Context(), blCustomer.ExternalID))
	pv.set(3, true, true)
	hold.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := load(request(), l, blCustomer)
		first <- err
	}()
	require.Eventually(t, func() bool { return reads.Load() == 4 }, 5*time.Second, time.Millisecond)
	pv.set(4, true, true)
	second := make(chan error, 1)
	go func() {
		_, err := load(request(), l, blCustomer)
		second <- err
	}()
	require.Eventually(t, func() bool { return reads.Load() == 5 }, 5*time.Second, time.Millisecond,
		"a read of its own, not the running one")
	close(release)
	for _, ch := range []chan error{first, second} {
		select {
		case err := <-ch:
			assert.NoError(t, err)
		case <-ctx().Done():
			t.Fatal("a read did not end")
		}
	}

	// Untracked (no recorder): requests share reads and the cache as before.
	hold.Store(false)
	pv.set(0, false, false)
	require.NoError(t, l.Invalidate(t.Context(), blCustomer.ExternalID))
	before := reads.Load()
	for range 3 {
		_, err := load(request(), l, blCustomer)
		require.NoError(t, err)
	}
	assert.Equal(t, before+1, reads.Load(), "one read, then hits")
}

// TestPendingVersionSharedCache: a shared cache's entries carry no version and are served
// under any: the instance whose usage reaches Flowglad forgets them there first.
func TestPendingVersionSharedCache(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	pv := &versioned{v: 1, tracked: true, known: true}
	l := NewLoader(Config[Customer, *Entry]{New: NewEntry, BeforeRead: pv.read,
		Store: NewSharedStore[*Entry](newMapCache(), time.Second, NewEntry), TTL: time.Hour,
		Fetch: func(context.Context, Customer) (*flowgladapi.BillingBody, error) {
			reads.Add(1)
			return flowgladapi.ParseBillingBody([]byte(`{"customer":{"id":"c1"}}`))
		}})
	for v := range uint64(3) {
		pv.set(v, true, true)
		_, err := load(reqmemo.With(t.Context()), l, blCustomer)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, reads.Load())
}
