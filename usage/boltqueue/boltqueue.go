package boltqueue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/flowglad-go/flowglad/usage"
)

// DefaultCapacity is how many events a queue holds unless WithCapacity says otherwise: about
// 300 MB of file, or more than a quarter of an hour of an outage at 1,000 events a second.
const DefaultCapacity = 1_000_000

// DefaultLockTimeout is how long Open waits for another process to let go of the file.
const DefaultLockTimeout = 5 * time.Second

// ErrLocked is returned by Open when another process (or another Queue in this one) holds
// the file after the lock timeout: one file has one writer.
var ErrLocked = errors.New("boltqueue: file is in use by another queue")

// ErrNotQueue is returned by Open for a file that is not a queue: damaged, another
// program's bbolt database, or no bbolt file at all. The file is left as it was.
var ErrNotQueue = errors.New("boltqueue: not a usage queue file")

// The file's layout. The meta bucket's format key tells a queue from another program's bbolt
// file, so Open never adds buckets to (or hands out the records of) a database it does not
// own.
var (
	metaBucket       = []byte("meta")
	eventsBucket     = []byte("events")
	quarantineBucket = []byte("undecodable")
	formatKey        = []byte("format")
	formatValue      = []byte("flowglad-usage-queue/1")
)

// Option configures Open.
type Option func(*config)

type config struct {
	capacity    int
	lockTimeout time.Duration
	mode        os.FileMode
	durability  Durability
}

// WithCapacity bounds the number of events in the queue, claimed ones included: Put refuses
// events that do not fit with usage.ErrQueueFull and adds none of them. n ≤ 0 keeps
// DefaultCapacity.
func WithCapacity(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.capacity = n
		}
	}
}

// WithLockTimeout sets how long Open waits for the file's lock (another process, or an
// open Queue in this one, holding it) before it fails with ErrLocked. d ≤ 0 keeps
// DefaultLockTimeout: bbolt's own zero would wait forever.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.lockTimeout = d
		}
	}
}

// WithFileMode sets the permissions of a file Open creates (default 0600: the events name
// customers by their ids, which other users of the machine have no need to read).
func WithFileMode(m os.FileMode) Option {
	return func(c *config) { c.mode = m }
}

// Queue is a usage.Queue in one bbolt file. Events are stored under a sequence number that
// only grows, so Claim hands them out in the order they were put. Claims live in this
// process's memory only: if it dies, every event it had claimed and not acknowledged is
// claimable again by the next Queue on the file, and the recorder sends it again with its
// transaction id, which Flowglad counts once.
//
// Safe for concurrent use. One process at a time opens a file.
type Queue struct {
	db       *bolt.DB
	capacity int
	path     string

	// closeMu is held for reading by every method for its whole run and for writing by
	// Close, so the database is never closed under a running transaction.
	closeMu sync.RWMutex
	closed  bool

	// mu guards the counters and the claims. It is never held while waiting for a write
	// transaction (a write may wait for readers to finish remapping the file).
	mu          sync.Mutex
	claimMu     sync.Mutex          // one Claim at a time
	count       int                 // events stored in the events bucket
	reserved    int                 // events of Puts in progress, counted against capacity
	claimed     map[uint64]struct{} // sequence numbers handed out by Claim
	quarantined int

	// wal is the log of a SyncInBackground queue, nil otherwise.
	wal *wal

	writes    chan write    // to the committer; closed by Close once no method runs
	committed chan struct{} // closed when the committer has stopped
	commits   atomic.Int64  // write transactions committed, for the tests of grouping
}

// A write is one method's change of the file, committed by the committer together with the
// writes that arrived while the previous commit was syncing. fn may run more than once (when
// another write of its group fails, the group is retried without it): it must set its
// results afresh on each run, which a rolled-back transaction makes safe.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

var _ usage.Queue = (*Queue)(nil)

// Open opens the queue in the file at path, creating it if it does not exist. Events left
// by an earlier process (one that crashed, too) are claimable at once.
//
// It fails with ErrLocked if another Queue holds the file after the lock timeout, and with
// ErrNotQueue for a file that is not a queue.
func Open(path string, opts ...Option) (*Queue, error) {
	cfg := config{capacity: DefaultCapacity, lockTimeout: DefaultLockTimeout, mode: 0o600}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.durability != SyncEveryPut && cfg.durability != SyncInBackground {
		return nil, fmt.Errorf("boltqueue: opening %s: unknown %v", path, cfg.durability)
	}
	if err := checkForeign(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, cfg.mode, &bolt.Options{Timeout: cfg.lockTimeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s, lock not acquired within %s (one process per file): %w", ErrLocked, path, cfg.lockTimeout, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("%w: %s: %w", ErrNotQueue, path, err)
	case err != nil:
		return nil, fmt.Errorf("boltqueue: opening %s: %w", path, err)
	}
	q := &Queue{
		db: db, capacity: cfg.capacity, path: path, claimed: map[uint64]struct{}{},
		writes: make(chan write, maxGroup), committed: make(chan struct{}),
	}
	if err := q.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	// Always: a log an earlier process left (SyncInBackground) is moved in whatever this
	// one's durability.
	w, err := q.openWAL(cfg.mode, cfg.durability == SyncInBackground)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	q.wal = w
	go q.commit()
	if w != nil {
		go q.moveLoop()
	}
	return q, nil
}

// minFileSize is the size of the smallest file Open creates: four pages (two meta pages, the
// free list, the root) of 4 KiB, the smallest page size of the systems bbolt runs on.
const minFileSize = 4 * 4096

// checkForeign refuses a file too short to be a queue before bbolt reads it (bbolt's own
// error for it names no cause a caller can test).
func checkForeign(path string) error {
	info, err := os.Stat(path)
	if err != nil || info.IsDir() {
		return nil // bolt.Open reports a missing directory or a directory as the path.
	}
	if n := info.Size(); n > 0 && n < minFileSize {
		return fmt.Errorf("%w: %s: %d bytes, shorter than any queue file", ErrNotQueue, path, n)
	}
	return nil
}

// init makes the buckets of a new file, or checks the format of an existing one, and counts
// what it holds: the counters are kept from then on so Stats never scans the file.
func (q *Queue) init() error {
	return q.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("%w: %s: a bbolt database of another program", ErrNotQueue, q.path)
			}
			m, err := tx.CreateBucket(metaBucket)
			if err != nil {
				return fmt.Errorf("boltqueue: creating %s: %w", q.path, err)
			}
			if err := m.Put(formatKey, formatValue); err != nil {
				return fmt.Errorf("boltqueue: creating %s: %w", q.path, err)
			}
			for _, name := range [][]byte{eventsBucket, quarantineBucket} {
				if _, err := tx.CreateBucket(name); err != nil {
					return fmt.Errorf("boltqueue: creating %s: %w", q.path, err)
				}
			}
		} else if f := meta.Get(formatKey); string(f) != string(formatValue) {
			return fmt.Errorf("%w: %s: format %q, this version reads %q", ErrNotQueue, q.path, f, formatValue)
		}
		events, quarantine := tx.Bucket(eventsBucket), tx.Bucket(quarantineBucket)
		if events == nil || quarantine == nil {
			return fmt.Errorf("%w: %s: buckets missing", ErrNotQueue, q.path)
		}
		q.count = events.Stats().KeyN
		q.quarantined = quarantine.Stats().KeyN
		return nil
	})
}

func key(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// enter starts a method: it fails after Close, else holds the database open until leave.
func (q *Queue) enter(ctx context.Context) error {
	q.closeMu.RLock()
	if q.closed {
		q.closeMu.RUnlock()
		return usage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		q.closeMu.RUnlock()
		return err
	}
	return nil
}

func (q *Queue) leave() { q.closeMu.RUnlock() }

// Put stores events, all or none, and returns once they are in the file and the file is
// synced to the disk. Concurrent Puts are group-committed: the Puts that arrive while one
// commit is syncing share the next transaction and its fsync, so many callers pay for one
// disk flush together, and a Put alone waits for one commit and no timer.
//
// usage.ErrQueueFull when the events would take the queue past its capacity. ctx is
// checked before the events go to the commit, not during it: once they are on their way,
// Put waits for the outcome, so its answer always says whether they are stored.
func (q *Queue) Put(ctx context.Context, events []usage.Event) error {
	if err := q.enter(ctx); err != nil {
		return err
	}
	defer q.leave()
	if len(events) == 0 {
		return nil
	}
	values := make([][]byte, len(events))
	for i, e := range events {
		b, err := usage.EncodeEvent(e)
		if err != nil {
			return fmt.Errorf("boltqueue: %w", err)
		}
		values[i] = b
	}

	q.mu.Lock()
	if q.count+q.reserved+len(events) > q.capacity {
		q.mu.Unlock()
		return usage.ErrQueueFull
	}
	q.reserved += len(events)
	q.mu.Unlock()

	if q.wal != nil {
		// Reserved until the mover has them in the file (moveWAL).
		if err := q.wal.append(values); err != nil {
			q.mu.Lock()
			q.reserved -= len(events)
			q.mu.Unlock()
			return err
		}
		return nil
	}

	// The function may run more than once (see write): a failed run's transaction,
	// sequence numbers included, is rolled back.
	err := q.update(func(tx *bolt.Tx) error { return putValues(tx, []walRec{{values: values}}) })

	q.mu.Lock()
	q.reserved -= len(events)
	if err == nil {
		q.count += len(events)
	}
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("boltqueue: storing %d events: %w", len(events), err)
	}
	return nil
}

// Claim hands out up to max events nobody holds, in the order they were put. The claims are
// kept in memory: a process that dies leaves its events claimable by the next Queue on the
// file, at once.
//
// An event that does not decode (a newer version wrote it, or the disk damaged it) is moved
// aside to a bucket of its own rather than handed out or deleted; Quarantined counts them.
//
// With SyncInBackground, Claim first moves the log into the file. If that move fails, the
// events already in the file are still handed out; the move's error is returned only when
// there are none, so the queue never looks empty while events wait in the log.
func (q *Queue) Claim(ctx context.Context, max int) ([]usage.Claimed, error) {
	if err := q.enter(ctx); err != nil {
		return nil, err
	}
	defer q.leave()
	if max <= 0 {
		return nil, nil
	}
	var moveErr error
	if q.wal != nil {
		// What Puts wrote to the log is claimable now, not after the mover's next turn. A
		// move that fails (a full disk) does not stop the events already in the file from
		// being sent: their Acks free the pages the next move needs.
		moveErr = q.moveWAL()
	}
	var out []usage.Claimed
	var bad []uint64
	// One Claim at a time reads the file, without holding mu, which Puts take: a read
	// transaction may wait for the file's remapping. The claims it skips are copied first;
	// those Ack and Release drop meanwhile are only skipped once more.
	q.claimMu.Lock()
	defer q.claimMu.Unlock()
	q.mu.Lock()
	held := make(map[uint64]struct{}, len(q.claimed))
	for seq := range q.claimed {
		held[seq] = struct{}{}
	}
	q.mu.Unlock()
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(eventsBucket).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if _, held := held[seq]; held {
				continue
			}
			e, err := usage.DecodeEvent(v)
			if err != nil {
				bad = append(bad, seq)
				continue
			}
			out = append(out, usage.Claimed{ID: strconv.FormatUint(seq, 10), Event: e})
		}
		return nil
	})
	q.mu.Lock()
	if err == nil {
		for _, c := range out {
			seq, _ := strconv.ParseUint(c.ID, 10, 64)
			q.claimed[seq] = struct{}{}
		}
		// Hold the undecodable ones until they are moved, so no other Claim trips on them.
		for _, seq := range bad {
			q.claimed[seq] = struct{}{}
		}
	}
	q.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("boltqueue: claiming: %w", err)
	}
	if len(bad) > 0 {
		if err := q.quarantine(bad); err != nil {
			q.release(bad)
			q.release(ids(out))
			return nil, err
		}
	}
	if len(out) == 0 && moveErr != nil {
		// Events wait in the log: the queue is not empty, whatever the file says.
		return nil, moveErr
	}
	return out, nil
}

func ids(cs []usage.Claimed) []uint64 {
	seqs := make([]uint64, len(cs))
	for i, c := range cs {
		seqs[i], _ = strconv.ParseUint(c.ID, 10, 64)
	}
	return seqs
}

// quarantine moves undecodable events out of the events bucket, keeping their bytes.
func (q *Queue) quarantine(seqs []uint64) error {
	var moved int
	err := q.update(func(tx *bolt.Tx) error {
		moved = 0
		events, quarantine := tx.Bucket(eventsBucket), tx.Bucket(quarantineBucket)
		for _, seq := range seqs {
			v := events.Get(key(seq))
			if v == nil {
				continue
			}
			if err := quarantine.Put(key(seq), append([]byte(nil), v...)); err != nil {
				return err
			}
			if err := events.Delete(key(seq)); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltqueue: moving %d undecodable events aside: %w", len(seqs), err)
	}
	q.mu.Lock()
	q.count -= moved
	q.quarantined += moved
	for _, seq := range seqs {
		delete(q.claimed, seq)
	}
	q.mu.Unlock()
	return nil
}

// parseIDs reads the ids Claim gave out; anything else names no event and is skipped, as
// an unknown id is.
func parseIDs(ids []string) []uint64 {
	seqs := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if seq, err := strconv.ParseUint(id, 10, 64); err == nil {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

// Ack deletes events from the file and returns once the deletion is synced. It is
// group-committed with concurrent Puts and Acks. Unknown ids are ignored.
func (q *Queue) Ack(ctx context.Context, ids []string) error {
	if err := q.enter(ctx); err != nil {
		return err
	}
	defer q.leave()
	seqs := parseIDs(ids)
	if len(seqs) == 0 {
		return nil
	}
	var deleted int
	err := q.update(func(tx *bolt.Tx) error {
		deleted = 0
		b := tx.Bucket(eventsBucket)
		for _, seq := range seqs {
			if b.Get(key(seq)) == nil {
				continue
			}
			if err := b.Delete(key(seq)); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltqueue: acknowledging %d events: %w", len(seqs), err)
	}
	// The claims are dropped only now: until the deletion is committed, a Claim still sees
	// the events in the file and must skip them.
	q.mu.Lock()
	q.count -= deleted
	for _, seq := range seqs {
		delete(q.claimed, seq)
	}
	q.mu.Unlock()
	return nil
}

// Release gives claimed events back to be claimed again. It writes nothing: claims are in
// memory.
func (q *Queue) Release(ctx context.Context, ids []string) error {
	if err := q.enter(ctx); err != nil {
		return err
	}
	defer q.leave()
	q.release(parseIDs(ids))
	return nil
}

func (q *Queue) release(seqs []uint64) {
	q.mu.Lock()
	for _, seq := range seqs {
		delete(q.claimed, seq)
	}
	q.mu.Unlock()
}

// Stats reports the queue from its counters; OldestRecordedAt is read from the first event
// in the file, the oldest put, in one lookup. With SyncInBackground, the log is moved into
// the file first; if that move fails, the events waiting in the log are counted from it.
func (q *Queue) Stats(ctx context.Context) (usage.QueueStats, error) {
	if err := q.enter(ctx); err != nil {
		return usage.QueueStats{}, err
	}
	defer q.leave()
	var st usage.QueueStats
	counted := false      // st.Queued and st.Claimed, from the log and the file
	var firstInLog []byte // the oldest event waiting in the log
	if q.wal != nil {
		// Counted in one place, the file, once moved. A move that fails (a full disk)
		// leaves the events in the log: they are counted there, with moves held off
		// meanwhile so that none is counted twice, and the queue does not look empty.
		if err := q.moveWAL(); err != nil {
			q.wal.moveMu.Lock()
			q.wal.mu.Lock()
			inLog := q.wal.events
			if len(q.wal.pending) > 0 && len(q.wal.pending[0].values) > 0 {
				firstInLog = q.wal.pending[0].values[0]
			}
			q.wal.mu.Unlock()
			q.mu.Lock()
			st.Queued = q.count + inLog
			st.Claimed = len(q.claimed)
			q.mu.Unlock()
			q.wal.moveMu.Unlock()
			counted = true
		}
	}
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(eventsBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, err := usage.DecodeEvent(v)
			if err != nil {
				continue // Claim moves it aside; the next one is the oldest that counts.
			}
			if e.RecordedAt != 0 {
				st.OldestRecordedAt = time.UnixMilli(e.RecordedAt)
			}
			return nil
		}
		return nil
	})
	if err != nil {
		return usage.QueueStats{}, fmt.Errorf("boltqueue: stats: %w", err)
	}
	if counted {
		if e, err := usage.DecodeEvent(firstInLog); err == nil && st.OldestRecordedAt.IsZero() && e.RecordedAt != 0 {
			st.OldestRecordedAt = time.UnixMilli(e.RecordedAt) // none in the file
		}
		return st, nil
	}
	q.mu.Lock()
	st.Queued = q.count
	st.Claimed = len(q.claimed)
	q.mu.Unlock()
	return st, nil
}

// Each implements usage.DurableQueue: it calls fn with every event in the file, claimed or
// not, oldest first, in one read transaction. An event that does
// not decode is skipped (Claim moves it aside).
func (q *Queue) Each(ctx context.Context, fn func(usage.Event) error) error {
	if err := q.enter(ctx); err != nil {
		return err
	}
	defer q.leave()
	var logged []walRec
	if q.wal != nil {
		// In the file, not in the log, once this returns; when the log cannot move (a
		// full disk), what it holds is walked from memory after the file.
		if err := q.moveWAL(); err != nil {
			logged = q.wal.snapshot()
		}
	}
	return q.db.View(func(tx *bolt.Tx) error {
		walk := func(v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			e, err := usage.DecodeEvent(v)
			if err != nil {
				return nil
			}
			return fn(e)
		}
		c := tx.Bucket(eventsBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := walk(v); err != nil {
				return err
			}
		}
		// A record moved since the snapshot is in the file as this transaction sees it.
		var applied uint64
		if v := tx.Bucket(metaBucket).Get(walAppliedKey); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		for _, r := range logged {
			if r.seq <= applied {
				continue
			}
			for _, v := range r.values {
				if err := walk(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Path is the file the queue is in.
func (q *Queue) Path() string { return q.path }

// Capacity is the most events the queue holds (WithCapacity).
func (q *Queue) Capacity() int { return q.capacity }

// Quarantined counts the events Claim moved aside because they did not decode: they are
// kept in the file (bucket "undecodable") for a person to look at, never sent or deleted.
func (q *Queue) Quarantined() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.quarantined
}

// Close closes the file; the events in it stay for the next Open. It waits for methods in
// progress to end. Later calls of any method return usage.ErrClosed; Close itself returns
// nil again.
func (q *Queue) Close() error {
	q.closeMu.Lock()
	defer q.closeMu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	var walErr error
	if q.wal != nil {
		close(q.wal.stop)
		<-q.wal.done
		// What is left in the log goes in the file now; if it cannot, the next Open
		// moves it.
		walErr = q.moveWAL()
	}
	close(q.writes) // no method runs (closeMu), so nobody sends any more
	<-q.committed
	if q.wal != nil {
		q.wal.closeFiles()
	}
	if err := q.db.Close(); err != nil {
		return fmt.Errorf("boltqueue: closing %s: %w", q.path, err)
	}
	return walErr
}

// maxGroup bounds the writes committed in one transaction, so one commit's latency stays
// bounded however many callers pile up.
const maxGroup = 1000

// update runs fn in a write transaction of the committer and returns once it is committed
// and synced. Callers hold closeMu for reading, so the committer is running.
func (q *Queue) update(fn func(*bolt.Tx) error) error {
	done := make(chan error, 1)
	q.writes <- write{fn: fn, done: done}
	return <-done
}

// commit is the committer: it takes the first write that comes, adds every write already
// waiting, and commits them in one transaction (one fsync). While it syncs, the next group
// gathers in the channel. bbolt's DB.Batch would do the same after a timer (10 ms by
// default), which a lone Put would wait for on every call.
func (q *Queue) commit() {
	defer close(q.committed)
	group := make([]write, 0, maxGroup)
	for w := range q.writes {
		group = append(group[:0], w)
	gather:
		for len(group) < maxGroup {
			select {
			case w, ok := <-q.writes:
				if !ok {
					break gather
				}
				group = append(group, w)
			default:
				break gather
			}
		}
		q.commitGroup(group)
	}
}

// commitGroup commits a group in one transaction. A write whose function fails is taken
// out and run alone (its own error goes to its caller), and the rest is committed without
// it, as DB.Batch does.
func (q *Queue) commitGroup(group []write) {
	for len(group) > 0 {
		failed := -1
		q.commits.Add(1)
		err := q.db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if err := w.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			w := group[failed]
			group = append(group[:failed], group[failed+1:]...)
			w.done <- q.db.Update(w.fn)
			continue
		}
		for _, w := range group {
			w.done <- err
		}
		return
	}
}
