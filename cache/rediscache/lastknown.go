package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// lastKnownStampLen is the length of the read time that prefixes a last-known body: epoch
// milliseconds in 16 decimal digits, so the script can compare them as numbers.
const lastKnownStampLen = 16

// setLastKnownScript stores a last-known body unless the one stored was read later (two
// instances reading at once: the newer read wins, whichever lands last); it answers 1 when
// stored.
//
// KEYS[1] last-known key; ARGV[1] read time (16 digits), ARGV[2] body, ARGV[3] TTL in ms.
var setLastKnownScript = redis.NewScript(`
local cur = redis.call('GETRANGE', KEYS[1], 0, 15)
if cur ~= '' and tonumber(cur) ~= nil and tonumber(cur) > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'PX', ARGV[3])
return 1
`)

// SetLastKnown keeps body, read from Flowglad at readAt, as key's last-known billing for
// ttl (flowglad.Config.StaleIfError), unless a later read is already kept. Unlike the
// cached body it survives Delete: it is served only when Flowglad cannot be read. It
// implements flowglad.StaleBillingCache. Like Get and Set, it fails at once with
// ErrUnavailable while Redis is known down (WithBackoff).
func (c *Cache) SetLastKnown(ctx context.Context, key string, body []byte, readAt time.Time, ttl time.Duration) error {
	k, err := c.lastKnownKey(key)
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return errors.New("rediscache: set last known: ttl must be positive")
	}
	stamp := fmt.Sprintf("%0*d", lastKnownStampLen, max(readAt.UnixMilli(), 0))
	// Through the back-off, as Get and Set: the loader calls this after every Flowglad
	// read, on the reading request's goroutine, which must not pay the timeout each time
	// while Redis is down.
	_, err = do(c, ctx, true, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, setLastKnownScript.Run(ctx, c.client, []string{k}, stamp, body, max(ttl.Milliseconds(), 1)).Err()
	})
	if err != nil {
		return fmt.Errorf("rediscache: set last known: %w", err)
	}
	return nil
}

// GetLastKnown returns key's last-known billing and when it was read, or found false. Like
// Get, it fails at once with ErrUnavailable while Redis is known down (WithBackoff).
func (c *Cache) GetLastKnown(ctx context.Context, key string) ([]byte, time.Time, bool, error) {
	k, err := c.lastKnownKey(key)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	v, err := do(c, ctx, true, func(ctx context.Context) ([]byte, error) {
		return c.client.Get(ctx, k).Bytes()
	})
	if errors.Is(err, redis.Nil) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("rediscache: get last known: %w", err)
	}
	if len(v) < lastKnownStampLen {
		return nil, time.Time{}, false, nil // not ours: none
	}
	ms, err := strconv.ParseInt(string(v[:lastKnownStampLen]), 10, 64)
	if err != nil {
		return nil, time.Time{}, false, nil
	}
	return v[lastKnownStampLen:], time.UnixMilli(ms), true, nil
}

// lastKnownKey is the key of a customer's last-known billing, in the hash slot of its
// cached body.
func (c *Cache) lastKnownKey(key string) (string, error) {
	keys, err := c.keys(key)
	if err != nil {
		return "", err
	}
	return keys[0] + ":last", nil
}
