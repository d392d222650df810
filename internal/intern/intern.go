// Package intern keeps one string per distinct short name, so that a
// decoder that meets the same few names over and over (record header keys,
// stream field names) does not allocate a string for each.
package intern

// A Table interns names of up to MaxLen bytes, at most Max of them; longer
// names, and names past the bound, come back as new strings. The bounds
// keep a stream of made-up names from growing the table without end. The
// zero Table interns nothing; a Table is not safe for concurrent use.
type Table struct {
	Max, MaxLen int
	names       map[string]string
}

// String returns b as a string, the same one for the same bytes while it
// is in the table.
func (t *Table) String(b []byte) string {
	if s, ok := t.names[string(b)]; ok { // looked up without a conversion
		return s
	}
	s := string(b)
	if len(b) <= t.MaxLen && len(t.names) < t.Max {
		if t.names == nil {
			t.names = make(map[string]string)
		}
		t.names[s] = s
	}
	return s
}

// Len is how many names the table holds.
func (t *Table) Len() int { return len(t.names) }
