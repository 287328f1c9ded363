package rediscache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned (wrapped) by Get, Set, GetVersion, SetIfVersion, GetLastKnown
// and SetLastKnown while Redis is known to be unreachable: an operation failed to reach it
// less than the back-off (WithBackoff) ago, so they fail at once instead of each waiting for
// the timeout. The flowglad loader then reads Flowglad, as for any cache error.
var ErrUnavailable = errors.New("rediscache: Redis is unreachable (failing fast until the back-off ends)")

// breaker remembers that Redis could not be reached, so reads stop paying the timeout
// while it is down. After the back-off one operation at a time tries Redis again (a
// probe); every operation that reaches Redis ends the outage.
type breaker struct {
	backoff time.Duration // zero: never fail fast
	logger  *slog.Logger

	mu      sync.Mutex
	down    bool      // the last operation that tried failed to reach Redis
	until   time.Time // while down, operations fail fast before this
	probing bool      // while down and past until, a probe is running
}

// allow reports whether an operation may try Redis now (nil) or must fail fast
// (ErrUnavailable). probe is true when this operation is the one that tries again after
// the back-off: it must report with done.
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down || b.backoff == 0 {
		return false, nil
	}
	if b.probing || time.Now().Before(b.until) {
		return false, ErrUnavailable
	}
	b.probing = true
	return true, nil
}

// done records what an operation that tried Redis learned. parent is the caller's context:
// an operation that failed because its caller canceled it says nothing about Redis.
func (b *breaker) done(parent context.Context, probe bool, err error) {
	b.mu.Lock()
	if probe {
		b.probing = false
	}
	was := b.down
	switch {
	case unreachable(parent, err):
		b.down = true
		b.until = time.Now().Add(b.backoff)
	case err == nil || isReply(err):
		b.down = false
	}
	now := b.down
	b.mu.Unlock()
	switch {
	case now && !was:
		b.logger.LogAttrs(context.Background(), slog.LevelWarn,
			"rediscache: Redis unreachable; billing reads go to Flowglad, and Redis is tried again after each back-off",
			slog.Duration("backoff", b.backoff), slog.String("error", err.Error()))
	case was && !now:
		b.logger.LogAttrs(context.Background(), slog.LevelInfo, "rediscache: Redis reachable again")
	}
}

// unreachable reports whether err means Redis could not be reached: anything but a reply
// from Redis (an error reply included) or the caller canceling. A caller's deadline that
// passed first counts: Redis did not answer within it, as within the Cache's timeout (the
// flowglad loader gives each call at most a second, less than a WithTimeout above that).
func unreachable(parent context.Context, err error) bool {
	return err != nil && !errors.Is(parent.Err(), context.Canceled) && !isReply(err)
}

// isReply reports whether err is an error reply from Redis, which answered.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}
