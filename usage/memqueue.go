package usage

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// DefaultQueueCapacity is the capacity of NewMemoryQueue(0), and of the queue a Recorder
// makes when it is given none.
const DefaultQueueCapacity = 10_000

// MemoryQueue is a Queue in this process's memory: the default, and the fastest. It is
// bounded (Put returns ErrQueueFull rather than grow without limit) and lost on a crash:
// events still queued when the process dies are never sent. Recorder.Close drains it on a
// clean shutdown. Use usage/boltqueue when events must survive a crash.
type MemoryQueue struct {
	mu       sync.Mutex
	capacity int
	closed   bool
	next     uint64            // the sequence number of the next event put
	lo       uint64            // no event below this sequence number is left
	entries  map[uint64]*entry // every event in the queue, claimed or not
	// The unclaimed events: released are those given back (a min-heap), fresh those never
	// claimed, in the order put. Claims take the lowest sequence numbers first, so every
	// released one is below every fresh one: released first, then fresh, is oldest first.
	released seqHeap
	fresh    []uint64
	claimed  int
}

type entry struct {
	event   Event
	claimed bool
}

// NewMemoryQueue returns an empty in-memory queue that holds at most capacity events,
// claimed ones included; capacity <= 0 means DefaultQueueCapacity.
func NewMemoryQueue(capacity int) *MemoryQueue {
	if capacity <= 0 {
		capacity = DefaultQueueCapacity
	}
	return &MemoryQueue{capacity: capacity, entries: make(map[uint64]*entry)}
}

// Capacity returns how many events the queue holds at most (queuetest reads it to test
// ErrQueueFull).
func (q *MemoryQueue) Capacity() int { return q.capacity }

// Put implements Queue. The events are copied (their Properties too), so the caller may
// reuse them.
func (q *MemoryQueue) Put(_ context.Context, events []Event) error {
	if len(events) == 0 {
		return q.check()
	}
	copies := make([]Event, len(events))
	for i, e := range events {
		if e.Properties != nil { // an empty map too: the caller may fill it afterwards
			p, err := cloneProperties(e.Properties)
			if err != nil {
				return err
			}
			e.Properties = p
		}
		copies[i] = e
	}
	// Allocated before the lock is taken: concurrent Puts wait only for the map and the
	// slice (a lock held across a preemption holds every recording request up).
	entries := make([]entry, len(copies))
	for i := range copies {
		entries[i].event = copies[i]
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if len(q.entries)+len(copies) > q.capacity {
		return ErrQueueFull
	}
	for i := range entries {
		q.entries[q.next] = &entries[i]
		q.fresh = append(q.fresh, q.next)
		q.next++
	}
	return nil
}

// Claim implements Queue.
func (q *MemoryQueue) Claim(_ context.Context, limit int) ([]Claimed, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	n := max(min(limit, len(q.released)+len(q.fresh)), 0)
	out := make([]Claimed, n) // no allocation when n is 0
	seqs := make([]uint64, n)
	for i := range n {
		var seq uint64
		if len(q.released) > 0 {
			seq = heap.Pop(&q.released).(uint64)
		} else {
			// The claimed front is sliced off: the next append that outgrows the array
			// moves only the events still unclaimed.
			seq, q.fresh = q.fresh[0], q.fresh[1:]
		}
		e := q.entries[seq]
		e.claimed = true
		seqs[i], out[i].Event = seq, e.event
	}
	q.claimed += n
	q.mu.Unlock()
	for i, seq := range seqs {
		out[i].ID = strconv.FormatUint(seq, 10)
	}
	return out, nil
}

// Ack implements Queue.
func (q *MemoryQueue) Ack(_ context.Context, ids []string) error {
	seqs := parseSeqs(ids) // before the lock: a batch's worth of parsing
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	for _, seq := range seqs {
		e := q.entries[seq]
		if e == nil || !e.claimed {
			// Only a claimed event can be acknowledged: one that was released may be held
			// by another Claim by now.
			continue
		}
		delete(q.entries, seq)
		q.claimed--
	}
	return nil
}

// Release implements Queue.
func (q *MemoryQueue) Release(_ context.Context, ids []string) error {
	seqs := parseSeqs(ids)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	for _, seq := range seqs {
		e := q.entries[seq]
		if e == nil || !e.claimed {
			continue
		}
		e.claimed = false
		q.claimed--
		heap.Push(&q.released, seq)
	}
	return nil
}

// Stats implements Queue.
func (q *MemoryQueue) Stats(context.Context) (QueueStats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return QueueStats{}, ErrClosed
	}
	st := QueueStats{Queued: len(q.entries), Claimed: q.claimed}
	for q.lo < q.next {
		if e, ok := q.entries[q.lo]; ok {
			st.OldestRecordedAt = time.UnixMilli(e.event.RecordedAt)
			break
		}
		q.lo++
	}
	return st, nil
}

// Close implements Queue: the events still queued are dropped.
func (q *MemoryQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.entries = nil
	q.released, q.fresh = nil, nil
	return nil
}

func (q *MemoryQueue) check() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	return nil
}

// parseSeqs returns the sequence numbers ids name; an id that names none (not one of this
// queue's) is left out.
func parseSeqs(ids []string) []uint64 {
	seqs := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if seq, err := strconv.ParseUint(id, 10, 64); err == nil {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

// cloneProperties copies p deeply, through the JSON it is sent as: the queued event must
// not change when the caller reuses its map, and a durable queue would store the same.
func cloneProperties(p map[string]any) (map[string]any, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("usage: copying properties: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("usage: copying properties: %w", err)
	}
	return out, nil
}

// seqHeap is a min-heap of sequence numbers, so that released events are claimed again
// before newer ones.
type seqHeap []uint64

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return cmp.Less(h[i], h[j]) }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
