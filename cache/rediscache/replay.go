package rediscache

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// failed records a Delete of key that failed (the attempt numbered seq) and starts the
// background replay unless it runs.
func (c *Cache) failed(key string, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq > c.pending[key] {
		c.pending[key] = seq
	}
	if !c.replaying && !c.closed {
		c.replaying = true
		c.wg.Add(1)
		go c.replayLoop()
	}
}

// deleted records a Delete of key that succeeded and began as attempt seq: it covers the
// failed attempts that began before it (their mutations were done by then), not later ones.
func (c *Cache) deleted(key string, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pending[key]; ok && p < seq {
		delete(c.pending, key)
	}
}

// replayFirst replays failed deletes before an operation, so this instance's invalidations
// reach Redis before it uses Redis for anything else. When another goroutine is replaying,
// the operation goes ahead.
func (c *Cache) replayFirst(ctx context.Context) error {
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n == 0 {
		return nil
	}
	_, err := c.replay(ctx)
	return err
}

// replay deletes every pending key in one pipeline. tried reports whether it sent the
// pipeline (nothing is sent when nothing is pending or another replay runs).
func (c *Cache) replay(ctx context.Context) (tried bool, err error) {
	if !c.replayMu.TryLock() {
		return false, nil
	}
	defer c.replayMu.Unlock()
	c.mu.Lock()
	c.seq++
	seq := c.seq
	keys := make([]string, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	if len(keys) == 0 {
		return false, nil
	}
	ttl := generationTTL.Milliseconds()
	cmds, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			ks, _ := c.keys(k) // pending keys passed keys() in Delete
			// EVAL, not EVALSHA: after a restart the script cache is empty, and a
			// pipeline cannot fall back.
			deleteScript.Eval(ctx, p, ks, ttl)
		}
		return nil
	})
	for i, cmd := range cmds {
		if cmd.Err() == nil {
			c.deleted(keys[i], seq)
		}
	}
	return true, err
}

// replayLoop retries failed deletes every interval until none is left or Close is called.
func (c *Cache) replayLoop() {
	defer c.wg.Done()
	t := time.NewTimer(c.every)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx := withLogger(context.Background(), c.logger)
		tried, err := bounded(ctx, c.timeout, func(ctx context.Context) (bool, error) {
			return c.replay(ctx)
		})
		if tried || err != nil { // err without tried: the timeout, Redis hanging
			c.breaker.done(ctx, false, err)
		}
		c.mu.Lock()
		left := len(c.pending)
		if left == 0 {
			c.replaying = false
		}
		c.mu.Unlock()
		if left == 0 {
			c.logger.LogAttrs(context.Background(), slog.LevelInfo, "rediscache: failed billing cache deletes replayed")
			return
		}
		if err != nil && !warned {
			warned = true
			c.logger.LogAttrs(context.Background(), slog.LevelWarn,
				"rediscache: billing cache deletes still failing; other instances may read stale billing until they succeed or expire",
				slog.Int("pending", left), slog.String("error", err.Error()))
		}
		t.Reset(c.every)
	}
}
