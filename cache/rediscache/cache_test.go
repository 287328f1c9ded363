package rediscache_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/cache/rediscache"
)

var _ flowglad.BillingCache = (*rediscache.Cache)(nil)

// newCache returns a Cache over client, closed when the test ends.
func newCache(tb testing.TB, client redis.UniversalClient, opts ...rediscache.Option) *rediscache.Cache {
	tb.Helper()
	c, err := rediscache.New(client, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// billingBody is a body of about n bytes, different for each tag.
func billingBody(tag string, n int) []byte {
	b := []byte(`{"tag":"` + tag + `","pad":"`)
	b = append(b, bytes.Repeat([]byte("x"), max(n-len(b)-2, 0))...)
	return append(b, `"}`...)
}

// fill stores body the way the loader does: a Get that misses, then Set.
func fill(t *testing.T, c *rediscache.Cache, key string, body []byte, ttl time.Duration) {
	t.Helper()
	ctx := context.Background()
	_, found, err := c.Get(ctx, key)
	require.NoError(t, err)
	require.False(t, found, "fill expects a miss")
	require.NoError(t, c.Set(ctx, key, body, ttl))
}

// requireHit checks that key holds want.
func requireHit(t *testing.T, c *rediscache.Cache, key string, want []byte) {
	t.Helper()
	got, found, err := c.Get(context.Background(), key)
	require.NoError(t, err)
	require.True(t, found, "key %q: miss, want a hit", key)
	require.Equal(t, want, got)
}

// requireMiss checks that key holds nothing.
func requireMiss(t *testing.T, c *rediscache.Cache, key string) {
	t.Helper()
	_, found, err := c.Get(context.Background(), key)
	require.NoError(t, err)
	require.False(t, found, "key %q: hit, want a miss", key)
}

func TestRedisCacheGetSetDelete(t *testing.T) {
	srv := startRedis(t)
	raw := srv.client(true)
	c := newCache(t, srv.client(true))
	ctx := context.Background()
	body := billingBody("alice", 40<<10)

	requireMiss(t, c, "user_alice")
	require.NoError(t, c.Set(ctx, "user_alice", body, time.Hour))
	requireHit(t, c, "user_alice", body)
	requireHit(t, c, "user_alice", body) // a hit does not consume anything

	pttl, err := raw.PTTL(ctx, "flowglad:billing:{user_alice}").Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, 59*time.Minute, "the body lives for the ttl given to Set")
	assert.LessOrEqual(t, pttl, time.Hour)

	require.NoError(t, c.Delete(ctx, "user_alice"))
	requireMiss(t, c, "user_alice")
	require.NoError(t, c.Delete(ctx, "user_alice"), "deleting a missing key is not an error")
	require.NoError(t, c.Delete(ctx, "never_stored"))
	genTTL, err := raw.PTTL(ctx, "flowglad:billing:{user_alice}:gen").Result()
	require.NoError(t, err)
	assert.Greater(t, genTTL, time.Hour, "the generation outlives any fill that could race it")

	t.Run("a Set without a miss before it stores nothing", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "user_bob", body, time.Hour))
		requireMiss(t, c, "user_bob")
		require.NoError(t, c.Set(ctx, "user_bob", body, time.Hour), "consumes the miss just seen")
		requireHit(t, c, "user_bob", body)
	})

	t.Run("a body expires after its ttl", func(t *testing.T) {
		fill(t, c, "user_short", body, 50*time.Millisecond)
		requireHit(t, c, "user_short", body)
		require.Eventually(t, func() bool {
			_, found, err := c.Get(ctx, "user_short")
			return err == nil && !found
		}, 5*time.Second, 10*time.Millisecond)
	})

	t.Run("bad arguments", func(t *testing.T) {
		_, _, err := c.Get(ctx, "")
		assert.Error(t, err)
		assert.Error(t, c.Set(ctx, "x", body, 0))
		assert.Error(t, c.Delete(ctx, ""))
		_, err = rediscache.New(nil)
		assert.Error(t, err)
		_, err = rediscache.New(raw, rediscache.WithPrefix("app:{x}:"))
		assert.Error(t, err)
		_, err = rediscache.New(raw, rediscache.WithTimeout(0))
		assert.Error(t, err)
		_, err = rediscache.New(raw, rediscache.WithReplayInterval(-time.Second))
		assert.Error(t, err)
		_, err = rediscache.New(raw, rediscache.WithSettle(-time.Second))
		assert.Error(t, err)
		_, err = rediscache.New(raw, rediscache.WithBackoff(-time.Second))
		assert.Error(t, err)
		_, err = rediscache.NewFromURL("mysql://nope")
		assert.Error(t, err)
	})
}

// TestRedisCacheOddKeys: external ids are arbitrary strings; each gets keys of its own, and
// a customer's two keys share one Redis Cluster hash tag.
func TestRedisCacheOddKeys(t *testing.T) {
	srv := startRedis(t)
	raw := srv.client(true)
	c := newCache(t, srv.client(true))
	ctx := context.Background()
	keys := []string{
		"a b/c?d", "{", "}", "}{", "{x}", "%7B", "%", "user:1", "user:1:gen", "user:1}:gen",
		"ünïcödé 🙂", "line\nbreak\r\n", "tab\tnul\x00", `quote"back\slash`, "*?[]",
		strings.Repeat("k", 255), strings.Repeat("}", 255),
	}
	for _, k := range keys {
		fill(t, c, k, billingBody(k, 100), time.Hour)
	}
	for _, k := range keys {
		requireHit(t, c, k, billingBody(k, 100))
	}
	require.NoError(t, c.Delete(ctx, "{x}"))
	requireMiss(t, c, "{x}")
	for _, k := range keys {
		if k != "{x}" {
			requireHit(t, c, k, billingBody(k, 100))
		}
	}

	stored, err := raw.Keys(ctx, "*").Result()
	require.NoError(t, err)
	// A body per key but the deleted one, and the deleted one's generation.
	assert.Len(t, stored, len(keys))
	assert.Contains(t, stored, "flowglad:billing:{%7Bx%7D}:gen")
	for _, s := range stored {
		assert.True(t, strings.HasPrefix(s, rediscache.DefaultPrefix), s)
		tag := hashTag(s)
		assert.NotEmpty(t, tag, s)
		assert.NotContains(t, tag, "{", s)
	}
	assert.Equal(t, "%7Bx%7D", hashTag("flowglad:billing:{%7Bx%7D}:gen"), "shared with the body key")

	t.Run("prefixes separate applications", func(t *testing.T) {
		other := newCache(t, srv.client(true), rediscache.WithPrefix("staging:billing:"))
		requireMiss(t, other, "a b/c?d")
		fill(t, other, "a b/c?d", []byte(`{"staging":true}`), time.Hour)
		requireHit(t, c, "a b/c?d", billingBody("a b/c?d", 100))
	})
}

// hashTag is the part of a key that Redis Cluster hashes.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

// TestRedisCacheFillRace: a read that began before another instance's Delete cannot store
// its (possibly old) body after that Delete. The generation alone (no settle time) does it.
func TestRedisCacheFillRace(t *testing.T) {
	srv := startRedis(t)
	a := newCache(t, srv.client(true), rediscache.WithSettle(0))
	b := newCache(t, srv.client(true), rediscache.WithSettle(0))
	ctx := context.Background()
	old, fresh := billingBody("old", 1000), billingBody("fresh", 1000)

	// A misses and starts reading Flowglad; B's instance changes the customer and deletes.
	requireMiss(t, a, "user_alice")
	require.NoError(t, b.Delete(ctx, "user_alice"))
	require.NoError(t, a.Set(ctx, "user_alice", old, time.Hour), "a dropped fill is not an error")
	requireMiss(t, b, "user_alice")

	// Another request on A joins the read that is still running; its miss, after the
	// Delete, must not make the old read's body acceptable.
	requireMiss(t, a, "user_alice")
	require.NoError(t, b.Delete(ctx, "user_alice"))
	requireMiss(t, a, "user_alice") // joins the running read
	require.NoError(t, a.Set(ctx, "user_alice", old, time.Hour))
	requireMiss(t, b, "user_alice")

	// With no Delete in between, the fill is stored and every instance sees it.
	fill(t, a, "user_alice", fresh, time.Hour)
	requireHit(t, b, "user_alice", fresh)

	// Deletes from several instances in a row, and a generation that expired meanwhile,
	// still never let an older miss match again.
	requireMiss(t, b, "user_bob")
	raw := srv.client(true)
	require.NoError(t, a.Delete(ctx, "user_bob"))
	require.NoError(t, raw.Del(ctx, "flowglad:billing:{user_bob}:gen").Err())
	require.NoError(t, a.Delete(ctx, "user_bob"))
	require.NoError(t, b.Set(ctx, "user_bob", old, time.Hour))
	requireMiss(t, a, "user_bob")
}

// TestRedisCacheSettle: two reads for one customer overlap in A (the loader starts the
// second while the first is being stored), and B's Delete lands during the second. The
// second read's Set is judged by a miss seen after it began, so only the settle time keeps
// its old body out.
func TestRedisCacheSettle(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	overlap := func(t *testing.T, a, b *rediscache.Cache) {
		first, second := billingBody("first", 1000), billingBody("second", 1000)
		requireMiss(t, a, "user_alice") // read 1 starts
		requireMiss(t, a, "user_alice") // read 2 starts while read 1 is being stored
		require.NoError(t, a.Set(ctx, "user_alice", first, time.Hour))
		require.NoError(t, b.Delete(ctx, "user_alice")) // read 2's answer predates this
		requireMiss(t, a, "user_alice")                 // a request joins read 2
		require.NoError(t, a.Set(ctx, "user_alice", second, time.Hour))
	}
	t.Run("settle time", func(t *testing.T) {
		const settle = 100 * time.Millisecond
		a := newCache(t, srv.client(true), rediscache.WithSettle(settle), rediscache.WithPrefix("settle:"))
		b := newCache(t, srv.client(true), rediscache.WithSettle(settle), rediscache.WithPrefix("settle:"))
		overlap(t, a, b)
		requireMiss(t, b, "user_alice")
		// Once the settle time has passed on Redis' clock, a fill is stored again.
		later := billingBody("later", 1000)
		require.Eventually(t, func() bool {
			if _, found, err := a.Get(ctx, "user_alice"); err != nil || found {
				return false
			}
			if a.Set(ctx, "user_alice", later, time.Hour) != nil {
				return false
			}
			_, found, err := b.Get(ctx, "user_alice")
			return err == nil && found
		}, 10*time.Second, 5*time.Millisecond)
		requireHit(t, b, "user_alice", later)
	})
	t.Run("without, the old body is stored", func(t *testing.T) {
		a := newCache(t, srv.client(true), rediscache.WithSettle(0), rediscache.WithPrefix("nosettle:"))
		b := newCache(t, srv.client(true), rediscache.WithSettle(0), rediscache.WithPrefix("nosettle:"))
		overlap(t, a, b)
		requireHit(t, b, "user_alice", billingBody("second", 1000))
	})
}

// TestRedisCacheServerIdentity: bodies stored before a restart that kept data, and misses
// seen on the old server, are not trusted by the new server process.
func TestRedisCacheServerIdentity(t *testing.T) {
	srv := startRedis(t)
	c := newCache(t, srv.client(true))
	raw := srv.client(true)
	ctx := context.Background()
	body := billingBody("before", 1000)
	fill(t, c, "user_alice", body, time.Hour)
	requireMiss(t, c, "user_bob")
	dump, err := raw.Dump(ctx, "flowglad:billing:{user_alice}").Result()
	require.NoError(t, err)

	srv.restart()
	require.NoError(t, raw.Restore(ctx, "flowglad:billing:{user_alice}", time.Hour, dump).Err())
	requireMiss(t, c, "user_alice")
	after := billingBody("after", 1000)
	require.NoError(t, c.Set(ctx, "user_alice", after, time.Hour), "replaces the old server's body")
	requireHit(t, c, "user_alice", after)

	require.NoError(t, c.Set(ctx, "user_bob", body, time.Hour), "the miss was seen on the old server")
	requireMiss(t, c, "user_bob")
	require.NoError(t, c.Set(ctx, "user_bob", body, time.Hour))
	requireHit(t, c, "user_bob", body)
}

// TestRedisCacheTimeout: a Redis that hangs (stopped with SIGSTOP) costs each operation its
// timeout, not the client's own 3 s read timeout, even with a client that ignores context
// deadlines. The Delete that timed out is replayed once Redis answers again.
func TestRedisCacheTimeout(t *testing.T) {
	srv := startRedis(t)
	// No back-off: every operation tries (TestRedisCacheFailsFastWhileDown has it).
	c := newCache(t, srv.client(false), rediscache.WithTimeout(50*time.Millisecond), rediscache.WithReplayInterval(time.Hour), rediscache.WithBackoff(0))
	ctx := context.Background()
	body := billingBody("before", 1000)
	fill(t, c, "user_alice", body, time.Hour)
	requireMiss(t, c, "user_bob")

	resume := srv.freeze(t)

	start := time.Now()
	_, _, err := c.Get(ctx, "user_alice")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, c.Set(ctx, "user_bob", body, time.Hour), context.DeadlineExceeded)
	assert.ErrorIs(t, c.Delete(ctx, "user_alice"), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second, "three operations bounded by 50 ms each")

	resume()
	// The next Get replays the Delete that timed out before it reads anything.
	requireMiss(t, c, "user_alice")
}
