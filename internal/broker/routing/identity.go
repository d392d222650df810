package routing

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
)

// identityOf encodes what makes two bindings the same binding into one string,
// so an exchange finds a duplicate or the binding to remove with one map lookup
// whatever its kind. Every field is length-prefixed so no two different bindings
// encode alike, and a nil argument value is told apart from an empty one.
func identityOf(b Binding) string {
	var sb strings.Builder
	writeField(&sb, b.Destination)
	if b.ToExchange {
		sb.WriteByte('e')
	} else {
		sb.WriteByte('q')
	}
	writeField(&sb, b.Key)
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		writeField(&sb, k)
		if v := b.Args[k]; v == nil {
			sb.WriteByte('-')
		} else {
			sb.WriteByte('=')
			writeField(&sb, string(v))
		}
	}
	return sb.String()
}

// Same reports whether b and o are the same binding, by the identity
// described at Binding.
func (b Binding) Same(o Binding) bool { return identityOf(b) == identityOf(o) }

func writeField(sb *strings.Builder, s string) {
	var n [binary.MaxVarintLen64]byte
	sb.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	sb.WriteString(s)
}

// cloneBinding copies the argument table so neither the caller nor a reader of
// a listing can change a binding inside the table.
func cloneBinding(b Binding) Binding {
	if len(b.Args) == 0 {
		b.Args = nil
		return b
	}
	args := make(map[string][]byte, len(b.Args))
	for k, v := range b.Args {
		args[k] = bytes.Clone(v) // keeps nil as nil
	}
	b.Args = args
	return b
}
