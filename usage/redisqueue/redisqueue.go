// Package redisqueue is a usage.Queue on Redis Streams, shared by several instances of an
// application: each records into one stream, and their recorders send what any of them
// recorded, each event by one of them at a time.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	q, err := redisqueue.New(rdb, "api")
//	rec, err := usage.NewRecorder(svc, usage.WithQueue(q))
//
// # Guarantees
//
// Put adds its events to the stream in one atomic script (all or none), so an event Record
// has accepted is in Redis, as durable as Redis is configured to be (AOF with fsync for
// no loss on a Redis crash; replication for a failover). Events are read through one
// consumer group: an event claimed by one instance is hidden from the others until it is
// acknowledged (it is at Flowglad, or dead-lettered: XACK and XDEL), released (it is
// claimable at once again), or until its claim is older than the visibility timeout
// (WithVisibilityTimeout): then any instance takes it over with XAUTOCLAIM. That is how
// the events of an instance that died holding them are sent. An event taken over from an
// instance that was only slow may be sent twice; it counts once, because its transaction
// id is fixed.
//
// Keys: the stream is prefix + "{" + name + "}" (DefaultPrefix by default), so that every
// key of one queue shares a Redis Cluster hash slot. Redis 6.2 or later (XAUTOCLAIM);
// tested with Redis 7.0.
package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/flowglad-go/flowglad/usage"
)

// Defaults of the options.
const (
	// DefaultPrefix starts every key of a queue.
	DefaultPrefix = "flowglad:usage:"
	// DefaultGroup is the consumer group every instance reads through.
	DefaultGroup = "recorders"
	// DefaultVisibilityTimeout is how long a claim hides an event from other instances.
	DefaultVisibilityTimeout = 2 * time.Minute
	// DefaultCapacity bounds the stream: Put refuses events past it (usage.ErrQueueFull).
	DefaultCapacity = 1_000_000
)

// releasedIdle is the idle time a released event is given, far past any visibility
// timeout, so that the next Claim of any instance takes it.
const releasedIdle = 365 * 24 * time.Hour

// Queue is a usage.Queue on a Redis stream. It is safe for concurrent use.
type Queue struct {
	rdb        redis.UniversalClient
	name       string
	stream     string
	group      string
	consumer   string
	visibility time.Duration
	capacity   int
	closed     atomic.Bool

	mu sync.Mutex
	// held are the events this instance claimed and has not acknowledged or released: a
	// claim of its own that outlived the visibility timeout is not handed out to it twice.
	held map[string]bool
}

var _ usage.Queue = (*Queue)(nil)

// Option configures a Queue.
type Option func(*config)

type config struct {
	prefix, group, consumer string
	visibility              time.Duration
	capacity                int
}

// WithPrefix sets the prefix of the queue's keys, DefaultPrefix by default. It must not
// contain '{' or '}'.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithConsumer names this instance in the consumer group. The default is the host name,
// the process id and a random suffix: unique per process, which is what it must be.
func WithConsumer(name string) Option { return func(c *config) { c.consumer = name } }

// WithVisibilityTimeout sets how long a claimed event stays hidden from other instances
// before they may take it over, DefaultVisibilityTimeout by default. Make it longer than a
// recorder holds a batch (one bulk call, within flowglad.Config.Timeout): shorter, and a
// slow batch is sent again by another instance (counted once all the same, at the cost of
// a call).
func WithVisibilityTimeout(d time.Duration) Option { return func(c *config) { c.visibility = d } }

// WithCapacity bounds how many events the stream holds, DefaultCapacity by default: past
// it, Put refuses with usage.ErrQueueFull rather than let Redis run out of memory.
func WithCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// New returns the queue name on rdb, creating its stream and consumer group if need be
// (one round trip). The client stays the caller's: Close does not close it.
func New(rdb redis.UniversalClient, name string, opts ...Option) (*Queue, error) {
	if rdb == nil {
		return nil, errors.New("redisqueue: nil client")
	}
	cfg := config{prefix: DefaultPrefix, group: DefaultGroup, visibility: DefaultVisibilityTimeout, capacity: DefaultCapacity}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case name == "" || strings.ContainsAny(name, "{}"):
		return nil, fmt.Errorf("redisqueue: name %q must be non-empty, without '{' or '}'", name)
	case strings.ContainsAny(cfg.prefix, "{}"):
		return nil, fmt.Errorf("redisqueue: prefix %q must not contain '{' or '}'", cfg.prefix)
	case cfg.visibility <= 0:
		return nil, errors.New("redisqueue: visibility timeout must be positive")
	case cfg.capacity <= 0:
		return nil, errors.New("redisqueue: capacity must be positive")
	}
	if cfg.consumer == "" {
		host, _ := os.Hostname()
		cfg.consumer = host + ":" + strconv.Itoa(os.Getpid()) + ":" + uuid.NewString()[:8]
	}
	q := &Queue{rdb: rdb, name: name, stream: cfg.prefix + "{" + name + "}", group: cfg.group, consumer: cfg.consumer,
		visibility: cfg.visibility, capacity: cfg.capacity, held: map[string]bool{}}
	// From the stream's first entry: events recorded before the group existed are sent too.
	err := rdb.XGroupCreateMkStream(context.Background(), q.stream, q.group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return nil, fmt.Errorf("redisqueue: creating the consumer group: %w", err)
	}
	return q, nil
}

// Name is the queue's name, as given to New.
func (q *Queue) Name() string { return q.name }

// Capacity is how many events the queue holds at most.
func (q *Queue) Capacity() int { return q.capacity }

// putScript appends the events if they all fit, and answers their ids; an error reply
// "FULL" when they do not.
//
// KEYS[1] stream; ARGV[1] capacity, ARGV[2..] encoded events.
var putScript = redis.NewScript(`
local n = #ARGV - 1
if redis.call('XLEN', KEYS[1]) + n > tonumber(ARGV[1]) then
  return redis.error_reply('FULL')
end
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return ids
`)

// Put adds events, all or none, in one round trip.
func (q *Queue) Put(ctx context.Context, events []usage.Event) error {
	if q.closed.Load() {
		return usage.ErrClosed
	}
	if len(events) == 0 {
		return nil
	}
	if len(events) > q.capacity {
		return usage.ErrQueueFull
	}
	args := make([]any, 0, len(events)+1)
	args = append(args, q.capacity)
	for _, e := range events {
		b, err := usage.EncodeEvent(e)
		if err != nil {
			return err
		}
		args = append(args, b)
	}
	err := putScript.Run(ctx, q.rdb, []string{q.stream}, args...).Err()
	if redis.HasErrorPrefix(err, "FULL") {
		return usage.ErrQueueFull
	}
	if err != nil {
		return fmt.Errorf("redisqueue: put: %w", err)
	}
	return nil
}

// Claim takes over events whose claims are older than the visibility timeout (or were
// released) first, then reads events never delivered, up to max in all.
func (q *Queue) Claim(ctx context.Context, max int) ([]usage.Claimed, error) {
	if q.closed.Load() {
		return nil, usage.ErrClosed
	}
	if max <= 0 {
		return nil, nil
	}
	var out []usage.Claimed
	start := "0-0"
	for len(out) < max {
		msgs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: q.stream, Group: q.group, Consumer: q.consumer,
			MinIdle: q.visibility, Start: start, Count: int64(max - len(out)),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("redisqueue: claim: %w", err)
		}
		if out, err = q.appendDecoded(ctx, out, msgs); err != nil {
			return nil, err
		}
		if next == "0-0" || next == "" {
			break
		}
		start = next
	}
	if len(out) < max {
		streams, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: q.group, Consumer: q.consumer, Streams: []string{q.stream, ">"},
			Count: int64(max - len(out)), Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redisqueue: claim: %w", err)
		}
		for _, s := range streams {
			if out, err = q.appendDecoded(ctx, out, s.Messages); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// appendDecoded appends the events of msgs. An entry that is not an event (written by
// something else, or by a later version) cannot be sent: it is acknowledged and removed
// rather than handed out forever.
func (q *Queue) appendDecoded(ctx context.Context, out []usage.Claimed, msgs []redis.XMessage) ([]usage.Claimed, error) {
	var junk []string
	q.mu.Lock()
	for _, m := range msgs {
		if q.held[m.ID] {
			continue // ours already: taken back from ourselves after the visibility timeout
		}
		raw, _ := m.Values["e"].(string)
		e, err := usage.DecodeEvent([]byte(raw))
		if err != nil {
			junk = append(junk, m.ID)
			continue
		}
		q.held[m.ID] = true
		out = append(out, usage.Claimed{ID: m.ID, Event: e})
	}
	q.mu.Unlock()
	if len(junk) > 0 {
		if err := q.Ack(ctx, junk); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Ack removes the events from the stream and from the group's pending list.
func (q *Queue) Ack(ctx context.Context, ids []string) error {
	if q.closed.Load() {
		return usage.ErrClosed
	}
	ids = q.drop(ids)
	if len(ids) == 0 {
		return nil
	}
	pipe := q.rdb.TxPipeline()
	pipe.XAck(ctx, q.stream, q.group, ids...)
	pipe.XDel(ctx, q.stream, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisqueue: ack: %w", err)
	}
	return nil
}

// drop forgets that this instance holds ids, and returns those that are stream ids (others
// are no event of the queue: ignored, as the interface asks).
func (q *Queue) drop(ids []string) []string {
	valid := make([]string, 0, len(ids))
	q.mu.Lock()
	for _, id := range ids {
		delete(q.held, id)
		if isStreamID(id) {
			valid = append(valid, id)
		}
	}
	q.mu.Unlock()
	return valid
}

// isStreamID reports whether id has the form of a stream entry id, ms-seq.
func isStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil && id != "0-0"
}

// Release makes the events claimable at once by any instance (their claims are aged past
// the visibility timeout).
func (q *Queue) Release(ctx context.Context, ids []string) error {
	if q.closed.Load() {
		return usage.ErrClosed
	}
	ids = q.drop(ids)
	if len(ids) == 0 {
		return nil
	}
	args := []any{"XCLAIM", q.stream, q.group, q.consumer, 0}
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, "IDLE", releasedIdle.Milliseconds(), "JUSTID")
	if err := q.rdb.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("redisqueue: release: %w", err)
	}
	return nil
}

// statsScript answers the stream's length, the group's pending count less the claims
// older than the visibility timeout (released, or of an instance that stopped), and the
// oldest entry's event.
//
// KEYS[1] stream; ARGV[1] group, ARGV[2] visibility timeout in ms, ARGV[3] how many old
// claims to count at most.
var statsScript = redis.NewScript(`
local n = redis.call('XLEN', KEYS[1])
local claimed = 0
local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
if ok then
  claimed = p[1]
  if claimed > 0 then
    local old = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', ARGV[3])
    claimed = claimed - #old
  end
end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local oldest = ''
if #first == 1 then
  local f = first[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'e' then oldest = f[i + 1] end
  end
end
return {n, claimed, oldest}
`)

// maxCountedOldClaims bounds the claims Stats reads to tell released ones from held ones.
const maxCountedOldClaims = 100_000

// Stats reads the stream's length, the events claimed and the oldest event in one script.
// Claimed counts the claims younger than the visibility timeout, of every instance.
func (q *Queue) Stats(ctx context.Context) (usage.QueueStats, error) {
	if q.closed.Load() {
		return usage.QueueStats{}, usage.ErrClosed
	}
	var st usage.QueueStats
	v, err := statsScript.Run(ctx, q.rdb, []string{q.stream}, q.group, q.visibility.Milliseconds(), maxCountedOldClaims).Slice()
	if err != nil {
		return st, fmt.Errorf("redisqueue: stats: %w", err)
	}
	if len(v) != 3 {
		return st, fmt.Errorf("redisqueue: stats: unexpected reply %v", v)
	}
	n, _ := v[0].(int64)
	claimed, _ := v[1].(int64)
	st.Queued, st.Claimed = int(n), int(max(claimed, 0))
	if raw, _ := v[2].(string); raw != "" {
		if e, err := usage.DecodeEvent([]byte(raw)); err == nil {
			st.OldestRecordedAt = time.UnixMilli(e.RecordedAt)
		}
	}
	return st, nil
}

// Close stops the queue's methods (they return usage.ErrClosed); the events stay in Redis,
// and the client stays open (it is the caller's). Events this instance holds are taken
// over by the others after the visibility timeout: release them first (Recorder.Close
// does).
func (q *Queue) Close() error {
	q.closed.Store(true)
	return nil
}
