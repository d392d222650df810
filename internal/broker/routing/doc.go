// Package routing holds the broker's exchanges and bindings and decides which
// queues a published message goes to.
//
// The semantics are RabbitMQ's (AMQP 0-9-1): direct, fanout, topic and headers
// exchanges, exchange-to-exchange bindings and alternate exchanges. The package is
// protocol neutral: it sees routing keys, header values as bytes and queue names,
// never frames, so every front-end that publishes through an exchange shares it.
//
// The default exchange ("") is not kept here; the broker routes it straight to the
// queue named by the routing key.
//
// A Table is a plain data structure: no I/O, no goroutines and no locking. The
// broker guards it with a sync.RWMutex. Route only reads the table, so any number
// of Route calls may run at once under the read lock; every other method changes
// the table and needs the write lock.
package routing
