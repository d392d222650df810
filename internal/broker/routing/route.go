package routing

import "strings"

// Route appends to dst the queues a message published to the named exchange
// reaches and returns the extended slice. An unknown exchange reaches nothing.
//
// Exchange-to-exchange bindings are followed, and an exchange whose own bindings
// match nothing hands the message to its alternate exchange; each exchange is
// visited at most once, so cycles end. As in RabbitMQ, an exchange counts as
// having matched when any binding matched, even one to an exchange that then
// reaches no queue; only then is its alternate skipped.
//
// Each queue appears once among the appended names, in the order the walk first
// reaches it: depth first, bindings of direct, fanout and headers exchanges in
// creation order; topic bindings in trie order, where at each word a literal
// match comes before "*" and "*" before "#", and bindings with the same key in
// creation order. The same table and message always give the same order. Route
// only reads the table.
func (t *Table) Route(exchangeName, routingKey string, headers []Header, dst []string) []string {
	x := t.exchanges[exchangeName]
	if x == nil {
		return dst
	}
	r := router{table: t, key: routingKey, headers: headers, dst: dst, first: len(dst)}
	r.route(x)
	return r.dst
}

// dedupScanLimit is how many routed queues Route checks for duplicates by
// scanning before it switches to a map; most publishes reach only a few queues.
const dedupScanLimit = 16

// router is the state of one Route call. It lives on Route's stack, so its
// small fixed buffers keep a typical publish free of allocations. They are
// arrays with counts rather than slices of each other: a slice of the router
// stored in the router would force it onto the heap.
type router struct {
	table   *Table
	key     string
	headers []Header

	visited      [8]*exchange
	visitedCount int
	visitedMore  []*exchange // beyond len(visited)

	// The routing key split for topic exchanges, done when the first topic
	// exchange is reached: in words, or in wordsMore when it has more words.
	words      [16]string
	wordCount  int
	wordsMore  []string
	wordsReady bool

	// manyLow records, for "#" nodes below another "#", the lowest key position
	// already tried from there (see enterMany). Made only when needed.
	manyLow map[*topicNode]int

	dst   []string
	first int
	seen  map[string]struct{} // dst[first:] once it outgrows dedupScanLimit
}

// route sends the message through x and, if x's own bindings match nothing,
// through its alternate exchange.
func (r *router) route(x *exchange) {
	if r.visitedCount < len(r.visited) {
		r.visited[r.visitedCount] = x
		r.visitedCount++
	} else {
		r.visitedMore = append(r.visitedMore, x)
	}
	if r.matchOwn(x) > 0 || x.Alternate == "" {
		return
	}
	if alt := r.table.exchanges[x.Alternate]; alt != nil && !r.wasVisited(alt) {
		r.route(alt)
	}
}

// matchOwn delivers to x's matching bindings and returns how many matched.
func (r *router) matchOwn(x *exchange) int {
	switch x.Kind {
	case Direct:
		bs := x.byKey[r.key]
		for _, b := range bs {
			r.deliver(b)
		}
		return len(bs)
	case Fanout:
		for _, b := range x.ordered {
			r.deliver(b)
		}
		return len(x.ordered)
	case Headers:
		matched := 0
		for _, b := range x.ordered {
			if b.headers.matches(r.headers) {
				r.deliver(b)
				matched++
			}
		}
		return matched
	case Topic:
		if !r.wordsReady {
			r.splitKey()
		}
		return r.walk(&x.topic, 0, 0)
	}
	return 0
}

// deliver follows one matched binding.
func (r *router) deliver(b *binding) {
	if b.target == nil {
		r.addQueue(b.Destination)
		return
	}
	if !r.wasVisited(b.target) {
		r.route(b.target)
	}
}

func (r *router) wasVisited(x *exchange) bool {
	for _, v := range r.visited[:r.visitedCount] {
		if v == x {
			return true
		}
	}
	for _, v := range r.visitedMore {
		if v == x {
			return true
		}
	}
	return false
}

// splitKey splits the routing key into words, in place when they fit.
func (r *router) splitKey() {
	r.wordsReady = true
	if strings.Count(r.key, ".") < len(r.words) {
		// The key fits, so splitWords appends within the array.
		r.wordCount = len(splitWords(r.key, r.words[:0]))
		return
	}
	r.wordsMore = splitWords(r.key, nil)
	r.wordCount = len(r.wordsMore)
}

// word returns the routing key's word i.
func (r *router) word(i int) string {
	if r.wordsMore != nil {
		return r.wordsMore[i]
	}
	return r.words[i]
}

// addQueue appends queue unless this call already routed to it.
func (r *router) addQueue(queue string) {
	if r.seen != nil {
		if _, dup := r.seen[queue]; dup {
			return
		}
		r.seen[queue] = struct{}{}
		r.dst = append(r.dst, queue)
		return
	}
	routed := r.dst[r.first:]
	for _, q := range routed {
		if q == queue {
			return
		}
	}
	if len(routed) >= dedupScanLimit {
		r.seen = make(map[string]struct{}, 2*len(routed))
		for _, q := range routed {
			r.seen[q] = struct{}{}
		}
		r.seen[queue] = struct{}{}
	}
	r.dst = append(r.dst, queue)
}

// walk matches the key's words from i on below n, having passed manyAbove "#" nodes on the
// way, delivers to the bindings of every node where the key ends, and returns
// how many bindings matched.
func (r *router) walk(n *topicNode, i, manyAbove int) int {
	matched := 0
	if i == r.wordCount {
		for _, b := range n.bindings {
			r.deliver(b)
		}
		matched += len(n.bindings)
	}
	if i < r.wordCount {
		if c := n.children[r.word(i)]; c != nil {
			matched += r.walk(c, i+1, manyAbove)
		}
		if n.one != nil {
			matched += r.walk(n.one, i+1, manyAbove)
		}
	}
	if n.many != nil {
		matched += r.enterMany(n.many, i, manyAbove)
	}
	return matched
}

// enterMany lets the "#" node h swallow the words from position from to j for every j and walks on
// from each. A "#" node reached without passing another "#" is reached once per
// call, since every word before it matched exactly one word of the key. Below
// another "#" it can be reached from many positions, and trying all of them
// each time grows exponentially with the number of "#"s in a key (a.#.a.#.a
// against a.a.a.a...). Entering at position p covers every later position, so
// manyLow remembers the lowest p tried and later entries only try what is left.
// In this depth-first walk the first entry is already the lowest, so later
// entries usually stop at once; handling a lower one keeps the walk correct
// should the traversal order change.
func (r *router) enterMany(h *topicNode, from, manyAbove int) int {
	to := r.wordCount
	if manyAbove > 0 {
		if r.manyLow == nil {
			r.manyLow = make(map[*topicNode]int)
		}
		if low, ok := r.manyLow[h]; ok {
			if low <= from {
				return 0
			}
			to = low - 1
		}
		r.manyLow[h] = from
	}
	if len(h.children) == 0 {
		// After normalising, a "#" node has only literal children; without
		// them only the bindings ending here can match, at the end of the key.
		if to < r.wordCount {
			return 0
		}
		from = r.wordCount
	}
	matched := 0
	for j := from; j <= to; j++ {
		matched += r.walk(h, j, manyAbove+1)
	}
	return matched
}
