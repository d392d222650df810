package intern

import (
	"fmt"
	"testing"
	"unsafe"
)

func TestTableInternsWithinItsBounds(t *testing.T) {
	tab := Table{Max: 2, MaxLen: 4}
	a, b := tab.String([]byte("key")), tab.String([]byte("key"))
	if a != "key" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("the same name twice gave two strings: %q %q", a, b)
	}
	if allocs := testing.AllocsPerRun(10, func() { _ = tab.String([]byte("key")) }); allocs != 0 {
		t.Fatalf("an interned name allocated %v times", allocs)
	}
	if long := tab.String([]byte("longer")); long != "longer" || tab.Len() != 1 {
		t.Fatalf("a name over MaxLen: %q, table holds %d", long, tab.Len())
	}
	for i := range 10 {
		name := fmt.Sprint(i)
		if got := tab.String([]byte(name)); got != name {
			t.Fatalf("got %q, want %q", got, name)
		}
	}
	if tab.Len() != 2 {
		t.Fatalf("table holds %d names, want its Max of 2", tab.Len())
	}
}
