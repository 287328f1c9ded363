package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewMemoryStore(3, time.Hour)
	s.now = func() time.Time { return now }

	claim := func(id string) ClaimStatus {
		t.Helper()
		st, err := s.Claim(ctx, id)
		require.NoError(t, err)
		return st
	}
	assert.Equal(t, Claimed, claim("a"))
	assert.Equal(t, InFlight, claim("a"))
	require.NoError(t, s.Release(ctx, "a"))
	assert.Equal(t, Claimed, claim("a"), "a released id can be claimed again")
	require.NoError(t, s.Complete(ctx, "a"))
	assert.Equal(t, Completed, claim("a"))

	now = now.Add(time.Hour - time.Nanosecond)
	assert.Equal(t, Completed, claim("a"), "remembered for the TTL")
	now = now.Add(time.Nanosecond)
	assert.Equal(t, Claimed, claim("a"), "forgotten once the TTL has passed")
	require.NoError(t, s.Release(ctx, "a"))
	assert.Empty(t, s.done)
	assert.Empty(t, s.inFlight)
}

func TestMemoryStoreSizeBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewMemoryStore(100, 0)
	assert.Equal(t, DefaultStoreTTL, s.ttl)
	for i := range 1000 {
		id := fmt.Sprint("msg_", i)
		st, err := s.Claim(ctx, id)
		require.NoError(t, err)
		require.Equal(t, Claimed, st)
		require.NoError(t, s.Complete(ctx, id))
	}
	assert.Len(t, s.done, 100)
	assert.Equal(t, 100, s.order.Len())
	st, _ := s.Claim(ctx, "msg_899")
	assert.Equal(t, Claimed, st, "the oldest were forgotten")
	st, _ = s.Claim(ctx, "msg_999")
	assert.Equal(t, Completed, st)

	// Claims in flight are never evicted by completions.
	for i := range 200 {
		_, _ = s.Claim(ctx, fmt.Sprint("busy_", i))
	}
	for i := range 200 {
		id := fmt.Sprint("new_", i)
		_, _ = s.Claim(ctx, id)
		_ = s.Complete(ctx, id)
	}
	st, _ = s.Claim(ctx, "busy_0")
	assert.Equal(t, InFlight, st)
	assert.Equal(t, DefaultStoreSize, NewMemoryStore(0, time.Minute).max)
}
