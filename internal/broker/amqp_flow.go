package broker

// Ready returns how many records of the group wait for a consumer: neither
// settled nor in flight. The AMQP front-end reads it to pace publishers
// while consumers drain a backlog; SQS reports it as a queue's visible
// messages.
func (h Group) Ready() int64 {
	var n int64
	for _, gp := range h.g.partsSnapshot() {
		end := gp.p.log.EndOffset()
		gp.mu.Lock()
		n += gp.backlogLocked(end) - int64(len(gp.pending))
		gp.mu.Unlock()
	}
	return max(n, 0)
}

// InFlight returns how many deliveries are received but not yet settled.
func (h Group) InFlight() int64 {
	var n int64
	for _, gp := range h.g.partsSnapshot() {
		gp.mu.Lock()
		n += int64(len(gp.pending))
		gp.mu.Unlock()
	}
	return n
}

// ConsumerCount returns how many consumers are registered.
func (h Group) ConsumerCount() int { return h.g.consumerCount() }
