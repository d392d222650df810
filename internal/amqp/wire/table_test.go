package wire_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

func TestTableDecodesUpperLAsSigned64(t *testing.T) {
	b := []byte{0, 0, 0, 11, 1, 'k', 'L', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	got, err := wire.DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["k"].(int64); !ok || v != -1 {
		t.Fatalf("'L' decoded to %#v, want int64(-1)", got["k"])
	}
}

func TestTableEncodingConveniences(t *testing.T) {
	got, err := wire.AppendTable(nil, wire.Table{"n": 7, "m": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 18, 1, 'm', 'F', 0, 0, 0, 0, 1, 'n', 'l', 0, 0, 0, 0, 0, 0, 0, 7}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	decoded, err := wire.DecodeTable(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded, wire.Table{"n": int64(7), "m": wire.Table{}}) {
		t.Fatalf("decoded %#v", decoded)
	}
}

func TestTableRejectsUnsupportedValues(t *testing.T) {
	for _, v := range []any{uint64(1), struct{}{}, []string{"a"}} {
		if _, err := wire.AppendTable(nil, wire.Table{"k": v}); !errors.Is(err, wire.ErrUnsupportedValue) {
			t.Errorf("%T: err = %v, want ErrUnsupportedValue", v, err)
		}
	}
	long := string(make([]byte, 256))
	if _, err := wire.AppendTable(nil, wire.Table{long: 1}); !errors.Is(err, wire.ErrShortStringTooLong) {
		t.Errorf("256-byte key: err = %v", err)
	}
}

func TestTableRejectsUnknownTypeLetter(t *testing.T) {
	// 'U' is the 0-9-1 specification's signed short, which RabbitMQ does not accept.
	_, err := wire.DecodeTable([]byte{0, 0, 0, 5, 1, 'k', 'U', 0, 1})
	var werr *wire.Error
	if !errors.As(err, &werr) || werr.Code != wire.ReplySyntaxError || !errors.Is(err, wire.ErrUnknownFieldType) {
		t.Fatalf("err = %v, want syntax error for unknown type", err)
	}
}

// nested builds a table nested depth levels deep, alternating tables and
// arrays.
func nested(depth int) wire.Table {
	t := wire.Table{"leaf": true}
	for i := 1; i < depth; i++ {
		if i%2 == 0 {
			t = wire.Table{"t": t}
		} else {
			t = wire.Table{"a": []any{t}}
		}
	}
	return t
}

func TestTableNestingLimit(t *testing.T) {
	// Each loop level adds one table or one array; depth counts both.
	ok := nested(wire.MaxTableDepth / 2)
	b, err := wire.AppendTable(nil, ok)
	if err != nil {
		t.Fatalf("encoding %d levels: %v", wire.MaxTableDepth/2, err)
	}
	if _, err := wire.DecodeTable(b); err != nil {
		t.Fatalf("decoding %d levels: %v", wire.MaxTableDepth/2, err)
	}
	// Build bytes too deep to decode by hand, since the encoder refuses them.
	deep := []byte{0, 0, 0, 0}
	for i := 0; i < wire.MaxTableDepth+1; i++ {
		inner := deep
		deep = append([]byte{0, 0, 0, 0, 1, 'k', 'F'}, inner...)
		size := len(deep) - 4
		deep[0], deep[1], deep[2], deep[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
	}
	_, err = wire.DecodeTable(deep)
	if !errors.Is(err, wire.ErrTableTooDeep) {
		t.Fatalf("%d levels: err = %v, want ErrTableTooDeep", wire.MaxTableDepth+1, err)
	}
	if _, err := wire.AppendTable(nil, nested(wire.MaxTableDepth+2)); !errors.Is(err, wire.ErrUnsupportedValue) {
		t.Fatalf("encoding too deep: err = %v", err)
	}
}

func TestTableLengthBeyondInputIsTruncation(t *testing.T) {
	// A length prefix claiming 4 GiB must fail without allocating it.
	_, err := wire.DecodeTable([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1, 'k'})
	if !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = wire.DecodeTable([]byte{0, 0, 0, 9, 1, 'k', 'A', 0x7F, 0xFF, 0xFF, 0xFF, 0, 0})
	})
	// The error value and its text are all that may be allocated.
	if allocs > 8 {
		t.Fatalf("%v allocations decoding a lying array length", allocs)
	}
}
