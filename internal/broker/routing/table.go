package routing

import (
	"cmp"
	"fmt"
	"slices"
)

// Exchange describes a declared exchange.
type Exchange struct {
	Name string
	Kind Kind
	// Alternate names the exchange that receives a message this exchange's own
	// bindings do not match (RabbitMQ's alternate-exchange argument). It may name
	// an exchange that does not exist (yet); Route then skips it, as RabbitMQ does.
	Alternate string
}

// Binding connects an exchange to a queue or to another exchange.
//
// Two bindings are the same binding when Destination, ToExchange, Key and Args
// are all equal, whatever the exchange kind (RabbitMQ includes the arguments in
// a binding's identity). In Args a nil value and an empty value differ: on a
// headers exchange nil means "the header is present, any value".
type Binding struct {
	Destination string
	// ToExchange reports that Destination names an exchange, not a queue.
	ToExchange bool
	// Key is the binding key: compared with the routing key by direct exchanges,
	// a pattern for topic exchanges, ignored (but kept) by fanout and headers.
	Key string
	// Args are the binding arguments. Headers exchanges match on them (see
	// Header); other kinds only keep them as part of the binding's identity.
	Args map[string][]byte
}

// SourcedBinding is a binding together with the exchange it starts from.
type SourcedBinding struct {
	Exchange string
	Binding  Binding
}

// Table holds every exchange and binding of one virtual host.
type Table struct {
	exchanges map[string]*exchange
	// incoming indexes bindings by what they point at, so a deleted queue or
	// exchange finds its bindings without scanning every exchange.
	incoming map[endpoint]map[*binding]struct{}
	// nextSeq numbers bindings in creation order, which listings keep.
	nextSeq uint64
}

// endpoint names a binding's destination.
type endpoint struct {
	name       string
	isExchange bool
}

type exchange struct {
	Exchange
	// bindings holds every binding of this exchange by identity.
	bindings map[string]*binding
	// Each kind indexes its bindings for Route in its own way; only the field of
	// the exchange's kind is used.
	byKey   map[string][]*binding // direct
	ordered []*binding            // fanout and headers, in creation order
	topic   topicNode             // topic
}

type binding struct {
	Binding
	source *exchange
	// target is the destination exchange when ToExchange is set. It stays valid
	// because deleting an exchange deletes the bindings that point at it.
	target   *exchange
	seq      uint64
	identity string
	headers  headerPattern // headers exchanges only
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{
		exchanges: make(map[string]*exchange),
		incoming:  make(map[endpoint]map[*binding]struct{}),
	}
}

// DeclareExchange adds an exchange. Declaring an existing exchange again with the
// same kind and alternate exchange does nothing; a different kind gives
// ErrKindMismatch and a different alternate ErrAlternateMismatch.
func (t *Table) DeclareExchange(e Exchange) error {
	if e.Name == "" {
		return ErrDefaultExchange
	}
	if _, err := ParseKind(string(e.Kind)); err != nil {
		return err
	}
	if x, ok := t.exchanges[e.Name]; ok {
		switch {
		case x.Kind != e.Kind:
			return fmt.Errorf("%w: %q is %s, not %s", ErrKindMismatch, e.Name, x.Kind, e.Kind)
		case x.Alternate != e.Alternate:
			return fmt.Errorf("%w: %q has %q, not %q", ErrAlternateMismatch, e.Name, x.Alternate, e.Alternate)
		}
		return nil
	}
	x := &exchange{Exchange: e, bindings: make(map[string]*binding)}
	if e.Kind == Direct {
		x.byKey = make(map[string][]*binding)
	}
	t.exchanges[e.Name] = x
	return nil
}

// SetAlternate changes an exchange's alternate exchange, as a policy change
// does in RabbitMQ. An empty alternate removes it.
func (t *Table) SetAlternate(name, alternate string) error {
	x, ok := t.exchanges[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoExchange, name)
	}
	x.Alternate = alternate
	return nil
}

// DeleteExchange removes an exchange, its bindings and every binding that
// points at it. Other exchanges naming it as their alternate keep the name.
func (t *Table) DeleteExchange(name string) error {
	x, ok := t.exchanges[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoExchange, name)
	}
	for _, b := range x.bindings {
		t.forgetIncoming(b)
	}
	for b := range t.incoming[endpoint{name: name, isExchange: true}] {
		b.source.unindex(b)
	}
	delete(t.incoming, endpoint{name: name, isExchange: true})
	delete(t.exchanges, name)
	return nil
}

// Exchange returns the named exchange.
func (t *Table) Exchange(name string) (Exchange, bool) {
	x, ok := t.exchanges[name]
	if !ok {
		return Exchange{}, false
	}
	return x.Exchange, true
}

// Exchanges returns every exchange sorted by name.
func (t *Table) Exchanges() []Exchange {
	out := make([]Exchange, 0, len(t.exchanges))
	for _, x := range t.exchanges {
		out = append(out, x.Exchange)
	}
	slices.SortFunc(out, func(a, b Exchange) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Bind adds a binding to the named exchange. It reports false when the same
// binding already exists. Errors: ErrNoExchange when the exchange or the
// destination exchange is missing, ErrNoDestination, ErrKeyTooLong for topic
// keys, ErrInvalidMatch for headers bindings.
func (t *Table) Bind(exchangeName string, b Binding) (added bool, err error) {
	if exchangeName == "" {
		return false, ErrDefaultExchange
	}
	x, ok := t.exchanges[exchangeName]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrNoExchange, exchangeName)
	}
	if b.Destination == "" {
		return false, ErrNoDestination
	}
	var target *exchange
	if b.ToExchange {
		if target, ok = t.exchanges[b.Destination]; !ok {
			return false, fmt.Errorf("%w: destination %q", ErrNoExchange, b.Destination)
		}
	}
	nb := &binding{source: x, target: target}
	switch x.Kind {
	case Topic:
		if len(b.Key) > maxTopicKeyLen {
			return false, fmt.Errorf("%w: %d bytes", ErrKeyTooLong, len(b.Key))
		}
	case Headers:
		if nb.headers, err = parseHeaderPattern(b.Args); err != nil {
			return false, err
		}
	}
	id := identityOf(b)
	if _, exists := x.bindings[id]; exists {
		return false, nil
	}
	nb.Binding = cloneBinding(b)
	nb.identity = id
	nb.seq = t.nextSeq
	t.nextSeq++
	x.bindings[id] = nb
	x.index(nb)
	to := endpoint{name: b.Destination, isExchange: b.ToExchange}
	set := t.incoming[to]
	if set == nil {
		set = make(map[*binding]struct{})
		t.incoming[to] = set
	}
	set[nb] = struct{}{}
	return true, nil
}

// Unbind removes the binding equal to b from the named exchange and reports
// whether there was one.
func (t *Table) Unbind(exchangeName string, b Binding) (removed bool) {
	x, ok := t.exchanges[exchangeName]
	if !ok {
		return false
	}
	nb, ok := x.bindings[identityOf(b)]
	if !ok {
		return false
	}
	x.unindex(nb)
	t.forgetIncoming(nb)
	return true
}

// RemoveQueue drops every binding to the named queue, as deleting the queue
// must, and returns how many there were. To auto-delete exchanges left without
// bindings, collect BindingsTo(queue, false) first and check HasBindings after.
func (t *Table) RemoveQueue(queue string) int {
	to := endpoint{name: queue}
	set := t.incoming[to]
	for b := range set {
		b.source.unindex(b)
	}
	delete(t.incoming, to)
	return len(set)
}

// Bindings returns the bindings of the named exchange in creation order, or nil
// if it does not exist.
func (t *Table) Bindings(exchangeName string) []Binding {
	x, ok := t.exchanges[exchangeName]
	if !ok {
		return nil
	}
	bs := make([]*binding, 0, len(x.bindings))
	for _, b := range x.bindings {
		bs = append(bs, b)
	}
	sortBySeq(bs)
	out := make([]Binding, len(bs))
	for i, b := range bs {
		out[i] = cloneBinding(b.Binding)
	}
	return out
}

// BindingsTo returns the bindings whose destination is the named queue (or
// exchange, when toExchange is set), in creation order.
func (t *Table) BindingsTo(destination string, toExchange bool) []SourcedBinding {
	set := t.incoming[endpoint{name: destination, isExchange: toExchange}]
	bs := make([]*binding, 0, len(set))
	for b := range set {
		bs = append(bs, b)
	}
	sortBySeq(bs)
	out := make([]SourcedBinding, len(bs))
	for i, b := range bs {
		out[i] = SourcedBinding{Exchange: b.source.Name, Binding: cloneBinding(b.Binding)}
	}
	return out
}

// HasBindings reports whether the named exchange is the source of any binding.
// RabbitMQ's if-unused and auto-delete look only at bindings from the exchange;
// use BindingsTo for bindings that point at it.
func (t *Table) HasBindings(exchangeName string) bool {
	x, ok := t.exchanges[exchangeName]
	return ok && len(x.bindings) > 0
}

// forgetIncoming drops b from the destination index.
func (t *Table) forgetIncoming(b *binding) {
	to := endpoint{name: b.Destination, isExchange: b.ToExchange}
	set := t.incoming[to]
	delete(set, b)
	if len(set) == 0 {
		delete(t.incoming, to)
	}
}

// index adds b to the structure Route searches for this exchange's kind.
func (x *exchange) index(b *binding) {
	switch x.Kind {
	case Direct:
		x.byKey[b.Key] = append(x.byKey[b.Key], b)
	case Topic:
		x.topic.insert(topicPatternWords(b.Key), b)
	default:
		x.ordered = append(x.ordered, b)
	}
}

// unindex removes b from the exchange entirely.
func (x *exchange) unindex(b *binding) {
	delete(x.bindings, b.identity)
	switch x.Kind {
	case Direct:
		if rest := removeBinding(x.byKey[b.Key], b); len(rest) > 0 {
			x.byKey[b.Key] = rest
		} else {
			delete(x.byKey, b.Key)
		}
	case Topic:
		x.topic.remove(topicPatternWords(b.Key), b)
	default:
		x.ordered = removeBinding(x.ordered, b)
	}
}

// removeBinding deletes b from bs keeping the order of the rest, so Route's
// results stay in creation order.
func removeBinding(bs []*binding, b *binding) []*binding {
	if i := slices.Index(bs, b); i >= 0 {
		return slices.Delete(bs, i, i+1)
	}
	return bs
}

func sortBySeq(bs []*binding) {
	slices.SortFunc(bs, func(a, b *binding) int { return cmp.Compare(a.seq, b.seq) })
}
