package wire_test

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// join concatenates byte pieces so that golden frames read field by field.
func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func str(s string) []byte { return []byte(s) }

// goldenMethods are method frames written out by hand from the
// specification's layout.
var goldenMethods = []struct {
	name    string
	channel uint16
	method  wire.Method
	frame   []byte
}{
	{
		name: "connection.start",
		method: &wire.ConnectionStart{
			VersionMajor: 0, VersionMinor: 9,
			ServerProperties: wire.Table{"product": "gannet"},
			Mechanisms:       "PLAIN", Locales: "en_US",
		},
		frame: join(
			[]byte{1, 0, 0, 0, 0, 0, 47}, // method frame, channel 0, 47 bytes
			[]byte{0, 10, 0, 10},         // connection.start
			[]byte{0, 9},                 // version 0-9
			[]byte{0, 0, 0, 19, 7}, str("product"), []byte{'S', 0, 0, 0, 6}, str("gannet"),
			[]byte{0, 0, 0, 5}, str("PLAIN"),
			[]byte{0, 0, 0, 5}, str("en_US"),
			[]byte{0xCE},
		),
	},
	{
		name:    "basic.publish",
		channel: 1,
		method:  &wire.BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true},
		frame: join(
			[]byte{1, 0, 1, 0, 0, 0, 13},
			[]byte{0, 60, 0, 40},
			[]byte{0, 0}, // reserved-1 (ticket)
			[]byte{2}, str("ex"),
			[]byte{2}, str("rk"),
			[]byte{0b01}, // mandatory in bit 0, immediate in bit 1
			[]byte{0xCE},
		),
	},
	{
		name:    "basic.deliver",
		channel: 0x0102,
		method: &wire.BasicDeliver{ConsumerTag: "ct", DeliveryTag: 0x0102030405060708,
			Redelivered: true, RoutingKey: "q"},
		frame: join(
			[]byte{1, 1, 2, 0, 0, 0, 19},
			[]byte{0, 60, 0, 60},
			[]byte{2}, str("ct"),
			[]byte{1, 2, 3, 4, 5, 6, 7, 8},
			[]byte{1}, // redelivered
			[]byte{0}, // exchange ""
			[]byte{1}, str("q"),
			[]byte{0xCE},
		),
	},
	{
		name:   "queue.declare packs five bits into one octet",
		method: &wire.QueueDeclare{Queue: "q", Durable: true, AutoDelete: true, NoWait: true},
		frame: join(
			[]byte{1, 0, 0, 0, 0, 0, 13},
			[]byte{0, 50, 0, 10},
			[]byte{0, 0}, []byte{1}, str("q"),
			[]byte{0b11010}, // passive, durable, exclusive, auto-delete, no-wait from bit 0
			[]byte{0, 0, 0, 0},
			[]byte{0xCE},
		),
	},
}

func TestGoldenMethodFrames(t *testing.T) {
	for _, tc := range goldenMethods {
		got, err := wire.AppendMethodFrame(nil, tc.channel, tc.method)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(got, tc.frame) {
			t.Errorf("%s encodes to\n % x\nwant\n % x", tc.name, got, tc.frame)
		}
		f, err := wire.ReadFrame(bufioReader(tc.frame), wire.FrameMinSize)
		if err != nil {
			t.Fatalf("%s: read frame: %v", tc.name, err)
		}
		m, err := wire.ParseMethodFrame(f.Payload)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.name, err)
		}
		if f.Channel != tc.channel || !reflect.DeepEqual(m, tc.method) {
			t.Errorf("%s decodes to channel %d %+v", tc.name, f.Channel, m)
		}
	}
}

// everyTypeTable holds one value of each Go type a decoded table may hold,
// with keys in the order encoding sorts them.
var everyTypeTable = wire.Table{
	"a": true,
	"b": int8(-2),
	"c": uint8(200),
	"d": int16(-300),
	"e": uint16(60000),
	"f": int32(-70000),
	"g": uint32(4000000000),
	"h": int64(-5000000000),
	"i": float32(1.5),
	"j": math.Pi,
	"k": wire.Decimal{Scale: 2, Value: 12345},
	"l": "long string",
	"m": []byte{0, 1, 2},
	"n": []any{int32(1), "two"},
	"o": time.Unix(1700000000, 0).UTC(),
	"p": wire.Table{"inner": false},
	"q": nil,
}

var everyTypeTableBytes = join(
	[]byte{0, 0, 0, 150},
	[]byte{1, 'a', 't', 1},
	[]byte{1, 'b', 'b', 0xFE},
	[]byte{1, 'c', 'B', 200},
	[]byte{1, 'd', 's', 0xFE, 0xD4}, // RabbitMQ: 's' is a signed short, not a short string
	[]byte{1, 'e', 'u', 0xEA, 0x60},
	[]byte{1, 'f', 'I', 0xFF, 0xFE, 0xEE, 0x90},
	[]byte{1, 'g', 'i', 0xEE, 0x6B, 0x28, 0x00},
	[]byte{1, 'h', 'l', 0xFF, 0xFF, 0xFF, 0xFE, 0xD5, 0xFA, 0x0E, 0x00}, // RabbitMQ: 'l' is signed 64-bit
	[]byte{1, 'i', 'f', 0x3F, 0xC0, 0, 0},
	[]byte{1, 'j', 'd', 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18},
	[]byte{1, 'k', 'D', 2, 0, 0, 0x30, 0x39},
	[]byte{1, 'l', 'S', 0, 0, 0, 11}, str("long string"),
	[]byte{1, 'm', 'x', 0, 0, 0, 3, 0, 1, 2}, // RabbitMQ: 'x' is a byte array
	[]byte{1, 'n', 'A', 0, 0, 0, 13, 'I', 0, 0, 0, 1, 'S', 0, 0, 0, 3}, str("two"),
	[]byte{1, 'o', 'T', 0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00},
	[]byte{1, 'p', 'F', 0, 0, 0, 8, 5}, str("inner"), []byte{'t', 0},
	[]byte{1, 'q', 'V'},
)

func TestGoldenTableWithEveryType(t *testing.T) {
	got, err := wire.AppendTable(nil, everyTypeTable)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, everyTypeTableBytes) {
		t.Fatalf("table encodes to\n % x\nwant\n % x", got, everyTypeTableBytes)
	}
	decoded, err := wire.DecodeTable(everyTypeTableBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded, everyTypeTable) {
		t.Errorf("table decodes to %#v", decoded)
	}
}
