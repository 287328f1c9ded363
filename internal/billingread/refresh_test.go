package billingread

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refreshRig is a Loader on an in-process store whose Flowglad reads are numbered (the
// body says which read it is) and can be held, and whose pending-usage version the test
// sets.
type refreshRig struct {
	t     *testing.T
	l     *Loader[Customer, *Entry]
	pv    *versioned
	reads atomic.Int64

	mu    sync.Mutex
	holds map[int64]chan struct{} // read number -> closed to let it answer
	fail  error
}

func newRefreshRig(t *testing.T, store Store[*Entry]) *refreshRig {
	r := &refreshRig{t: t, pv: &versioned{v: 1, tracked: true, known: true}, holds: map[int64]chan struct{}{}}
	r.l = NewLoader(Config[Customer, *Entry]{New: NewEntry, BeforeRead: r.pv.read, Store: store, TTL: time.Hour,
		Fetch: func(ctx context.Context, _ Customer) (*flowgladapi.BillingBody, error) {
			n := r.reads.Add(1)
			r.mu.Lock()
			hold, fail := r.holds[n], r.fail
			r.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if fail != nil {
				return nil, fail
			}
			return flowgladapi.ParseBillingBody(fmt.Appendf(nil, `{"customer":{"id":"c1"},"read":%d}`, n))
		}})
	return r
}

// hold makes read number n wait until the returned function is called.
func (r *refreshRig) hold(n int64) (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.holds[n] = ch
	r.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	r.t.Cleanup(release)
	return release
}

// request loads the billing as a request does, and returns which read it got.
func (r *refreshRig) request() string {
	r.t.Helper()
	e, err := load(reqmemo.With(r.t.Context()), r.l, blCustomer)
	require.NoError(r.t, err)
	return string(e.Raw())
}

func readBody(n int) string { return fmt.Sprintf(`{"customer":{"id":"c1"},"read":%d}`, n) }

// landing is a commit that moves the version to next and counts its calls.
func (r *refreshRig) landing(next uint64, ok bool, calls *atomic.Int64) func(context.Context) (uint64, bool) {
	return func(context.Context) (uint64, bool) {
		calls.Add(1)
		r.pv.set(next, true, true)
		return next, ok
	}
}

func (r *refreshRig) refresh(commit func(context.Context) (uint64, bool)) (bool, error) {
	return r.l.Refresh(r.t.Context(), blCustomer.ExternalID, blCustomer, func(context.Context) bool { return true }, commit)
}

// goRefresh runs a Refresh with commit on its own goroutine; the channel gets its result.
func (r *refreshRig) goRefresh(commit func(context.Context) (uint64, bool)) <-chan bool {
	done := make(chan bool, 1)
	go func() {
		ok, err := r.refresh(commit)
		assert.NoError(r.t, err)
		done <- ok
	}()
	return done
}

// startRefresh is goRefresh, returning once the Refresh's read (read number n) has begun.
func (r *refreshRig) startRefresh(commit func(context.Context) (uint64, bool), n int64) <-chan bool {
	done := r.goRefresh(commit)
	require.Eventually(r.t, func() bool { return r.reads.Load() == n }, 5*time.Second, time.Millisecond)
	return done
}

// waits fails the test if done has a result within a moment: the Refresh it comes from
// must be waiting (for what, says why).
func waits(t *testing.T, done <-chan bool, why string) {
	t.Helper()
	select {
	case <-done:
		t.Fatal(why)
	case <-time.After(20 * time.Millisecond):
	}
}

// TestRefreshNoRequestWaits: after usage landed, the billing is read again while the cached
// billing goes on answering requests (none waits for the read), and once the usage is out
// of the pending usage (commit), requests under the new version get the new read without a
// read of their own.
func TestRefreshNoRequestWaits(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	require.Equal(t, readBody(1), r.request())

	release := r.hold(2)
	var commits atomic.Int64
	done := r.startRefresh(r.landing(2, true, &commits), 2)
	// The refresh's read is held: a request is answered from the cache meanwhile.
	assert.Equal(t, readBody(1), r.request(), "the cached billing answers while Flowglad is read")
	assert.Zero(t, commits.Load(), "the usage stays pending until the new billing is in")
	release()
	select {
	case ok := <-done:
		assert.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh did not return")
	}
	assert.EqualValues(t, 1, commits.Load())
	assert.Equal(t, readBody(2), r.request(), "the new version gets the new read")
	assert.EqualValues(t, 2, r.reads.Load(), "no request read Flowglad")
}

// TestRefreshBeforeCommit: between the new read and commit, requests under the old version
// already get the new read (it counts the landed usage, which is still pending, twice:
// never zero times).
func TestRefreshBeforeCommit(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	var during string
	ok, err := r.refresh(func(ctx context.Context) (uint64, bool) {
		during = r.request()
		r.pv.set(2, true, true)
		return 2, true
	})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, readBody(2), during)
	assert.EqualValues(t, 2, r.reads.Load())
}

// TestRefreshNothingToRefresh: Refresh reads nothing and leaves commit to the caller when
// requests take no billing of the customer from this process's cache.
func TestRefreshNothingToRefresh(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func() Store[*Entry]
		setup func(r *refreshRig)
	}{
		{"no cache", func() Store[*Entry] { return nil }, func(r *refreshRig) { r.request() }},
		{"a shared cache (the sender forgets it there)", func() Store[*Entry] {
			return NewSharedStore[*Entry](newMapCache(), time.Second, NewEntry)
		}, func(r *refreshRig) { r.request() }},
		{"nothing cached", func() Store[*Entry] { return NewLocalStore[*Entry](1<<20, nil) }, func(*refreshRig) {}},
		{"cached by a read outside a request (no version)", func() Store[*Entry] { return NewLocalStore[*Entry](1<<20, nil) },
			func(r *refreshRig) {
				_, err := load(r.t.Context(), r.l, blCustomer)
				require.NoError(r.t, err)
			}},
		{"cached under an unknown version", func() Store[*Entry] { return NewLocalStore[*Entry](1<<20, nil) },
			func(r *refreshRig) {
				r.pv.set(1, true, false)
				r.request()
				r.pv.set(1, true, true)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRefreshRig(t, tc.store())
			tc.setup(r)
			before := r.reads.Load()
			var commits atomic.Int64
			ok, err := r.refresh(r.landing(2, true, &commits))
			assert.NoError(t, err)
			assert.False(t, ok)
			assert.Zero(t, commits.Load(), "commit is the caller's then")
			assert.Equal(t, before, r.reads.Load(), "no read")
		})
	}
}

// TestRefreshWhileARequestReads: a request's read running when usage lands (it may
// predate the landing) is waited for; the Refresh then reads again and commits, and its read
// is what the cache keeps, not the request's. Until the commit, the usage stays pending.
func TestRefreshWhileARequestReads(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	release := r.hold(1)
	got := make(chan string, 1)
	go func() { got <- r.request() }()
	require.Eventually(t, func() bool { return r.l.Waiting(blCustomer.ExternalID) == 1 }, 5*time.Second, time.Millisecond)
	var commits atomic.Int64
	done := r.goRefresh(r.landing(2, true, &commits))
	waits(t, done, "the Refresh did not wait for the running read")
	assert.Zero(t, commits.Load())
	release()
	assert.Equal(t, readBody(1), <-got)
	require.True(t, <-done)
	assert.EqualValues(t, 1, commits.Load())
	assert.Equal(t, readBody(2), r.request(), "the Refresh's read, under the new version")
	assert.EqualValues(t, 2, r.reads.Load())
}

// TestRefreshFollowsARunningRefresh: a second landing while the first's Refresh reads
// waits for it, then refreshes again: both commit, none forgets the billing.
func TestRefreshFollowsARunningRefresh(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	release := r.hold(2)
	var commits atomic.Int64
	first := r.startRefresh(r.landing(2, true, &commits), 2)
	second := r.goRefresh(r.landing(3, true, &commits))
	waits(t, second, "the second Refresh did not wait for the first")
	release()
	require.True(t, <-first)
	require.True(t, <-second)
	assert.EqualValues(t, 2, commits.Load())
	assert.Equal(t, readBody(3), r.request())
	assert.EqualValues(t, 3, r.reads.Load(), "no request read Flowglad")
}

// TestRefreshFailures: when the new read fails, commit is not called (the caller forgets
// the billing); when commit reports other usage landed meanwhile, or the customer's billing
// was invalidated during the read, the new read is not served to requests.
func TestRefreshFailures(t *testing.T) {
	t.Parallel()
	t.Run("read fails", func(t *testing.T) {
		t.Parallel()
		r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
		r.request()
		down := errors.New("flowglad down")
		r.mu.Lock()
		r.fail = down
		r.mu.Unlock()
		var commits atomic.Int64
		ok, err := r.refresh(r.landing(2, true, &commits))
		assert.ErrorIs(t, err, down)
		assert.False(t, ok)
		assert.Zero(t, commits.Load())
	})
	t.Run("other usage landed meanwhile", func(t *testing.T) {
		t.Parallel()
		r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
		r.request()
		var commits atomic.Int64
		ok, err := r.refresh(r.landing(3, false, &commits))
		require.NoError(t, err)
		assert.True(t, ok)
		assert.EqualValues(t, 1, commits.Load())
		assert.Equal(t, readBody(3), r.request(), "read again")
		_, err = load(r.t.Context(), r.l, blCustomer)
		require.NoError(t, err)
		assert.EqualValues(t, 3, r.reads.Load(), "nothing of the refresh kept, outside a request either")
	})
	t.Run("invalidated during the read", func(t *testing.T) {
		t.Parallel()
		r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
		r.request()
		release := r.hold(2)
		var commits atomic.Int64
		done := r.startRefresh(r.landing(2, true, &commits), 2)
		require.NoError(t, r.l.Invalidate(t.Context(), blCustomer.ExternalID))
		release()
		assert.True(t, <-done)
		assert.EqualValues(t, 1, commits.Load(), "the usage leaves the pending usage all the same")
		_, err := load(r.t.Context(), r.l, blCustomer)
		require.NoError(t, err)
		assert.EqualValues(t, 3, r.reads.Load(), "the refresh's read predates the change: not kept")
	})
}

// TestRequestAsksAgainForNewerEntry: a request whose version was read just before a
// Refresh stored billing under a newer one asks for the version once more and takes that
// billing, rather than reading Flowglad.
func TestRequestAsksAgainForNewerEntry(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	var commits atomic.Int64
	ok, err := r.refresh(r.landing(2, true, &commits))
	require.NoError(t, err)
	require.True(t, ok)

	var asked atomic.Int64
	r.l.beforeRead = func(ctx context.Context, key string) (uint64, bool, bool) {
		if asked.Add(1) == 1 {
			return 1, true, true // read just before commit moved it on
		}
		return r.pv.read(ctx, key)
	}
	assert.Equal(t, readBody(2), r.request())
	assert.EqualValues(t, 2, asked.Load())
	assert.EqualValues(t, 2, r.reads.Load(), "no read of its own")

	// A version that really differs still reads.
	r.l.beforeRead = func(context.Context, string) (uint64, bool, bool) { return 7, true, true }
	assert.Equal(t, readBody(3), r.request())
}

// TestOlderReadNotStoredOverRefresh: a request's read that began before a Refresh's read
// ended does not replace it in the cache when it ends later.
func TestOlderReadNotStoredOverRefresh(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	releaseRefresh := r.hold(2)
	releaseRequest := r.hold(3)
	var commits atomic.Int64
	done := r.startRefresh(r.landing(2, true, &commits), 2)
	// A request under a version the cache does not hold reads for itself.
	r.pv.set(9, true, true)
	got := make(chan string, 1)
	go func() { got <- r.request() }()
	require.Eventually(t, func() bool { return r.reads.Load() == 3 }, 5*time.Second, time.Millisecond)
	releaseRefresh()
	require.True(t, <-done)
	releaseRequest()
	assert.Equal(t, readBody(3), <-got, "the request gets its own read")
	r.pv.set(2, true, true)
	assert.Equal(t, readBody(2), r.request(), "the refresh's newer read stays in the cache")
}

// TestRefreshAgain: a Refresh that ended leaves the key free for the next batch's.
func TestRefreshAgain(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	var commits atomic.Int64
	for i, next := range []uint64{2, 3} {
		ok, err := r.refresh(r.landing(next, true, &commits))
		require.NoError(t, err)
		assert.True(t, ok, "refresh %d", i+1)
	}
	assert.EqualValues(t, 2, commits.Load())
	assert.Equal(t, readBody(3), r.request())
}

// TestRefreshKeepsLastKnown: the refreshed billing is what an outage serves afterwards
// (Config.StaleFor), not the billing it replaced.
func TestRefreshKeepsLastKnown(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.l.lastKnown, r.l.staleFor = NewLocalLastKnown[*Entry](1<<20, nil), time.Hour
	r.request()
	var commits atomic.Int64
	ok, err := r.refresh(r.landing(2, true, &commits))
	require.NoError(t, err)
	require.True(t, ok)

	r.mu.Lock()
	r.fail = &flowgladapi.Error{StatusCode: http.StatusServiceUnavailable}
	r.mu.Unlock()
	require.NoError(t, r.l.Invalidate(t.Context(), blCustomer.ExternalID))
	e, err := load(t.Context(), r.l, blCustomer)
	require.NoError(t, err)
	assert.True(t, e.Stale())
	assert.Equal(t, readBody(2), string(e.Raw()))
}

// TestRequestWaitsForACommittingRefresh: a request that asks for the version after a
// Refresh's commit moved it, and finds the entry still under the old one (the Refresh has
// yet to store its read under the new), waits that moment for the Refresh instead of
// reading Flowglad.
func TestRequestWaitsForACommittingRefresh(t *testing.T) {
	t.Parallel()
	r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
	r.request()
	var asked atomic.Int64
	r.l.beforeRead = func(ctx context.Context, key string) (uint64, bool, bool) {
		asked.Add(1)
		return r.pv.read(ctx, key)
	}
	got := make(chan string, 1)
	ok, err := r.refresh(func(context.Context) (uint64, bool) {
		r.pv.set(2, true, true)
		before := asked.Load()
		go func() { got <- r.request() }()
		// The request has asked twice (its question, then once more on the mismatch).
		require.Eventually(t, func() bool { return asked.Load() == before+2 }, 5*time.Second, time.Millisecond)
		return 2, true
	})
	require.NoError(t, err)
	require.True(t, ok)
	select {
	case body := <-got:
		assert.Equal(t, readBody(2), body)
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not end")
	}
	assert.EqualValues(t, 2, r.reads.Load(), "no read of its own")
}
