// Package rediscache is a billing cache shared by several instances of a Flowglad handler,
// stored in Redis. Plug it into flowglad.Config.BillingCache (with a BillingCacheTTL) when
// more than one process serves the same customers: a mutation or webhook handled by one
// instance is then seen by every instance's next billing read.
//
// # Guarantees
//
// Every Get is one round trip to Redis: a GET of the body, pipelined with a small script
// that reads the server's run_id and the customer's generation. Nothing is kept in the
// process (no client-side caching, whose invalidations arrive asynchronously), so once
// Delete has returned nil, no instance's next Get returns the deleted body. Three mechanisms
// keep a stale body from coming back afterwards:
//
//   - A per-customer generation, moved forward by every Delete. The flowglad loader uses
//     the Cache as a flowglad.VersionedBillingCache: a lookup that misses (GetVersion)
//     returns the generation it saw, and the read that follows it stores its answer
//     (SetIfVersion) only if the generation is still that one. A read that started before
//     another instance's mutation therefore cannot store its old body after that
//     mutation's Delete. And a request whose lookup sees a newer generation than a read
//     already running on its instance does not join that read, which began before the
//     change: it reads Flowglad itself. Each read is judged by its own lookup, so this
//     holds however many loaders (Handlers, Services) share the Cache in one process, and
//     a body is cached by the first read after a mutation.
//   - Get and Set, for other callers (a wrapper that hides GetVersion and SetIfVersion),
//     keep the same rule with what the process saw: a Get that misses remembers the
//     generation, and Set stores the body only if it is unchanged; a Set with no miss
//     before it stores nothing. As reads for one customer may then overlap in a process
//     unseen, Set also stores nothing within a settle time (WithSettle, 5 s) of the
//     customer's last Delete.
//   - The Redis server's identity (its run_id). A body is stored with the run_id of the
//     server process that stored it and is a miss on any other: after a restart that kept
//     data (RDB or AOF), or a failover to a replica that missed the last writes (a Delete
//     included), every old body is a miss, as is every Set whose generation was read from
//     the old server. Such an event empties the cache in effect; it refills from Flowglad.
//   - Replayed deletes. When a Delete fails (Redis down or unreachable), the Cache remembers
//     the key, retries it in the background (WithReplayInterval) and before its next Get or
//     Set, until it succeeds. The flowglad loader meanwhile reads that customer's billing
//     from Flowglad on this instance.
//
// # Limits
//
// While one instance cannot reach Redis but others can, and Redis keeps running (a network
// partition), the others may read a body that the cut-off instance failed to delete, until
// that instance reaches Redis again and replays its deletes, or until the body's TTL runs
// out. An instance that stops before replaying loses its pending deletes: only the TTL
// bounds those. Choose Config.BillingCacheTTL as the longest stale billing you accept then.
// Pending deletes are kept in memory, one entry per customer, however long the outage.
//
// Through Get and Set only (not the flowglad loader's way), when two reads for one
// customer overlap in one process, the generation cannot tell them apart, and the settle
// time protects the later one only if its Flowglad answer is stored within the settle time
// of being produced. A wrapper around the Cache should implement GetVersion and
// SetIfVersion by calling the Cache's.
//
// Reads must go to the primary: do not route them to replicas (ReadOnly, RouteByLatency or
// RouteRandomly in cluster options), which may lag behind a Delete. Redis 5 or later; tested
// with Redis 7.0. Keys are prefix + "{" + id + "}" for the body and the same + ":gen" for
// the generation, with '%', '{' and '}' in the id percent-escaped: both share a Redis
// Cluster hash tag.
//
// # Failures
//
// Each operation is bounded by a short timeout (WithTimeout, 200 ms by default), even when
// the client ignores context deadlines. Errors are returned to the flowglad loader, which
// logs them and reads Flowglad instead; they never fail a request. Once an operation could
// not reach Redis, Get and Set (and GetLastKnown and SetLastKnown) fail at once with
// ErrUnavailable for a back-off (WithBackoff, 1 s by default), so while Redis is down reads
// go straight to Flowglad instead of each waiting for the timeout; then one read tries
// Redis again. A Delete tries anyway (unless it retries one that failed: see Delete).
// Nothing is kept in memory to be served meanwhile.
//
// NewFromURL checks that the server answers a PING within the timeout before it returns;
// its errors name the server's address and database, never the URL's password.
//
// # Logging
//
// What the Cache reports goes to its logger (WithLogger). go-redis v9.22.0 has a single
// logger for the whole process (redis.SetLogger) and none per client; importing this
// package installs one, before main runs, that sends go-redis's messages about a Cache's
// operations (and, for a client made by NewFromURL, about its failed dials) to that Cache's
// logger at Warn, and every other go-redis message to standard error as go-redis's default
// logger does. That logger is the one global this package sets. A program that calls
// redis.SetLogger itself replaces it and then receives all of go-redis's messages; call it
// before any client runs, as go-redis does not guard the variable.
package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of the options.
const (
	// DefaultPrefix starts every key the Cache writes.
	DefaultPrefix = "flowglad:billing:"
	// DefaultTimeout bounds each operation, a replay of failed deletes included.
	DefaultTimeout = 200 * time.Millisecond
	// DefaultReplayInterval is how often failed deletes are retried in the background.
	DefaultReplayInterval = time.Second
	// DefaultSettle is how long after a customer's Delete no body is stored for them by a
	// Set (the flowglad loader does not use Set: see WithSettle).
	DefaultSettle = 5 * time.Second
	// DefaultBackoff is how long Get and Set fail at once after an operation could not
	// reach Redis.
	DefaultBackoff = time.Second
)

const (
	// fillWindow is how long a miss's generation may be used by a Set: a Flowglad read
	// that takes longer than this is not stored. Longer than any sane Flowglad timeout.
	fillWindow = 10 * time.Minute
	// generationTTL is how long a customer's generation outlives its last Delete. It must
	// exceed fillWindow plus the time an abandoned Set may still take to reach Redis, so
	// that a generation cannot expire (and read as "none" again) under a running fill.
	generationTTL = 24 * time.Hour
)

// Cache is a flowglad.BillingCache on Redis. It is safe for concurrent use. Create it with
// New or NewFromURL; call Close when done to stop retrying failed deletes.
type Cache struct {
	client  redis.UniversalClient
	owned   bool // created by NewFromURL: Close closes it
	prefix  string
	timeout time.Duration
	every   time.Duration
	settle  time.Duration
	logger  *slog.Logger
	breaker breaker

	mu sync.Mutex
	// seen holds, per key, the generation that the oldest unconsumed miss of this process
	// saw; Set consumes it.
	seen      map[string]observation
	lastSweep time.Time
	// pending holds keys whose Delete failed, with the sequence number of the latest
	// failed attempt; a Delete that began after it clears it.
	pending   map[string]uint64
	seq       uint64
	replaying bool // a background replay loop is running
	closed    bool
	done      chan struct{}
	wg        sync.WaitGroup
	replayMu  sync.Mutex // one replay at a time
}

// observation is what a Get miss saw: the server's run_id and the key's generation.
type observation struct {
	token string
	at    time.Time
}

// Option configures a Cache.
type Option func(*config)

type config struct {
	prefix  string
	timeout time.Duration
	every   time.Duration
	settle  time.Duration
	backoff time.Duration
	logger  *slog.Logger
}

// WithPrefix sets the prefix of every key, DefaultPrefix by default. Give each application
// (or environment) sharing a Redis database its own. It must not contain '{' or '}', which
// Redis Cluster reads as a hash tag.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTimeout bounds each operation, DefaultTimeout by default. Past it the operation
// returns an error and the loader reads Flowglad.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithReplayInterval sets how often deletes that failed are retried in the background,
// DefaultReplayInterval by default.
func WithReplayInterval(d time.Duration) Option { return func(c *config) { c.every = d } }

// WithSettle sets how long after a customer's Delete (from any instance) Set stores
// nothing for that customer, DefaultSettle by default. It applies to Set only: the
// flowglad loader stores through SetIfVersion, which needs no settle time, so a
// Handler's reads are cached from the first read after a mutation whatever this is.
//
// It covers what the generation alone cannot when Get and Set are called directly (by a
// wrapper that hides GetVersion and SetIfVersion from the loader): reads of one customer
// that overlap in one process. Several loaders sharing the Cache overlap them (a Handler
// and a Service made separately with flowglad.NewService, say), and the Cache cannot tell
// which miss each Set belongs to, so a read may be judged by a miss seen after it began;
// its body is then refused if another instance's Delete came less than the settle time
// before the Set, which covers every Flowglad answer stored within the settle time of
// being produced. Zero turns this off: safe through Set when each Cache serves one loader.
func WithSettle(d time.Duration) Option { return func(c *config) { c.settle = d } }

// WithBackoff sets how long, after an operation failed to reach Redis (a refused or
// broken connection, a timeout), Get and Set fail at once with ErrUnavailable instead of
// trying: DefaultBackoff by default. Then one operation tries again, and any operation that
// reaches Redis (a Delete, which tries anyway, or the background replay included) ends the
// outage. While Redis is down every read therefore goes straight to Flowglad instead of
// waiting for the timeout first; nothing is ever served from memory. Zero makes every
// operation try Redis.
func WithBackoff(d time.Duration) Option { return func(c *config) { c.backoff = d } }

// WithLogger receives what the Cache reports: Redis becoming unreachable and reachable
// again, the background replay's outcome (a warning when deletes are still failing, info
// when they have been replayed), and go-redis's own messages about the Cache's operations
// (a failed dial, say; see the package doc's Logging section). Nil or absent means
// slog.Default(). Keys (customers' ids) are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// New returns a Cache over a client the application already has (*redis.Client,
// *redis.ClusterClient, a failover client). The client stays the caller's: Close does not
// close it. Each operation is bounded by the timeout whether or not the client was built
// with ContextTimeoutEnabled; with it, a timed-out command also stops waiting for Redis
// instead of finishing in the background.
func New(client redis.UniversalClient, opts ...Option) (*Cache, error) {
	if client == nil {
		return nil, errors.New("rediscache: nil client")
	}
	cfg := config{prefix: DefaultPrefix, timeout: DefaultTimeout, every: DefaultReplayInterval, settle: DefaultSettle, backoff: DefaultBackoff}
	for _, o := range opts {
		o(&cfg)
	}
	if strings.ContainsAny(cfg.prefix, "{}") {
		return nil, fmt.Errorf("rediscache: prefix %q must not contain '{' or '}'", cfg.prefix)
	}
	if cfg.timeout <= 0 {
		return nil, errors.New("rediscache: timeout must be positive")
	}
	if cfg.every <= 0 {
		return nil, errors.New("rediscache: replay interval must be positive")
	}
	if cfg.settle < 0 {
		return nil, errors.New("rediscache: settle time must not be negative")
	}
	if cfg.backoff < 0 {
		return nil, errors.New("rediscache: back-off must not be negative")
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return &Cache{
		client:  client,
		prefix:  cfg.prefix,
		timeout: cfg.timeout,
		every:   cfg.every,
		settle:  cfg.settle,
		logger:  cfg.logger,
		breaker: breaker{backoff: cfg.backoff, logger: cfg.logger},
		seen:    map[string]observation{},
		pending: map[string]uint64{},
		done:    make(chan struct{}),
	}, nil
}

// NewFromURL connects to the Redis server at rawURL (redis://, rediss:// or unix://, as
// parsed by redis.ParseURL) with context deadlines enabled, and checks that it answers one
// PING within the timeout (WithTimeout). Its errors name the server's address and database,
// never the URL's password. Close closes the connection.
func NewFromURL(rawURL string, opts ...Option) (*Cache, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, urlError(rawURL, err)
	}
	o.ContextTimeoutEnabled = true
	client := redis.NewClient(o)
	c, err := New(client, opts...)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	c.owned = true
	// The client is the Cache's alone: all its dial failures concern the Cache.
	dials := &dialHook{logger: c.logger}
	client.AddHook(dials)
	_, err = bounded(withLogger(context.Background(), c.logger), c.timeout, func(ctx context.Context) (string, error) {
		return client.Ping(ctx).Result()
	})
	if err != nil {
		_ = c.Close()
		if d := dials.last.Load(); d != nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (last dial: %w)", err, d.err)
		}
		return nil, fmt.Errorf("rediscache: PING to Redis at %s (%s, db %d) failed (timeout %v): %w",
			o.Addr, o.Network, o.DB, c.timeout, err)
	}
	return c, nil
}

// urlError is a Redis URL's parse error without the URL: net/url quotes the whole URL,
// password included, and its reasons can quote part of the userinfo.
func urlError(rawURL string, err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return fmt.Errorf("rediscache: %w", err) // go-redis's own: the scheme, path or query
	}
	if strings.Contains(rawURL, "@") {
		return errors.New("rediscache: invalid Redis URL (its text is not repeated: it may hold a password)")
	}
	return fmt.Errorf("rediscache: invalid Redis URL: %w", ue.Err)
}

// Close stops retrying failed deletes (those still pending are dropped: only their TTL
// bounds them then) and closes the client if NewFromURL created it.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	c.wg.Wait()
	if c.owned {
		return c.client.Close()
	}
	return nil
}

// Get returns the body stored for key, or found == false. A miss remembers the key's
// generation for the Set that follows it. Deletes that failed earlier are retried first;
// if they fail again Get returns an error, so this instance reads Flowglad until Redis
// answers again.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	keys, err := c.keys(key)
	if err != nil {
		return nil, false, err
	}
	r, err := c.getToken(ctx, keys)
	if err != nil {
		return nil, false, fmt.Errorf("rediscache: get: %w", err)
	}
	if r.body == nil {
		c.observe(key, r.token)
		return nil, false, nil
	}
	return r.body, true, nil
}

// GetVersion implements flowglad.VersionedBillingCache: Get that, on a miss, returns the
// customer's generation as the version (the server's run_id and the generation, which every
// Delete moves forward) instead of remembering it for a Set. The flowglad loader uses it
// with SetIfVersion, so each read is judged by its own lookup.
func (c *Cache) GetVersion(ctx context.Context, key string) (body []byte, version string, found bool, err error) {
	keys, err := c.keys(key)
	if err != nil {
		return nil, "", false, err
	}
	r, err := c.getToken(ctx, keys)
	if err != nil {
		return nil, "", false, fmt.Errorf("rediscache: get: %w", err)
	}
	if r.body == nil {
		return nil, r.token, false, nil
	}
	return r.body, "", true, nil
}

// SetIfVersion implements flowglad.VersionedBillingCache: it stores body under key for ttl
// if the customer's generation is still version, as a GetVersion miss returned it, on the
// same server process; otherwise it drops the body and returns nil. No settle time applies:
// the version belongs to the read whose body this is, so an overlapping read of another
// loader cannot lend it a newer one.
func (c *Cache) SetIfVersion(ctx context.Context, key string, body []byte, ttl time.Duration, version string) error {
	keys, err := c.keys(key)
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return errors.New("rediscache: set: ttl must be positive")
	}
	if len(version) < runIDLen+2 {
		return errors.New("rediscache: set: not a version from GetVersion")
	}
	return c.set(ctx, keys, body, ttl, version, 0)
}

// getToken reads a body, or a miss's token, after replaying failed deletes.
func (c *Cache) getToken(ctx context.Context, keys []string) (getResult, error) {
	return do(c, ctx, true, func(ctx context.Context) (getResult, error) {
		if err := c.replayFirst(ctx); err != nil {
			return getResult{}, err
		}
		r, err := c.get(ctx, keys, false)
		if redis.HasErrorPrefix(err, "NOSCRIPT") { // a new server: send the script itself
			r, err = c.get(ctx, keys, true)
		}
		return r, err
	})
}

// getResult is a hit's body, or a miss's token (the server's run_id and the generation).
type getResult struct {
	body  []byte
	token string
}

// get reads the token and the body in one round trip, on one connection. A body stamped
// with another server process's run_id is a miss.
func (c *Cache) get(ctx context.Context, keys []string, eval bool) (getResult, error) {
	pipe := c.client.Pipeline()
	var tok *redis.Cmd
	if eval {
		tok = tokenScript.Eval(ctx, pipe, keys[1:])
	} else {
		tok = tokenScript.EvalSha(ctx, pipe, keys[1:])
	}
	get := pipe.Get(ctx, keys[0])
	_, _ = pipe.Exec(ctx) // errors are the commands'
	token, err := tok.Text()
	if err != nil {
		return getResult{}, err
	}
	if len(token) < runIDLen+2 {
		return getResult{}, fmt.Errorf("unexpected token %q", token)
	}
	body, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return getResult{token: token}, nil
	}
	if err != nil {
		return getResult{}, err
	}
	if len(body) < runIDLen || string(body[:runIDLen]) != token[:runIDLen] {
		return getResult{token: token}, nil // stored before a restart or a failover
	}
	return getResult{body: body[runIDLen:]}, nil
}

// Set stores body under key for ttl, but only if the key's generation has not changed since
// this process's Get of key missed: if it has, another instance (or this one) has deleted
// the key since this process began reading Flowglad, the body may predate that change, and
// Set drops it and returns nil. It drops it too within the settle time of the key's last
// Delete (WithSettle). A Set not preceded by a miss in this process (within ten minutes)
// stores nothing either: the flowglad loader always calls Get first.
func (c *Cache) Set(ctx context.Context, key string, body []byte, ttl time.Duration) error {
	keys, err := c.keys(key)
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return errors.New("rediscache: set: ttl must be positive")
	}
	token, ok := c.consume(key)
	if !ok {
		return nil
	}
	return c.set(ctx, keys, body, ttl, token, c.settle)
}

// set runs setScript: body stored if the token still names the server process and the
// generation, and the last Delete is at least settle old.
func (c *Cache) set(ctx context.Context, keys []string, body []byte, ttl time.Duration, token string, settle time.Duration) error {
	ms := max(ttl.Milliseconds(), 1)
	_, err := do(c, ctx, true, func(ctx context.Context) (struct{}, error) {
		if err := c.replayFirst(ctx); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, setScript.Run(ctx, c.client, keys, token, body, ms, settle.Microseconds()).Err()
	})
	if err != nil {
		return fmt.Errorf("rediscache: set: %w", err)
	}
	return nil
}

// Delete removes key's body and bumps its generation, so that no fill that began before
// can store an older body. On error the key is retried in the background and before this
// Cache's next Get or Set, until a Delete of it succeeds. A Delete of a key whose last
// Delete failed fails at once (ErrUnavailable) while Redis is known down (WithBackoff).
func (c *Cache) Delete(ctx context.Context, key string) error {
	keys, err := c.keys(key)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.seq++
	seq := c.seq
	_, retry := c.pending[key]
	c.mu.Unlock()
	// A Delete tries even while Redis is known down: it is what keeps other instances from
	// reading a changed customer's old billing. A retry of a Delete that failed is the
	// exception: the flowglad loader retries it before each read of the customer, which
	// would then pay the timeout, and the background replay keeps trying it meanwhile.
	_, err = do(c, ctx, retry, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, deleteScript.Run(ctx, c.client, keys, generationTTL.Milliseconds()).Err()
	})
	if err != nil {
		c.failed(key, seq)
		return fmt.Errorf("rediscache: delete: %w", err)
	}
	c.deleted(key, seq)
	return nil
}

// keys returns the body key and the generation key of a customer. The id is escaped so that
// it holds no braces, and wrapped in braces: both keys share a Redis Cluster hash tag.
func (c *Cache) keys(key string) ([]string, error) {
	if key == "" {
		return nil, errors.New("rediscache: empty key")
	}
	k := c.prefix + "{" + keyEscaper.Replace(key) + "}"
	return []string{k, k + ":gen"}, nil
}

var keyEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// observe remembers what a miss saw, unless an older miss is still unconsumed: a fill that
// joined an earlier read must be judged by the generation seen before that read began.
func (c *Cache) observe(key, token string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastSweep) >= fillWindow {
		for k, o := range c.seen {
			if now.Sub(o.at) >= fillWindow {
				delete(c.seen, k)
			}
		}
		c.lastSweep = now
	}
	if o, ok := c.seen[key]; ok && now.Sub(o.at) < fillWindow {
		return
	}
	c.seen[key] = observation{token: token, at: now}
}

// consume takes the observation a Set is judged by.
func (c *Cache) consume(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.seen[key]
	delete(c.seen, key)
	if !ok || time.Since(o.at) >= fillWindow {
		return "", false
	}
	return o.token, true
}

// do runs fn against Redis, bounded by the timeout, with the Cache's logger in its context
// for go-redis's messages, and tells the breaker how it went. With fast set it fails at once
// (ErrUnavailable) while Redis is known down.
func do[T any](c *Cache, ctx context.Context, fast bool, fn func(context.Context) (T, error)) (T, error) {
	probe := false
	if fast {
		var err error
		if probe, err = c.breaker.allow(); err != nil {
			var zero T
			return zero, err
		}
	}
	v, err := bounded(withLogger(ctx, c.logger), c.timeout, fn)
	c.breaker.done(ctx, probe, err)
	return v, err
}

// bounded runs fn with a deadline of timeout and returns when it does or when the deadline
// passes, whichever is first: a client that ignores context deadlines (go-redis without
// ContextTimeoutEnabled) cannot stall the caller. An abandoned call finishes in the
// background; every script is safe to land late (Set is conditional, Delete idempotent).
func bounded[T any](ctx context.Context, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
