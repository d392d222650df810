package broker

// ConsumerOptions say how a registered consumer takes part in its group.
type ConsumerOptions struct {
	// Priority ranks the group's consumers (RabbitMQ's x-priority; 0 by
	// default, negative values allowed). A consumer receives nothing while
	// one of a higher priority is not blocked (SetConsumerBlocked);
	// consumers of equal priority compete as usual. A single active
	// consumer group ignores it, as RabbitMQ 3.13's classic queues do.
	Priority int
}

// groupConsumer is a registered consumer.
type groupConsumer struct {
	name     string
	priority int
	blocked  bool // cannot take records now: lower priorities may
}

// consumerRanks counts registered consumers by priority, so that a
// receive asks "is anyone above me free?" without a walk over every
// consumer. The caller holds group.mu.
type consumerRanks struct {
	registered map[int]int // consumers per priority
	free       map[int]int // of them, those not blocked
}

func (r *consumerRanks) count(c *groupConsumer, delta int) {
	if r.registered == nil {
		r.registered, r.free = make(map[int]int), make(map[int]int)
	}
	bump(r.registered, c.priority, delta)
	if !c.blocked {
		bump(r.free, c.priority, delta)
	}
}

// setBlocked moves a registered consumer in or out of the free count; its
// registration stays as it is.
func (r *consumerRanks) setBlocked(c *groupConsumer, blocked bool) {
	c.blocked = blocked
	if blocked {
		bump(r.free, c.priority, -1)
	} else {
		bump(r.free, c.priority, 1)
	}
}

func bump(m map[int]int, k, delta int) {
	if m[k] += delta; m[k] <= 0 {
		delete(m, k)
	}
}

// mixed tells whether the registered consumers differ in priority.
func (r *consumerRanks) mixed() bool { return len(r.registered) > 1 }

// freeAbove tells whether a consumer of a priority above p is not blocked.
func (r *consumerRanks) freeAbove(p int) bool {
	for q := range r.free {
		if q > p {
			return true
		}
	}
	return false
}

// AddConsumer registers a consumer with default options (for
// single-active-consumer order and auto-delete); adding it twice is
// harmless and keeps the options it has.
func (h Group) AddConsumer(consumer string) {
	h.addConsumer(consumer, nil)
}

// AddConsumerWith registers a consumer with options, or changes the
// options of one already registered.
func (h Group) AddConsumerWith(consumer string, opts ConsumerOptions) {
	h.addConsumer(consumer, &opts)
}

func (h Group) addConsumer(consumer string, opts *ConsumerOptions) {
	g := h.g
	g.mu.Lock()
	c := g.byName[consumer]
	switch {
	case c == nil:
		c = &groupConsumer{name: consumer}
		if opts != nil {
			c.priority = opts.Priority
		}
		if g.byName == nil {
			g.byName = make(map[string]*groupConsumer)
		}
		g.byName[consumer] = c
		g.consumers = append(g.consumers, c)
		g.ranks.count(c, 1)
		g.hadConsumer = true
	case opts != nil && opts.Priority != c.priority:
		g.ranks.count(c, -1)
		c.priority = opts.Priority
		g.ranks.count(c, 1)
	default:
		g.mu.Unlock()
		return
	}
	g.ranked.Store(g.ranks.mixed())
	g.mu.Unlock()
	g.signal()
}

// SetConsumerBlocked tells the group whether a registered consumer can take
// records now; in RabbitMQ's terms it is blocked while its prefetch window
// is full or its channel is stopped, and active otherwise. Only consumer
// priorities read it: lower priorities receive while every higher
// consumer is blocked. Consumers start active.
func (h Group) SetConsumerBlocked(consumer string, blocked bool) {
	g := h.g
	g.mu.Lock()
	c := g.byName[consumer]
	if c == nil || c.blocked == blocked {
		g.mu.Unlock()
		return
	}
	g.ranks.setBlocked(c, blocked)
	wake := blocked && g.ranks.mixed()
	g.mu.Unlock()
	if wake { // lower priorities may take what it leaves
		g.signal()
	}
}

// RemoveConsumer unregisters a consumer and releases its deliveries unless
// they are persistent. An auto-delete queue left without consumers is deleted.
func (h Group) RemoveConsumer(consumer string) {
	g := h.g
	g.mu.Lock()
	if c := g.byName[consumer]; c != nil {
		delete(g.byName, consumer)
		for i, other := range g.consumers {
			if other == c {
				g.consumers = append(g.consumers[:i], g.consumers[i+1:]...)
				break
			}
		}
		g.ranks.count(c, -1)
		g.ranked.Store(g.ranks.mixed())
	}
	empty := len(g.consumers) == 0 && g.hadConsumer
	g.mu.Unlock()
	g.stream.touch(g.b.now()) // the idle period of x-expires starts now
	h.ReleaseConsumer(consumer)
	g.signal()
	if empty && g.stream.own == g && g.stream.config().AutoDelete {
		g.b.DeleteStream(g.stream.name)
	}
}

func (g *group) consumerCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.consumers)
}

// Consumers returns the registered consumers in arrival order.
func (h Group) Consumers() []string {
	h.g.mu.Lock()
	defer h.g.mu.Unlock()
	names := make([]string, len(h.g.consumers))
	for i, c := range h.g.consumers {
		names[i] = c.name
	}
	return names
}

// mayReceive applies single active consumer: only the first registered
// consumer receives. As in RabbitMQ 3.13's classic queues, priorities do
// not choose it.
func (g *group) mayReceive(consumer string) bool {
	if !g.config().SingleActiveConsumer {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.consumers) == 0 || g.consumers[0].name == consumer
}

// outranked tells whether a registered consumer must leave records to a
// higher-priority consumer that is not blocked. Receivers that never
// registered (an AMQP basic.get) are not ranked.
func (g *group) outranked(consumer string) bool {
	if !g.ranked.Load() || g.config().SingleActiveConsumer {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.byName[consumer]
	return c != nil && g.ranks.freeAbove(c.priority)
}
