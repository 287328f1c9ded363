package boltqueue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Durability says when Put returns, and so what a crash may take from the events it
// returned for.
type Durability int

const (
	// SyncEveryPut, the default: Put returns once its events are in the file and the file
	// is synced to the disk (group-committed). They survive a crash of the process, of the
	// operating system and a power cut. A Put waits for the disk: about two syncs.
	SyncEveryPut Durability = iota
	// SyncInBackground: Put returns once its events are written to the queue's log, a
	// file beside the queue's, in the operating system's cache, with no sync; they move
	// into the queue's file (synced) in the background, within one commit. They survive a
	// crash of the process (kill -9, an out-of-memory kill, a panic): the operating system
	// keeps what was written. A crash of the operating system or a power cut may lose the
	// events of the last commit or so, never more, and never damages the queue: a log
	// record cut short is dropped whole. A Put costs one write to the cache.
	SyncInBackground
)

// String returns the constant's name.
func (d Durability) String() string {
	switch d {
	case SyncEveryPut:
		return "SyncEveryPut"
	case SyncInBackground:
		return "SyncInBackground"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// WithDurability chooses when Put returns (SyncEveryPut by default).
func WithDurability(d Durability) Option {
	return func(c *config) { c.durability = d }
}

// The log: two files, path+".wal0" and path+".wal1". Puts append to one while the events of
// the other are moved into the queue's file; once they are committed there, that file is
// emptied, and the next move swaps again. A record is
//
//	length of seq ‖ payload uint32 | crc32c(seq ‖ payload) uint32 | seq uint64 | payload
//
// with payload the Put's events: count uint32, then each as length uint32 ‖ bytes. The
// queue's file keeps the seq of the last record moved into it (walAppliedKey), in the
// transaction that moves it: a record is moved once, however often a crash interrupts.
var walAppliedKey = []byte("wal-applied")

const walHeader = 16

// maxWALRecord bounds a record's length field (seq ‖ payload): a length beyond it read back
// is a damaged record. A variable so that a test can lower it.
var maxWALRecord = 1 << 30

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the log of a SyncInBackground queue.
type wal struct {
	// mu: Put holds it to append; move to take the pending records and swap files.
	mu      sync.Mutex
	files   [2]*os.File
	active  int
	seq     uint64   // the last record's
	pending []walRec // written, not yet in the queue's file
	events  int      // in pending
	buf     []byte
	// broken is the error of a write that failed: the file may end in part of a record,
	// after which a reopen would read nothing, so nothing more is written.
	broken error

	// moveMu serializes moves (the mover's, Claim's, Close's).
	moveMu sync.Mutex
	kick   chan struct{} // a Put wrote: the mover moves
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the mover has returned
}

type walRec struct {
	seq    uint64
	values [][]byte // encoded events
}

func walPaths(path string) [2]string { return [2]string{path + ".wal0", path + ".wal1"} }

// openWAL moves what a log left behind (an earlier process that died, or ran with
// SyncInBackground) into the queue's file, then empties it. With keep, it returns the log
// open for appending; else it removes its files.
func (q *Queue) openWAL(mode os.FileMode, keep bool) (*wal, error) {
	w := &wal{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	var recs []walRec
	for i, p := range walPaths(q.path) {
		flags := os.O_RDWR
		if keep {
			flags |= os.O_CREATE
		}
		f, err := os.OpenFile(p, flags, mode)
		if !keep && errors.Is(err, os.ErrNotExist) {
			continue // never ran with SyncInBackground
		}
		if err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("boltqueue: opening the log %s: %w", p, err)
		}
		w.files[i] = f
		rs, err := readWAL(f)
		if err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("boltqueue: reading the log %s: %w", p, err)
		}
		recs = append(recs, rs...)
	}
	slices.SortFunc(recs, func(a, b walRec) int { return cmpUint(a.seq, b.seq) })
	var applied uint64
	err := q.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if v := meta.Get(walAppliedKey); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		recs = slices.DeleteFunc(recs, func(r walRec) bool { return r.seq <= applied })
		if len(recs) == 0 {
			return nil
		}
		if err := putValues(tx, recs); err != nil {
			return err
		}
		applied = recs[len(recs)-1].seq
		return meta.Put(walAppliedKey, key(applied))
	})
	if err != nil {
		w.closeFiles()
		return nil, fmt.Errorf("boltqueue: moving the log into %s: %w", q.path, err)
	}
	for _, r := range recs {
		q.count += len(r.values)
	}
	w.seq = applied
	for i, f := range w.files {
		if f == nil {
			continue
		}
		if err := f.Truncate(0); err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("boltqueue: emptying the log %s: %w", walPaths(q.path)[i], err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("boltqueue: emptying the log: %w", err)
		}
	}
	if !keep {
		w.closeFiles()
		for _, p := range walPaths(q.path) {
			_ = os.Remove(p)
		}
		return nil, nil
	}
	return w, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w *wal) closeFiles() {
	for _, f := range w.files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// readWAL reads the records of a log file, up to the first that is cut short or damaged
// (the tail a crash left: what follows it was never acknowledged either).
func readWAL(f *os.File) ([]walRec, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var out []walRec
	for len(data) >= walHeader {
		n := binary.BigEndian.Uint32(data[0:4]) // of seq ‖ payload
		sum := binary.BigEndian.Uint32(data[4:8])
		if n < 8 || int64(n) > int64(maxWALRecord) || len(data)-8 < int(n) {
			break
		}
		body := data[8 : 8+int(n)]
		if crc32.Checksum(body, crcTable) != sum {
			break
		}
		values, ok := decodeWALPayload(body[8:])
		if !ok {
			break
		}
		out = append(out, walRec{seq: binary.BigEndian.Uint64(body[0:8]), values: values})
		data = data[8+int(n):]
	}
	return out, nil
}

func decodeWALPayload(p []byte) ([][]byte, bool) {
	if len(p) < 4 {
		return nil, false
	}
	count := binary.BigEndian.Uint32(p)
	p = p[4:]
	values := make([][]byte, 0, min(count, 1<<16))
	for range count {
		if len(p) < 4 {
			return nil, false
		}
		n := binary.BigEndian.Uint32(p)
		p = p[4:]
		if uint64(len(p)) < uint64(n) {
			return nil, false
		}
		values = append(values, bytes.Clone(p[:n]))
		p = p[n:]
	}
	return values, len(p) == 0
}

// putValues adds the records' events to the events bucket, in order.
func putValues(tx *bolt.Tx, recs []walRec) error {
	b := tx.Bucket(eventsBucket)
	for _, r := range recs {
		for _, v := range r.values {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(key(seq), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// append writes one record of values to the active log file: the Put is then in the
// operating system's cache, which a crash of the process does not lose.
func (w *wal) append(values [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken != nil {
		return w.broken
	}
	size := 4
	for _, v := range values {
		size += 4 + len(v)
	}
	if 8+size > maxWALRecord { // the length field counts the seq too: as readWAL checks it
		return errors.New("boltqueue: events too large for one log record")
	}
	buf := slices.Grow(w.buf[:0], walHeader+size)[:walHeader]
	binary.BigEndian.PutUint32(buf[0:4], uint32(8+size))
	binary.BigEndian.PutUint64(buf[8:16], w.seq+1)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(values)))
	for _, v := range values {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	binary.BigEndian.PutUint32(buf[4:8], crc32.Checksum(buf[8:], crcTable))
	w.buf = buf
	if _, err := w.files[w.active].Write(buf); err != nil {
		// The file may hold part of the record: a damaged tail, which a reopen drops.
		// Later records would follow it unread, so no more are written.
		w.broken = fmt.Errorf("boltqueue: writing the log (the queue takes no more events until it is reopened): %w", err)
		return w.broken
	}
	w.seq++
	w.pending = append(w.pending, walRec{seq: w.seq, values: values})
	w.events += len(values)
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return nil
}

// moveLoop is the mover of a SyncInBackground queue: it moves what Puts wrote into the
// queue's file, one commit at a time; the Puts that arrive meanwhile go in the next.
//
// A move that fails is tried again after a backoff (minMoveRetry, doubling up to
// maxMoveRetry) with no Put needed to kick it: the records wait in the log, in the
// operating system's cache only, where a power cut takes them.
func (q *Queue) moveLoop() {
	defer close(q.wal.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop() // armed only after a failed move
	defer retry.Stop()
	backoff := minMoveRetry
	for {
		select {
		case <-q.wal.kick:
		case <-retry.C:
		case <-q.wal.stop:
			return
		}
		retry.Stop()
		if err := q.moveWAL(); err != nil {
			retry.Reset(backoff)
			backoff = min(2*backoff, maxMoveRetry)
			continue
		}
		backoff = minMoveRetry
	}
}

// The mover's backoff after a failed move.
const (
	minMoveRetry = 10 * time.Millisecond
	maxMoveRetry = time.Second
)

// moveWAL moves the log's pending records into the queue's file in one synced commit, then
// empties the log file they were in. The next Puts go to the other file meanwhile.
func (q *Queue) moveWAL() error {
	w := q.wal
	w.moveMu.Lock()
	defer w.moveMu.Unlock()
	w.mu.Lock()
	recs, events := w.pending, w.events
	w.pending, w.events = nil, 0
	old := w.active
	if len(recs) > 0 {
		w.active = 1 - w.active
	}
	w.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	last := recs[len(recs)-1].seq
	err := q.update(func(tx *bolt.Tx) error {
		if err := putValues(tx, recs); err != nil {
			return err
		}
		return tx.Bucket(metaBucket).Put(walAppliedKey, key(last))
	})
	if err != nil {
		// Still in the log, written: put them back first in line, and their file back
		// in use, so the next move tries again and nothing is emptied meanwhile.
		w.mu.Lock()
		w.pending = append(recs, w.pending...)
		w.events += events
		w.active = old
		w.mu.Unlock()
		return fmt.Errorf("boltqueue: moving the log into the file: %w", err)
	}
	q.mu.Lock()
	q.reserved -= events
	q.count += events
	q.mu.Unlock()
	// Committed: the old file's records are in the queue's file (a crash before this
	// truncation leaves them to a reopen, which skips them by walAppliedKey).
	f := w.files[old]
	if err := f.Truncate(0); err == nil {
		_, _ = f.Seek(0, io.SeekStart)
	}
	return nil
}

// snapshot returns the records written and not yet moved into the queue's file.
func (w *wal) snapshot() []walRec {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.pending)
}
