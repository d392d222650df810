package broker

import (
	"context"
	"encoding/json"
	"errors"
	"sort"

	"github.com/gannet-mq/gannet/internal/broker/routing"
)

// Journal record kinds.
const (
	kindCatalog     byte = 'c' // catalogChange, JSON
	kindDelta       byte = 'd' // groupDelta, binary
	kindGroupSnap   byte = 'g' // groupSnapshot, JSON
	kindCatalogSnap byte = 's' // catalogSnapshot, JSON
)

// catalogChange is one declaration change in the state journal.
type catalogChange struct {
	Op       string          `json:"op"`
	Stream   string          `json:"stream,omitempty"`
	Config   *StreamConfig   `json:"config,omitempty"`
	Exchange *ExchangeConfig `json:"exchange,omitempty"`
	Binding  *BindingConfig  `json:"binding,omitempty"`
	Group    *groupDecl      `json:"group,omitempty"`
	Offset   *offsetCommit   `json:"offset,omitempty"`
}

type groupDecl struct {
	ID     uint32      `json:"id"`
	Stream string      `json:"stream"`
	Name   string      `json:"name"`
	Config GroupConfig `json:"config"`
	// Start is where the group begins reading, per partition.
	Start []int64 `json:"start,omitempty"`
}

// ExchangeConfig declares an exchange.
type ExchangeConfig struct {
	Name       string            `json:"name"`
	Kind       string            `json:"kind"` // direct, fanout, topic, headers
	Durable    bool              `json:"durable"`
	AutoDelete bool              `json:"auto_delete,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	Alternate  string            `json:"alternate,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// BindingConfig binds a queue (or, with ToExchange, an exchange) to an exchange.
type BindingConfig struct {
	Exchange    string            `json:"exchange"`
	Destination string            `json:"destination"`
	ToExchange  bool              `json:"to_exchange,omitempty"`
	Key         string            `json:"key"`
	Args        map[string][]byte `json:"args,omitempty"`
}

func (c BindingConfig) routing() routing.Binding {
	return routing.Binding{Destination: c.Destination, ToExchange: c.ToExchange, Key: c.Key, Args: c.Args}
}

func (b *Broker) logCatalog(c catalogChange) uint64 {
	v, err := json.Marshal(c)
	if err != nil {
		panic("broker: catalog change does not marshal: " + err.Error())
	}
	return b.journal.add(kindCatalog, v)
}

// commit waits for a declaration to reach disk; declarations are rare, so
// they always wait.
func (b *Broker) commit(seq uint64) error { return b.journal.wait(context.Background(), seq) }

// StreamInfo describes a declared stream.
type StreamInfo struct {
	Name   string
	Config StreamConfig
}

// DeclareStream creates a stream, or checks that an existing one matches.
// It returns created=false when the stream existed with an equivalent
// configuration and ErrExists when it differs.
func (b *Broker) DeclareStream(name string, cfg StreamConfig) (StreamInfo, bool, error) {
	if name == "" {
		return StreamInfo{}, false, &InvalidArgumentError{"stream name", "must not be empty"}
	}
	if err := cfg.validate(); err != nil {
		return StreamInfo{}, false, err
	}
	cfg = cfg.normalized()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return StreamInfo{}, false, ErrClosed
	}
	if s, ok := b.streams[name]; ok {
		have := s.config()
		b.mu.Unlock()
		if have.Owner != "" && cfg.Owner != have.Owner {
			return StreamInfo{}, false, ErrLocked
		}
		if !have.equivalent(cfg) {
			return StreamInfo{Name: name, Config: have}, false, ErrExists
		}
		s.touch(b.now())
		return StreamInfo{Name: name, Config: have}, false, nil
	}
	s, err := b.openStream(name, cfg)
	if err != nil {
		b.mu.Unlock()
		return StreamInfo{}, false, err
	}
	b.streams[name] = s
	seq := b.logCatalog(catalogChange{Op: "declare-stream", Stream: name, Config: &cfg})
	if cfg.Kind == KindQueue {
		decl := groupDecl{ID: b.allocGroupID(), Stream: name, Name: "", Config: cfg.Group}
		g := b.attachGroup(s, decl)
		s.own = g
		seq = b.logCatalog(catalogChange{Op: "create-group", Group: &decl})
		if err := s.trackQueueBytes(); err != nil { // a new log: nothing to read
			b.mu.Unlock()
			return StreamInfo{}, false, err
		}
	}
	b.armExpiry(s)
	b.mu.Unlock()
	return StreamInfo{Name: name, Config: cfg}, true, b.commit(seq)
}

// UpdateStream changes a stream's settings through update (SQS
// SetQueueAttributes, TagQueue); kind and partitions cannot change here
// (a topic's partitions grow with AddPartitions).
func (b *Broker) UpdateStream(name string, update func(*StreamConfig) error) (StreamConfig, error) {
	b.mu.Lock()
	s, ok := b.streams[name]
	if !ok {
		b.mu.Unlock()
		return StreamConfig{}, &NotFoundError{"stream", name}
	}
	old := s.config()
	cfg := old
	attrs := make(map[string]string, len(cfg.Attributes))
	for k, v := range cfg.Attributes {
		attrs[k] = v
	}
	cfg.Attributes = attrs
	if err := update(&cfg); err != nil {
		b.mu.Unlock()
		return StreamConfig{}, err
	}
	if err := cfg.validate(); err != nil {
		b.mu.Unlock()
		return StreamConfig{}, err
	}
	if cfg.Kind != old.Kind || cfg.Partitions != old.Partitions {
		b.mu.Unlock()
		return StreamConfig{}, &InvalidArgumentError{"stream config", "kind and partitions cannot change here"}
	}
	cfg = cfg.normalized()
	s.setConfig(cfg)
	if s.own != nil {
		s.own.setConfig(cfg.Group)
	}
	b.applyLiveSettings(s, old)
	seq := b.logCatalog(catalogChange{Op: "update-stream", Stream: name, Config: &cfg})
	b.mu.Unlock()
	return cfg, b.commit(seq)
}

// Stream returns a declared stream's configuration.
func (b *Broker) Stream(name string) (StreamInfo, error) {
	s, err := b.stream(name)
	if err != nil {
		return StreamInfo{}, err
	}
	return StreamInfo{Name: name, Config: s.config()}, nil
}

func (b *Broker) stream(name string) (*stream, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	s, ok := b.streams[name]
	if !ok {
		return nil, &NotFoundError{"stream", name}
	}
	return s, nil
}

// Streams lists declared streams by name.
func (b *Broker) Streams() []StreamInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]StreamInfo, 0, len(b.streams))
	for name, s := range b.streams {
		out = append(out, StreamInfo{Name: name, Config: s.config()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteStream removes a stream, its groups, its bindings and its data.
func (b *Broker) DeleteStream(name string) error { return b.deleteStream(name, nil) }

// deleteStream deletes name if it is only (any stream when only is nil), so
// a timer of a deleted stream cannot delete a new one of the same name.
func (b *Broker) deleteStream(name string, only *stream) error {
	b.mu.Lock()
	s, ok := b.streams[name]
	if !ok || only != nil && s != only {
		b.mu.Unlock()
		return &NotFoundError{"stream", name}
	}
	delete(b.streams, name)
	s.stopExpiry()
	for _, g := range s.groupList() {
		delete(b.groupIDs, g.id)
		g.close()
	}
	b.routes.RemoveQueue(name)
	for k := range b.offsets {
		if k.Stream == name {
			delete(b.offsets, k)
		}
	}
	seq := b.logCatalog(catalogChange{Op: "delete-stream", Stream: name})
	b.mu.Unlock()
	err := b.commit(seq)
	if rmErr := s.removeLogs(); err == nil {
		err = rmErr
	}
	return err
}

// DeleteOwnedBy deletes every stream owned by a connection that has closed.
func (b *Broker) DeleteOwnedBy(owner string) {
	if owner == "" {
		return
	}
	b.mu.RLock()
	var names []string
	for name, s := range b.streams {
		if s.config().Owner == owner {
			names = append(names, name)
		}
	}
	b.mu.RUnlock()
	for _, n := range names {
		b.DeleteStream(n)
	}
}

// DeclareExchange creates an exchange or checks an existing one: a
// redeclare that differs in kind, flags or alternate exchange is ErrExists.
func (b *Broker) DeclareExchange(cfg ExchangeConfig) (created bool, err error) {
	kind, err := routing.ParseKind(cfg.Kind)
	if err != nil {
		return false, &InvalidArgumentError{"exchange type", cfg.Kind}
	}
	if cfg.Name == "" {
		return false, &InvalidArgumentError{"exchange name", "the default exchange cannot be declared"}
	}
	b.mu.Lock()
	if old, ok := b.exchanges[cfg.Name]; ok {
		b.mu.Unlock()
		// Alternate is the one argument RabbitMQ compares on a redeclare.
		if old.Kind != cfg.Kind || old.Durable != cfg.Durable || old.AutoDelete != cfg.AutoDelete ||
			old.Internal != cfg.Internal || old.Alternate != cfg.Alternate {
			return false, ErrExists
		}
		return false, nil
	}
	if err := b.routes.DeclareExchange(routing.Exchange{Name: cfg.Name, Kind: kind, Alternate: cfg.Alternate}); err != nil {
		b.mu.Unlock()
		return false, err
	}
	b.exchanges[cfg.Name] = cfg
	seq := b.logCatalog(catalogChange{Op: "declare-exchange", Exchange: &cfg})
	b.mu.Unlock()
	return true, b.commit(seq)
}

// Exchange returns an exchange's configuration.
func (b *Broker) Exchange(name string) (ExchangeConfig, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.exchanges[name]
	if !ok {
		return ExchangeConfig{}, &NotFoundError{"exchange", name}
	}
	return e, nil
}

// DeleteExchange removes an exchange and every binding from or to it.
func (b *Broker) DeleteExchange(name string, ifUnused bool) error {
	b.mu.Lock()
	if _, ok := b.exchanges[name]; !ok {
		b.mu.Unlock()
		return &NotFoundError{"exchange", name}
	}
	if ifUnused && b.routes.HasBindings(name) {
		b.mu.Unlock()
		return ErrInUse
	}
	b.routes.DeleteExchange(name)
	delete(b.exchanges, name)
	seq := b.logCatalog(catalogChange{Op: "delete-exchange", Exchange: &ExchangeConfig{Name: name}})
	b.mu.Unlock()
	return b.commit(seq)
}

// Bind adds a binding; binding twice is not an error.
func (b *Broker) Bind(c BindingConfig) error {
	b.mu.Lock()
	if err := b.checkBindingEnds(c); err != nil {
		b.mu.Unlock()
		return err
	}
	added, err := b.routes.Bind(c.Exchange, c.routing())
	if errors.Is(err, routing.ErrInvalidMatch) || errors.Is(err, routing.ErrKeyTooLong) {
		err = &InvalidArgumentError{"binding", err.Error()}
	}
	if err != nil || !added {
		b.mu.Unlock()
		return err
	}
	seq := b.logCatalog(catalogChange{Op: "bind", Binding: &c})
	b.mu.Unlock()
	return b.commit(seq)
}

// Unbind removes a binding; removing a missing binding is not an error.
func (b *Broker) Unbind(c BindingConfig) error {
	b.mu.Lock()
	if err := b.checkBindingEnds(c); err != nil {
		b.mu.Unlock()
		return err
	}
	if !b.routes.Unbind(c.Exchange, c.routing()) {
		b.mu.Unlock()
		return nil
	}
	seq := b.logCatalog(catalogChange{Op: "unbind", Binding: &c})
	autoDelete := b.exchanges[c.Exchange].AutoDelete && !b.routes.HasBindings(c.Exchange)
	b.mu.Unlock()
	if err := b.commit(seq); err != nil {
		return err
	}
	if autoDelete {
		return b.DeleteExchange(c.Exchange, true)
	}
	return nil
}

func (b *Broker) checkBindingEnds(c BindingConfig) error {
	if _, ok := b.exchanges[c.Exchange]; !ok {
		return &NotFoundError{"exchange", c.Exchange}
	}
	if c.ToExchange {
		if _, ok := b.exchanges[c.Destination]; !ok {
			return &NotFoundError{"exchange", c.Destination}
		}
	} else if _, ok := b.streams[c.Destination]; !ok {
		return &NotFoundError{"stream", c.Destination}
	}
	return nil
}

// Bindings lists the bindings whose source is exchange.
func (b *Broker) Bindings(exchange string) []BindingConfig {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.bindingsLocked(exchange)
}

// Exchanges lists declared exchanges by name.
func (b *Broker) Exchanges() []ExchangeConfig {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]ExchangeConfig, 0, len(b.exchanges))
	for _, e := range b.exchanges {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (b *Broker) allocGroupID() uint32 {
	b.nextGroup++
	return b.nextGroup
}
