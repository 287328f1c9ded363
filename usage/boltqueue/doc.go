// Package boltqueue is a durable usage.Queue on one machine: the events a usage.Recorder
// has accepted and Flowglad does not have yet live in one bbolt file
// (go.etcd.io/bbolt), so a crash or a restart of the process loses none of them.
//
//	q, err := boltqueue.Open("/var/lib/myapp/usage.db")
//	if err != nil { ... }                     // ErrLocked, ErrNotQueue, or an I/O error
//	rec, err := usage.NewRecorder(svc, usage.WithQueue(q))
//	...
//	err = rec.Close(ctx)                       // drain what Flowglad will take now
//	err = q.Close()                            // what is left stays in the file
//
// The core packages do not import bbolt: only programs that import this package do.
//
// # What survives
//
// Put returns once its events are committed and the file is synced (fsync). Ack returns once
// their deletion is. bbolt commits a transaction by writing its pages and then switching one
// of two meta pages, so the file is always as it was before a commit or after it, never in
// between.
//
//   - kill -9, a panic, the OOM killer: every event whose Put returned is in the file. A
//     Put that had not returned either stored all its events or none. Events the dead
//     process had claimed are claimable at once when the file is opened again (claims are
//     kept in memory only), so the next process sends them again with the same transaction
//     ids, and Flowglad, which skips a transaction id it already has, counts each once.
//   - Power loss or a kernel crash: the same, as far as the disk honours the flush that
//     fsync asks for (a disk or virtual disk that acknowledges writes it has only cached
//     can lose the last ones). Put waits for the disk: group commit makes concurrent Puts
//     share one flush, so each Put costs about one fsync of latency, not one fsync per
//     event of throughput.
//   - With WithDurability(SyncInBackground), Put returns once its events are written to a
//     log beside the file (path+".wal0" and ".wal1"), in the operating system's cache,
//     without waiting for the disk: tens of microseconds instead of a few fsyncs. A mover
//     commits them into the file (synced) in the background, within a commit's time, and
//     Claim, Stats and Close move what is left first. A move that fails (a full disk) is
//     tried again after a backoff; meanwhile Claim still hands out the events already in
//     the file, and Stats counts those waiting in the log. kill -9, a panic or the OOM killer
//     lose nothing (the kernel keeps what was written; the next Open moves the log into
//     the file, each record once). Power loss or a kernel crash can lose the events not
//     yet moved, about the last commit's worth, and never damages the file: a log record
//     cut short is dropped whole, and the file itself is only ever changed by synced
//     commits. Choose it when metering must not wait for the disk and the machine's crash
//     is covered otherwise (or costs a few milliseconds of usage); keep the default when
//     every event Put returned for must survive a power cut.
//   - The machine or its disk lost for good: the events in the file are lost with it. Put
//     the file on a volume that outlives the process (not a container's scratch layer), or
//     use usage/redisqueue, which keeps events in Redis.
//
// # One process per file
//
// bbolt takes an exclusive lock (flock) on the file. A second Open of the same file, from
// another process or from this one, waits for the lock up to WithLockTimeout (default
// DefaultLockTimeout) and fails with ErrLocked: run one queue file per instance, and reopen
// the file of an instance that is gone (the same path after a restart) to send what it left.
// Do not put the file on a network file system, where neither the lock nor fsync can be
// relied on. Instances that share their work need usage/redisqueue.
//
// # Size
//
// A queue holds WithCapacity events (default DefaultCapacity), claimed ones included; a Put
// that would go past it fails with usage.ErrQueueFull and adds nothing. An event takes
// a few hundred bytes. The file grows to its largest backlog and does not shrink: pages freed
// by Ack are reused for later events.
package boltqueue
