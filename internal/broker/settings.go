package broker

// DataDir returns the directory the broker stores its data in, so a
// front-end can watch the free space of its volume (AMQP's
// connection.blocked disk alarm).
func (b *Broker) DataDir() string { return b.opts.DataDir }

// Fsync returns when appends are forced to disk, so a front-end can report
// it in its own terms (Redis' appendfsync).
func (b *Broker) Fsync() FsyncPolicy { return b.opts.Fsync }
