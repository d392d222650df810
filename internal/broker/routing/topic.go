package routing

import "slices"

// maxTopicKeyLen is the longest topic binding key: an AMQP short string. It
// bounds the trie depth and so the work one publish can cost.
const maxTopicKeyLen = 255

const (
	wildcardOne  = "*" // exactly one word
	wildcardMany = "#" // zero or more words
)

// topicNode is one node of a topic exchange's trie. A binding key is a path of
// words from the root; the binding sits at the node where its path ends. Routing
// walks only the branches a routing key can match instead of testing every
// binding, so its cost grows with the key and the matching bindings, not with
// the number of bindings.
type topicNode struct {
	children map[string]*topicNode // literal words
	one      *topicNode            // "*"
	many     *topicNode            // "#"
	bindings []*binding            // bindings whose key ends here, in creation order
}

// splitWords splits a routing or binding key into its dot-separated words,
// appending to buf. As in RabbitMQ the empty key has no words, while "a." has
// two ("a" and ""). The words share the key's memory.
func splitWords(key string, buf []string) []string {
	if key == "" {
		return buf
	}
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			buf = append(buf, key[start:i])
			start = i + 1
		}
	}
	return append(buf, key[start:])
}

// topicPatternWords returns the trie path of a binding key. Within a run of
// wildcards the order does not change what matches and "#.#" matches what "#"
// does, so each run becomes its "*"s followed by at most one "#". After that a
// "#" node never has a wildcard child, which keeps matching from retrying the
// same positions over and over (see router.enterMany).
func topicPatternWords(key string) []string {
	words := splitWords(key, nil)
	out := words[:0]
	for i := 0; i < len(words); {
		if words[i] != wildcardOne && words[i] != wildcardMany {
			out = append(out, words[i])
			i++
			continue
		}
		many := false
		for ; i < len(words) && (words[i] == wildcardOne || words[i] == wildcardMany); i++ {
			if words[i] == wildcardOne {
				out = append(out, wildcardOne)
			} else {
				many = true
			}
		}
		if many {
			out = append(out, wildcardMany)
		}
	}
	return out
}

// child returns the node under n for word, creating it if create is set.
func (n *topicNode) child(word string, create bool) *topicNode {
	switch word {
	case wildcardOne:
		if n.one == nil && create {
			n.one = &topicNode{}
		}
		return n.one
	case wildcardMany:
		if n.many == nil && create {
			n.many = &topicNode{}
		}
		return n.many
	}
	c := n.children[word]
	if c == nil && create {
		if n.children == nil {
			n.children = make(map[string]*topicNode)
		}
		c = &topicNode{}
		n.children[word] = c
	}
	return c
}

func (n *topicNode) insert(path []string, b *binding) {
	for _, w := range path {
		n = n.child(w, true)
	}
	n.bindings = append(n.bindings, b)
}

// remove deletes b from the node at path and prunes nodes left empty, so a
// table that churns bindings does not keep growing.
func (n *topicNode) remove(path []string, b *binding) {
	if len(path) == 0 {
		if i := slices.Index(n.bindings, b); i >= 0 {
			n.bindings = slices.Delete(n.bindings, i, i+1)
		}
		return
	}
	c := n.child(path[0], false)
	if c == nil {
		return
	}
	c.remove(path[1:], b)
	if !c.isEmpty() {
		return
	}
	switch path[0] {
	case wildcardOne:
		n.one = nil
	case wildcardMany:
		n.many = nil
	default:
		delete(n.children, path[0])
	}
}

func (n *topicNode) isEmpty() bool {
	return len(n.bindings) == 0 && len(n.children) == 0 && n.one == nil && n.many == nil
}
