package billingread

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/internal/reqmemo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDisplacedReadNotStoredAfterForget: a request's read that another request's read
// displaced (the second saw another version of the pending usage) is no longer the key's
// running read, but it is still running. When the key's billing is then forgotten (a
// webhook's Invalidate, or a Refresh whose commit says more usage landed), that read began
// before the change: its answer must not be stored, or every reader that does not check
// versions (the Service outside a request, the recorder resolving subscriptions) is served
// billing that predates the change until the cache's TTL, counting landed usage nowhere.
func TestDisplacedReadNotStoredAfterForget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		forget func(t *testing.T, r *refreshRig)
		reads  int64 // Flowglad reads the forgetting made
	}{
		{"a webhook invalidates", func(t *testing.T, r *refreshRig) {
			require.NoError(t, r.l.Invalidate(t.Context(), blCustomer.ExternalID))
		}, 0},
		{"a refresh learns more usage landed", func(t *testing.T, r *refreshRig) {
			var commits atomic.Int64
			ok, err := r.refresh(r.landing(3, false, &commits))
			require.NoError(t, err)
			require.True(t, ok)
			require.EqualValues(t, 1, commits.Load())
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRefreshRig(t, NewLocalStore[*Entry](1<<20, nil))
			// Read 1: a request under version 1, held.
			release := r.hold(1)
			first := make(chan string, 1)
			go func() {
				e, err := load(reqmemo.With(t.Context()), r.l, blCustomer)
				assert.NoError(t, err)
				if err != nil {
					first <- ""
					return
				}
				first <- string(e.Raw())
			}()
			require.Eventually(t, func() bool { return r.l.Waiting(blCustomer.ExternalID) == 1 }, 5*time.Second, time.Millisecond)
			// Usage landed elsewhere (another instance, a dead letter): a request under
			// version 2 does not join read 1; its own read (2) displaces it and is stored.
			r.pv.set(2, true, true)
			require.Equal(t, readBody(2), r.request())

			tc.forget(t, r)
			release()
			require.Equal(t, readBody(1), <-first, "read 1 answers the request that began it")

			e, err := load(t.Context(), r.l, blCustomer)
			require.NoError(t, err)
			assert.NotEqual(t, readBody(1), string(e.Raw()),
				"outside a request: billing read before the change, stored after it")
			assert.EqualValues(t, 3+tc.reads, r.reads.Load(), "read again from Flowglad")
		})
	}
}
