package broker

import "github.com/gannet-mq/gannet/internal/batch"

// byteBacklog counts the body bytes of a queue's unsettled records, for
// StreamConfig.MaxLengthBytes (RabbitMQ's x-max-length-bytes, which counts
// message bodies). Only queues with the limit pay for it: one map entry per
// unsettled record.
type byteBacklog struct {
	sizes map[int64]int32
	total int64
}

func newByteBacklog() *byteBacklog { return &byteBacklog{sizes: make(map[int64]int32)} }

func (b *byteBacklog) add(off int64, n int) {
	if _, ok := b.sizes[off]; ok {
		return
	}
	b.sizes[off] = int32(n)
	b.total += int64(n)
}

// remove forgets off and returns the size it had (0 if unknown).
func (b *byteBacklog) remove(off int64) int32 {
	n, ok := b.sizes[off]
	if ok {
		delete(b.sizes, off)
		b.total -= int64(n)
	}
	return n
}

// trackQueueBytes starts byte counting on a queue with MaxLengthBytes.
func (s *stream) trackQueueBytes() error {
	if s.own == nil || s.config().MaxLengthBytes <= 0 {
		return nil
	}
	for _, gp := range s.own.partsSnapshot() {
		if err := gp.trackBytes(); err != nil {
			return err
		}
	}
	return nil
}

// trackBytes turns byte counting on for a queue's own group partition and
// counts what is already unsettled in the log (after a restart).
func (gp *groupPart) trackBytes() error {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	gp.bytes = newByteBacklog()
	for from, end := gp.floor, gp.p.log.EndOffset(); from < end; {
		recs, err := gp.p.log.ReadRecords(from, lookaheadBytes, nil)
		if err != nil || len(recs) == 0 {
			return err
		}
		for _, r := range recs {
			if !gp.isSettled(r.Offset) {
				gp.bytes.add(r.Offset, len(r.Value))
			}
		}
		from = recs[len(recs)-1].Offset + 1
	}
	return nil
}

// noteAppended counts the bodies of records just appended at base, if the
// queue counts bytes. gp.bytes is read under gp.mu: UpdateStream may turn
// counting on meanwhile.
func (gp *groupPart) noteAppended(base int64, recs []batch.Record) {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if gp.bytes == nil {
		return
	}
	for i := range recs {
		gp.bytes.add(base+int64(i), len(recs[i].Value))
	}
}

// overLimit says how many records and bytes must go before n more records
// of size bytes fit; the caller holds gp.mu.
func (gp *groupPart) overLimitLocked(cfg StreamConfig, end int64, n int, size int64) (records, bytes int64) {
	if cfg.MaxLength > 0 {
		records = gp.backlogLocked(end) + int64(n) - cfg.MaxLength
	}
	if cfg.MaxLengthBytes > 0 && gp.bytes != nil {
		bytes = gp.bytes.total + size - cfg.MaxLengthBytes
	}
	return max(records, 0), max(bytes, 0)
}
