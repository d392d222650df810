package broker

// DataDir returns the directory the broker stores its data in, so a
// front-end can watch the free space of its volume (AMQP's
// connection.blocked disk alarm).
func (b *Broker) DataDir() string { return b.opts.DataDir }
