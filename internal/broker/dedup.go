package broker

import (
	"sync"
	"time"
)

// dedupWindow remembers message ids for a window. Expired ids leave in
// arrival order, so memory is bounded by the ids seen within one window.
type dedupWindow struct {
	window time.Duration
	mu     sync.Mutex
	seen   map[string]time.Time
	order  []dedupEntry
}

type dedupEntry struct {
	id string
	at time.Time
}

func newDedupWindow(w time.Duration) *dedupWindow {
	return &dedupWindow{window: w, seen: make(map[string]time.Time)}
}

// firstSeen records id and reports whether it is new within the window.
func (d *dedupWindow) firstSeen(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.order) > 0 && now.Sub(d.order[0].at) >= d.window {
		e := d.order[0]
		if t, ok := d.seen[e.id]; ok && t.Equal(e.at) {
			delete(d.seen, e.id)
		}
		d.order = d.order[1:]
	}
	if t, ok := d.seen[id]; ok && now.Sub(t) < d.window {
		return false
	}
	d.seen[id] = now
	d.order = append(d.order, dedupEntry{id, now})
	return true
}

// forget removes an id recorded at "at" by firstSeen, for a message that
// was refused after all; its entry in order is skipped when it expires.
func (d *dedupWindow) forget(id string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.seen[id]; ok && t.Equal(at) {
		delete(d.seen, id)
	}
}
