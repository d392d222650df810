package broker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// MaxPartitions is the most partitions a stream may have.
const MaxPartitions = 10000

// CheckAddPartitions tells whether AddPartitions(name, total) would be
// accepted, without changing anything (Kafka CreatePartitions with
// validate_only).
func (b *Broker) CheckAddPartitions(name string, total int) error {
	s, err := b.stream(name)
	if err != nil {
		return err
	}
	return checkGrowth(s.config().Kind, len(s.partitions()), total)
}

func checkGrowth(kind StreamKind, have, total int) error {
	switch {
	case kind != KindTopic:
		return &InvalidArgumentError{"partitions", "only a topic's partition count can change; a queue keeps its partitions"}
	case total > MaxPartitions:
		return &InvalidArgumentError{"partitions", fmt.Sprintf("at most %d", MaxPartitions)}
	case total <= have:
		return &InvalidArgumentError{"partitions", fmt.Sprintf("the stream has %d partitions; the new count %d must be larger", have, total)}
	}
	return nil
}

// AddPartitions grows the topic name to total partitions (Kafka
// CreatePartitions). The new partitions start empty at offset 0, and every
// shared group of the stream reads them from there. The new count is in the
// state journal, synced, before the call returns.
//
// Keys placed by hash (murmur2 modulo the count) move to other partitions
// afterwards, as in Kafka.
//
// Concurrency: the partition lists of the stream and of its groups are
// published copy-on-write (atomic pointers to slices that are never changed
// once stored), so readers that loaded the old list keep a valid, shorter
// view. The new partitions become visible only after the journal has the new
// count: a record can never be acknowledged in a partition that a crash
// would forget. Between the journal record and the swap the configuration
// already says total while appends to the new partitions still fail with
// ErrNoSuchPartition, which front-ends report as retriable.
func (b *Broker) AddPartitions(name string, total int) error {
	s, err := b.stream(name)
	if err != nil {
		return err
	}
	s.growMu.Lock()
	defer s.growMu.Unlock()

	b.mu.RLock()
	cfg, current := s.config(), b.streams[name] == s
	b.mu.RUnlock()
	if !current {
		return &NotFoundError{"stream", name}
	}
	have := len(s.partitions())
	if err := checkGrowth(cfg.Kind, have, total); err != nil {
		return err
	}

	// A directory at a new index is left over from a growth that never
	// reached the journal; nothing in it was ever acknowledged.
	for i := have; i < total; i++ {
		if err := os.RemoveAll(filepath.Join(s.dir, strconv.Itoa(i))); err != nil {
			return fmt.Errorf("broker: clearing stream %q partition %d: %w", name, i, err)
		}
	}
	opts := b.storageOptions()
	opts.RetentionAge = cfg.RetentionAge
	opts.RetentionBytes = cfg.RetentionBytes
	added, err := s.openPartitions(have, total, opts)
	if err != nil {
		return err
	}
	closeAdded := func() {
		for _, p := range added {
			p.log.Close()
		}
	}

	b.mu.Lock()
	if b.closed || b.streams[name] != s {
		b.mu.Unlock()
		closeAdded()
		return &NotFoundError{"stream", name}
	}
	// Taken again under b.mu, so an UpdateStream meanwhile is kept.
	// Recovery opens cfg.Partitions logs, so this record is all it needs.
	cfg = s.config()
	cfg.Partitions = total
	s.setConfig(cfg)
	seq := b.logCatalog(catalogChange{Op: "update-stream", Stream: name, Config: &cfg})
	b.mu.Unlock()
	commitErr := b.commit(seq)

	b.mu.Lock()
	if b.closed || b.streams[name] != s {
		// Closed or deleted while the record was synced: nothing will close
		// these logs but us.
		b.mu.Unlock()
		closeAdded()
		if commitErr != nil {
			return commitErr
		}
		return &NotFoundError{"stream", name}
	}
	cfg = s.config()
	for _, p := range added {
		// An UpdateStream meanwhile changed retention on the old logs only.
		p.log.SetRetention(cfg.RetentionAge, cfg.RetentionBytes)
	}
	old := s.partitions()
	parts := make([]*partition, 0, total)
	parts = append(append(parts, old...), added...)
	// Groups first: a reader that sees the longer stream list and then a
	// group's list may index the group by a new partition.
	s.groupsMu.Lock()
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		g.grow(parts)
		groups = append(groups, g)
	}
	s.groupsMu.Unlock()
	s.parts.Store(&parts)
	b.mu.Unlock()

	// Receivers waiting on a group watch only the partitions they knew.
	for _, g := range groups {
		g.signal()
	}
	return commitErr
}

// grow gives the group a partition for every one of parts it lacks,
// reading from the start of the new (empty) log. The caller holds b.mu and
// the stream's groupsMu, so no other growth or group creation runs.
func (g *group) grow(parts []*partition) {
	old := g.partsSnapshot()
	if len(old) >= len(parts) {
		return
	}
	grown := make([]*groupPart, 0, len(parts))
	grown = append(grown, old...)
	for _, p := range parts[len(old):] {
		grown = append(grown, newGroupPart(g, p, p.log.StartOffset(), g.b.clock))
	}
	g.parts.Store(&grown)
}
