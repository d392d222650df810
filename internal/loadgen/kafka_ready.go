package loadgen

import (
	"context"
	"sync"
)

// groupReadiness tells when a Kafka consumer group is ready to be measured:
// every partition assigned, and every member that holds partitions fetching
// them. Members look up where to start before their first Fetch, and one
// that joins an active group gets nothing at first and its share in a
// second, cooperative round; publishing before all that would charge it to
// the first messages. Which member gets partitions is the balancer's
// choice, so readiness belongs to the group, not to a member.
type groupReadiness struct {
	mu      sync.Mutex
	total   int // partitions the group consumes
	members []memberReadiness
	ready   chan struct{} // closed once complete
}

type memberReadiness struct {
	generation int32 // of its latest assignment; -1 before any
	held       int
	fetched    bool // it has written a Fetch since it last gained partitions
}

func newGroupReadiness(members, partitions int) *groupReadiness {
	r := &groupReadiness{total: partitions, members: make([]memberReadiness, members), ready: make(chan struct{})}
	for i := range r.members {
		r.members[i].generation = -1
	}
	return r
}

// assigned records member m's assignment in a generation, with gained new
// partitions (franz-go calls this every round, gained or not).
func (r *groupReadiness) assigned(m int, generation int32, gained int) {
	r.update(func() {
		st := &r.members[m]
		st.generation, st.held = generation, st.held+gained
		if gained > 0 {
			st.fetched = false
		}
	})
}

// revoked records that member m gave up partitions.
func (r *groupReadiness) revoked(m, lost int) {
	r.update(func() { r.members[m].held -= lost })
}

// fetched records that member m wrote a Fetch request. It is called for
// every Fetch of the run; once the group is ready it takes no lock.
func (r *groupReadiness) fetched(m int) {
	if !r.isReady() {
		r.update(func() { r.members[m].fetched = true })
	}
}

func (r *groupReadiness) isReady() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}

func (r *groupReadiness) update(change func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	change()
	if !r.isReady() && r.complete() { // closed under mu: once
		close(r.ready)
	}
}

// complete: all members assigned in the same generation, every partition
// held, and every holder fetching.
func (r *groupReadiness) complete() bool {
	held := 0
	for _, st := range r.members {
		if st.generation < 0 || st.generation != r.members[0].generation || st.held > 0 && !st.fetched {
			return false
		}
		held += st.held
	}
	return held == r.total
}

func (r *groupReadiness) wait(ctx context.Context) error {
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
