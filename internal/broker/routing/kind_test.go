package routing

import (
	"errors"
	"testing"
)

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{Direct, Fanout, Topic, Headers} {
		got, err := ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	for _, s := range []string{"", "Direct", "x-consistent-hash", "match"} {
		if _, err := ParseKind(s); !errors.Is(err, ErrUnknownKind) {
			t.Errorf("ParseKind(%q) error = %v, want ErrUnknownKind", s, err)
		}
	}
}
