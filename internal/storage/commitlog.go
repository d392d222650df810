package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// The commit log lets many logs share one write and one fdatasync per
// round. Each log's own round is one device write plus one flush on its
// own file, and the device serves those one at a time: on the benchmark VM
// a 200 KB write+fdatasync to one file took 140-170 us, the same bytes as
// four 52 KB rounds on four files 310-340 us, and sixteen 12 KB rounds
// 1 ms. So a log whose round is small (commitRoundMax) appends it to the
// commit log instead, a log of the same format, and acknowledges it once
// the commit log's group commit has made it durable. The bytes stay in the
// log's ring (ring.go) and reach the segment file later, in large writes
// without fdatasync; a checkpoint writes and fsyncs every log's deferred
// bytes, after which the commit log's older records are dropped.
//
// A record's key is the log's commit id (8 bytes), the segment's base
// offset and the position in the segment (int64 each), then the log's
// directory relative to the data directory; its value is the round's bytes
// as they are, so appending a round copies them once. Open replays
// every record into its segment file before any log opens, so each log's
// own recovery finds its data where it belongs. The commit id, kept in the
// log's directory (commitIDName), tells a deleted log's records from those
// of a new log at the same path.

// commitRoundMax is the largest round sent through the commit log; larger
// rounds already fill a device write well on their own.
const commitRoundMax = 64 << 10

// defaultCheckpointBytes is how much the commit log grows between
// checkpoints, bounding both its size and the work of a replay.
const defaultCheckpointBytes = 64 << 20

const commitIDName = "commitlog-id"

// CommitLog is the log shared by the SyncAlways logs under one data
// directory; see Options.CommitLog.
type CommitLog struct {
	root            string
	log             *Log
	checkpointBytes int64

	mu    sync.Mutex
	users map[*Log]struct{}

	// A round waits (up to gatherWait) until the logs appended to before it
	// began have handed their rounds on, so that logs written at the same
	// time share one round instead of the first of them going alone and the
	// rest in the next round. Logs announce themselves at their first
	// append after a round (announced) and count in handedOn when their
	// round has been appended here. (A request that writes several logs
	// runs their rounds itself: group.go.)
	announced atomic.Int64
	handedOn  atomic.Int64
	gathered  chan struct{} // a log handed its round on
	inFlight  atomic.Int32  // rounds appended and not yet durable
	// everyRound sends every eligible round here, sharing or not (tests).
	everyRound bool

	sinceCheckpoint atomic.Int64
	kick            chan struct{}
	stop            chan struct{}
	done            chan struct{}
}

// OpenCommitLog opens the commit log in dir for the logs under root,
// replays it into their segment files and fsyncs them. It must be called
// before any of those logs is opened. opts configure the commit log's own
// files (its Sync is always SyncAlways).
func OpenCommitLog(dir, root string, opts Options) (*CommitLog, error) {
	opts.Sync, opts.CommitLog = SyncAlways, nil
	opts.RetentionAge, opts.RetentionBytes = 0, 0
	c := &CommitLog{
		root: root, checkpointBytes: defaultCheckpointBytes,
		users: make(map[*Log]struct{}),
		kick:  make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		gathered: make(chan struct{}, 1),
	}
	opts.beforeRound = c.gather
	opts.staleSpares = true
	l, err := Open(dir, opts)
	if err != nil {
		return nil, err
	}
	c.log = l
	if err := c.replay(); err != nil {
		_ = l.Close()
		return nil, err
	}
	go c.run()
	return c, nil
}

// Close stops checkpoints and closes the commit log. The logs using it
// must be closed first: their Close writes and fsyncs their own data.
func (c *CommitLog) Close() error {
	close(c.stop)
	<-c.done
	return c.log.Close()
}

// replay writes every record into its segment file, fsyncs those files and
// then drops the records.
func (c *CommitLog) replay() error {
	end := c.log.EndOffset()
	dirs := make(map[string]*replayTarget)
	defer func() {
		for _, t := range dirs {
			t.close()
		}
	}()
	var recs []batch.Record
	for from := c.log.StartOffset(); from < end; {
		var err error
		if recs, err = c.log.ReadRecords(from, 4<<20, recs[:0]); err != nil {
			return fmt.Errorf("storage: commit log at offset %d: %w", from, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if len(r.Key) < commitKeyFixed {
				return fmt.Errorf("%w: commit log record at offset %d has a key of %d bytes", ErrCorrupt, r.Offset, len(r.Key))
			}
			dir := string(r.Key[commitKeyFixed:])
			t := dirs[dir]
			if t == nil {
				if t, err = newReplayTarget(filepath.Join(c.root, dir), c.log.opts.OpenFile); err != nil {
					return err
				}
				dirs[dir] = t
			}
			if err := t.apply(r.Key, r.Value); err != nil {
				return err
			}
		}
		from = recs[len(recs)-1].Offset + 1
	}
	for _, t := range dirs {
		if err := t.sync(); err != nil {
			return err
		}
	}
	return c.log.SetStartOffset(end)
}

// replayTarget is one log directory during replay.
type replayTarget struct {
	dir   string
	id    uint64 // 0: the directory or its commit id is gone; skip its records
	open  func(name string, flag int, perm os.FileMode) (File, error)
	files map[int64]File
}

// newReplayTarget reads dir's commit id. One that is there but cannot be
// read stops the replay: it cannot tell the log's records from another's,
// and they may be the only copy of acknowledged data.
func newReplayTarget(dir string, open func(string, int, os.FileMode) (File, error)) (*replayTarget, error) {
	id, err := readCommitID(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: replay commit log: %w", err)
	}
	return &replayTarget{dir: dir, id: id, open: open, files: make(map[int64]File)}, nil
}

// apply writes one record's bytes; key is at least commitKeyFixed long.
func (t *replayTarget) apply(key, data []byte) error {
	id := binary.BigEndian.Uint64(key)
	base, pos := int64(binary.BigEndian.Uint64(key[8:])), int64(binary.BigEndian.Uint64(key[16:]))
	if t.id == 0 || id != t.id {
		return nil
	}
	f, seen := t.files[base]
	if !seen {
		var err error
		f, err = t.open(segmentName(t.dir, base, ".log"), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			f = nil // removed by retention since: its data was durable
		} else if err != nil {
			return fmt.Errorf("storage: replay commit log: %w", err)
		}
		t.files[base] = f
	}
	if f == nil {
		return nil
	}
	if _, err := f.WriteAt(data, pos); err != nil {
		return fmt.Errorf("storage: replay commit log into %s: %w", segmentName(t.dir, base, ".log"), err)
	}
	return nil
}

func (t *replayTarget) sync() error {
	for base, f := range t.files {
		if f == nil {
			continue
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("storage: fsync %s: %w", segmentName(t.dir, base, ".log"), err)
		}
	}
	return nil
}

func (t *replayTarget) close() {
	for _, f := range t.files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// commitKeyFixed is the length of a record key's id, base and position.
const commitKeyFixed = 24

// dirKey is how records name the log in dir, or nil when dir is not under
// the commit log's root.
func (c *CommitLog) dirKey(dir string) []byte {
	rel, err := filepath.Rel(c.root, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	return []byte(rel)
}

func (c *CommitLog) register(l *Log) {
	c.mu.Lock()
	c.users[l] = struct{}{}
	c.mu.Unlock()
}

func (c *CommitLog) unregister(l *Log) {
	c.mu.Lock()
	delete(c.users, l)
	c.mu.Unlock()
}

// append stores one round of l: data at pos of the segment based at base,
// asking for a round if kick is set. key is scratch space the caller owns;
// it is returned grown.
func (c *CommitLog) append(l *Log, base, pos int64, data, key []byte, kick bool) (Appended, []byte, error) {
	key = binary.BigEndian.AppendUint64(key[:0], l.commitID)
	key = binary.BigEndian.AppendUint64(key, uint64(base))
	key = binary.BigEndian.AppendUint64(key, uint64(pos))
	key = append(key, l.commitDir...)
	a, err := c.log.appendRecords([]batch.Record{{Key: key, Value: data}}, kick)
	if err == nil {
		c.grew(int64(len(data)))
	}
	return a, key, err
}

// grew counts n more bytes since the last checkpoint began and asks for a
// checkpoint when they cross checkpointBytes: only the append that crosses
// asks, since the ones after it, until the checkpoint starts and resets the
// count, would queue a second checkpoint right behind the first.
func (c *CommitLog) grew(n int64) {
	if since := c.sinceCheckpoint.Add(n); since >= c.checkpointBytes && since-n < c.checkpointBytes {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// gatherWait bounds how long a round waits for writers on their way: about
// the time one request takes to append to all the logs it names.
const gatherWait = 250 * time.Microsecond

// shared reports whether a round handed on now would share the commit log
// with at least two other logs' rounds (in it, or announced and on their
// way; self: the caller's own announcement is among them). Sharing with
// one other saves one device round of two but costs each byte three more
// copies and a checksum, which a CPU-bound queue and its state journal
// (the amqp-peak benchmark) pay for in throughput.
func (c *CommitLog) shared(self bool) bool {
	if c.everyRound {
		return true
	}
	others := c.announced.Load() - c.handedOn.Load() + int64(c.inFlight.Load())
	if self {
		others--
	}
	return others >= 2
}

// announce is called at a log's first append after its last round.
func (c *CommitLog) announce() { c.announced.Add(1) }

// arrived is called once an announced log has handed its round on (or
// will not).
func (c *CommitLog) arrived() {
	c.handedOn.Add(1)
	select {
	case c.gathered <- struct{}{}:
	default:
	}
}

// gather waits, before a round, for the writers on their way: those
// announced before it began. Later ones would keep a busy commit log
// waiting for ever; they go in the next round.
func (c *CommitLog) gather() {
	target := c.announced.Load()
	waiting := func() bool { return c.handedOn.Load() < target }
	if !waiting() {
		return
	}
	timer := time.NewTimer(gatherWait)
	defer timer.Stop()
	for waiting() {
		select {
		case <-c.gathered:
		case <-timer.C:
			return
		}
	}
}

func (c *CommitLog) run() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.stop:
			return
		}
		// A failed checkpoint keeps every record; only a log that
		// failed can cause one, and it needs a restart, which replays.
		_ = c.Checkpoint()
	}
}

// Checkpoint makes every log write and fsync the bytes it has acknowledged
// through the commit log, then drops the records that covered them. It
// runs by itself as the commit log grows; tests call it directly.
//
// The logs go on meanwhile: each log's syncer only writes its deferred
// bytes out (serveCheckpoint) and the fsyncs run here, so a log's rounds
// wait for its write-out at most, not for its fsync or other logs'. Their
// records land at or past end, which the trim keeps.
func (c *CommitLog) Checkpoint() error {
	end := c.log.EndOffset()
	c.sinceCheckpoint.Store(0)
	c.mu.Lock()
	users := make([]*Log, 0, len(c.users))
	for l := range c.users {
		users = append(users, l)
	}
	c.mu.Unlock()
	// All at once: each log's syncer writes its own out and its fsyncs run
	// in a goroutine here, and the device merges flushes that wait
	// together; one after another, a thousand queues would each wait for
	// a whole flush.
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, l := range users {
		wg.Go(func() {
			if err := l.checkpointDeferred(); err != nil {
				errs[i] = fmt.Errorf("storage: checkpoint %s: %w", l.dir, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.log.SetStartOffset(end)
}

// readCommitID returns the commit id kept in dir, or 0 if there is none
// (no error then): the log was deleted, or is from before the commit log.
// An id that is there but cannot be read is an error.
func readCommitID(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, commitIDName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, fmt.Errorf("%w: %s", ErrCorrupt, filepath.Join(dir, commitIDName))
	}
	return binary.BigEndian.Uint64(b), nil
}
