package rediscache_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/cache/rediscache"
	"github.com/flowglad-go/flowglad/internal/logbuf"
)

// commandCounter is a go-redis hook that counts the commands and pipelines a client sends.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

func debugLogger(buf *logbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestNewFromURL: NewFromURL checks that Redis answers before it returns, and its errors
// name the server, never the URL's password.
func TestNewFromURL(t *testing.T) {
	srv := startRedis(t)
	const password = "s3cr3t-Pa55word"
	missing := filepath.Join(filepath.Dir(srv.sock), "missing.sock")
	tests := []struct {
		name string
		url  string
		want []string // in the error; none: no error
	}{
		{"reachable", "unix://" + srv.sock, nil},
		{"reachable, database 3", "unix://" + srv.sock + "?db=3", nil},
		{"no server on the socket", "unix://" + missing, []string{missing, "unix", "db 0", "PING to Redis at", "last dial", "no such file"}},
		{"no server on the port, with a password", "redis://app:" + password + "@127.0.0.1:1/2", []string{"127.0.0.1:1", "tcp", "db 2", "PING to Redis at", "connection refused"}},
		{"malformed, with a password", "redis://app:" + password + "@127.0.0.1:badport/0", []string{"invalid Redis URL"}},
		{"malformed userinfo", "redis://app:" + password + "%zz@127.0.0.1:6379/0", []string{"invalid Redis URL"}},
		{"malformed, no password", "redis://127.0.0.1:badport/0", []string{"invalid Redis URL", "invalid port"}},
		{"another scheme", "mysql://app:" + password + "@db:3306", []string{"invalid URL scheme"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logbuf.Buffer
			c, err := rediscache.NewFromURL(tc.url, rediscache.WithTimeout(500*time.Millisecond), rediscache.WithLogger(debugLogger(&logs)))
			if tc.want == nil {
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				fill(t, c, "user_alice", billingBody("alice", 100), time.Minute)
				requireHit(t, c, "user_alice", billingBody("alice", 100))
				return
			}
			require.Error(t, err)
			assert.Nil(t, c)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), password[:6], "the error quotes the password")
			assert.NotContains(t, logs.String(), password[:6], "the log quotes the password")
		})
	}

	t.Run("a wrong password", func(t *testing.T) {
		locked := startRedis(t)
		require.NoError(t, locked.client(true).ConfigSet(context.Background(), "requirepass", "the-right-one").Err())
		_, err := rediscache.NewFromURL("unix://default:"+password+"@"+locked.sock, rediscache.WithTimeout(500*time.Millisecond))
		require.Error(t, err)
		assert.Contains(t, err.Error(), locked.sock)
		assert.Contains(t, err.Error(), "WRONGPASS")
		assert.NotContains(t, err.Error(), password[:6])
	})

	t.Run("go-redis's dial errors go to the Cache's logger", func(t *testing.T) {
		down := startRedis(t)
		var logs logbuf.Buffer
		c, err := rediscache.NewFromURL("unix://"+down.sock, rediscache.WithTimeout(500*time.Millisecond),
			rediscache.WithLogger(debugLogger(&logs)), rediscache.WithBackoff(0))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		down.kill()
		_, _, err = c.Get(context.Background(), "user_alice")
		require.Error(t, err)
		// go-redis logs the failed dial from a goroutine of its pool, when it gives up.
		require.Eventually(t, func() bool {
			return strings.Contains(logs.String(), "rediscache: go-redis: redis: connection pool: failed to dial")
		}, 10*time.Second, 10*time.Millisecond, "logs: %s", logs.String())
		assert.Contains(t, logs.String(), "level=WARN")
		assert.Contains(t, logs.String(), down.sock)
	})
}

// TestRedisCacheFailsFastWhileDown: once an operation could not reach Redis, Get and Set
// fail at once (no command sent) for the back-off, instead of each paying the timeout; they
// never answer a body meanwhile. A Delete still tries, and one that reaches Redis ends the
// outage.
func TestRedisCacheFailsFastWhileDown(t *testing.T) {
	srv := startRedis(t)
	client := srv.client(true)
	var sent commandCounter
	client.AddHook(&sent)
	var logs logbuf.Buffer
	c := newCache(t, client, rediscache.WithTimeout(50*time.Millisecond), rediscache.WithBackoff(time.Hour),
		rediscache.WithReplayInterval(time.Hour), rediscache.WithLogger(debugLogger(&logs)))
	ctx := context.Background()
	body := billingBody("before", 1000)
	fill(t, c, "user_alice", body, time.Hour)
	requireMiss(t, c, "user_bob")

	resume := srv.freeze(t) // Redis hangs

	_, found, err := c.Get(ctx, "user_alice")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the first read pays the timeout")
	assert.False(t, found)
	assert.Contains(t, logs.String(), "Redis unreachable")

	before := sent.n.Load()
	for range 3 {
		got, found, err := c.Get(ctx, "user_alice")
		assert.ErrorIs(t, err, rediscache.ErrUnavailable)
		assert.False(t, found)
		assert.Nil(t, got)
	}
	assert.ErrorIs(t, c.Set(ctx, "user_bob", body, time.Hour), rediscache.ErrUnavailable)
	assert.Equal(t, before, sent.n.Load(), "no command reaches Redis during the back-off")

	assert.ErrorIs(t, c.Delete(ctx, "user_alice"), context.DeadlineExceeded, "a Delete still tries")
	assert.Greater(t, sent.n.Load(), before)
	before = sent.n.Load()
	assert.ErrorIs(t, c.Delete(ctx, "user_alice"), rediscache.ErrUnavailable,
		"a retry of a failed Delete (the loader's, before each read of the customer) fails fast")
	assert.Equal(t, before, sent.n.Load())
	assert.ErrorIs(t, c.Delete(ctx, "user_bob"), context.DeadlineExceeded, "another customer's Delete tries")

	resume()
	waitBack(ctx, t, c)
	assert.Contains(t, logs.String(), "Redis reachable again")
	requireMiss(t, c, "user_alice") // its Delete is replayed first

	t.Run("after the back-off one read tries again", func(t *testing.T) {
		c := newCache(t, srv.client(true), rediscache.WithTimeout(50*time.Millisecond),
			rediscache.WithBackoff(20*time.Millisecond), rediscache.WithPrefix("probe:"))
		fill(t, c, "user_alice", body, time.Hour)
		resume = srv.freeze(t)
		_, _, err := c.Get(ctx, "user_alice")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, _, err = c.Get(ctx, "user_alice")
		require.ErrorIs(t, err, rediscache.ErrUnavailable)
		resume()
		require.Eventually(t, func() bool {
			got, found, err := c.Get(ctx, "user_alice")
			return err == nil && found && string(got) == string(body)
		}, 10*time.Second, 5*time.Millisecond)
	})
}

// TestRedisLastKnownFailsFastWhileDown: while Redis is known down, SetLastKnown and
// GetLastKnown fail at once like Get and Set. The loader keeps the last-known billing after
// every Flowglad read, on the reading request's goroutine: without the back-off, every
// billing read would pay the timeout again while Redis is down.
func TestRedisLastKnownFailsFastWhileDown(t *testing.T) {
	srv := startRedis(t)
	client := srv.client(true)
	var sent commandCounter
	client.AddHook(&sent)
	c := newCache(t, client, rediscache.WithTimeout(50*time.Millisecond), rediscache.WithBackoff(time.Hour),
		rediscache.WithReplayInterval(time.Hour), rediscache.WithLogger(slog.New(slog.DiscardHandler)))
	ctx := context.Background()
	readAt := time.UnixMilli(1_765_000_000_000)
	// Kept through a Cache with the default timeout: 50 ms is short on a loaded machine.
	require.NoError(t, newCache(t, srv.client(true)).SetLastKnown(ctx, "user_alice", []byte(`{"v":1}`), readAt, time.Hour))

	resume := srv.freeze(t) // Redis hangs
	_, _, err := c.Get(ctx, "user_alice")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the first read pays the timeout")

	before := sent.n.Load()
	assert.ErrorIs(t, c.SetLastKnown(ctx, "user_alice", []byte(`{"v":2}`), readAt.Add(time.Second), time.Hour),
		rediscache.ErrUnavailable)
	_, _, found, err := c.GetLastKnown(ctx, "user_alice")
	assert.ErrorIs(t, err, rediscache.ErrUnavailable)
	assert.False(t, found)
	assert.Equal(t, before, sent.n.Load(), "no command reaches Redis during the back-off")

	resume()
	waitBack(ctx, t, c)
	body, got, found, err := c.GetLastKnown(ctx, "user_alice")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, `{"v":1}`, string(body))
	assert.True(t, got.Equal(readAt), "%v", got)
}

// TestRedisCacheFailsFastUnderCallersDeadline: the flowglad loader gives each cache call at
// most a second. With a timeout above that (WithTimeout(5 * time.Second), say), it is the
// caller's deadline that ends an operation against a hung Redis; that says Redis did not
// answer as much as the Cache's own timeout does, so the back-off starts, and later reads
// fail at once instead of each waiting for the caller's deadline. A caller that cancels
// says nothing about Redis.
func TestRedisCacheFailsFastUnderCallersDeadline(t *testing.T) {
	srv := startRedis(t)
	client := srv.client(true)
	var sent commandCounter
	client.AddHook(&sent)
	c := newCache(t, client, rediscache.WithTimeout(time.Minute), rediscache.WithBackoff(time.Hour),
		rediscache.WithReplayInterval(time.Hour), rediscache.WithLogger(slog.New(slog.DiscardHandler)))
	srv.freeze(t) // Redis hangs until the test ends

	canceled, cancel := context.WithCancel(context.Background())
	go func() { cancel() }()
	_, _, err := c.Get(canceled, "user_alice")
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = c.Get(withDeadline(t, 50*time.Millisecond), "user_alice")
	require.ErrorIs(t, err, context.DeadlineExceeded, "a canceled caller did not start the back-off")

	before := sent.n.Load()
	_, _, err = c.Get(withDeadline(t, 2*time.Second), "user_alice")
	assert.ErrorIs(t, err, rediscache.ErrUnavailable, "the caller's deadline passing started the back-off")
	assert.Equal(t, before, sent.n.Load(), "no command reaches Redis during the back-off")
}

// withDeadline is a context that ends after d, canceled when the test ends.
func withDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitBack returns once a Delete through c reaches Redis again. A Delete tries even while
// Redis is known down; the first after SIGCONT may still time out on a loaded machine (the
// server catching up), so it tries until one lands, each time another customer's (a retry
// of a failed Delete would fail fast).
func waitBack(ctx context.Context, t *testing.T, c *rediscache.Cache) {
	t.Helper()
	var lastErr error
	deletes := 0
	if !assert.Eventually(t, func() bool {
		deletes++
		lastErr = c.Delete(ctx, "user_carol"+strconv.Itoa(deletes))
		return lastErr == nil
	}, 10*time.Second, 5*time.Millisecond, "a Delete reaches Redis: the outage is over") {
		t.Fatalf("last Delete: %v", lastErr)
	}
}
