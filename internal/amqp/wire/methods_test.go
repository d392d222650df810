package wire_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// allMethods returns a zero value of every method the codec knows, found by
// asking NewMethod about every id pair up to well past the largest in use.
func allMethods(t testing.TB) []wire.Method {
	t.Helper()
	var methods []wire.Method
	for classID := uint16(0); classID < 256; classID++ {
		for methodID := uint16(0); methodID < 256; methodID++ {
			if m := wire.NewMethod(classID, methodID); m != nil {
				methods = append(methods, m)
			}
		}
	}
	return methods
}

// fillFields sets every field of the method struct to a value that differs
// from the zero value and, through seed, from other calls, so that a field
// encoded in the wrong place or dropped shows up as a mismatch.
func fillFields(m wire.Method, seed int) {
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		n := seed + i + 1
		switch f.Kind() {
		case reflect.Bool:
			// Alternate bits so that packing order matters.
			f.SetBool((i+seed)%2 == 0)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(n) * 0x0101010101010101) // truncated to the field's size
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + "-" + string(rune('a'+n%26)))
		case reflect.Map:
			f.Set(reflect.ValueOf(wire.Table{"field": int32(n), "nested": wire.Table{"s": "v"}}))
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Unix(int64(n)*1000, 0).UTC()))
		default:
			panic("unhandled field kind " + f.Kind().String())
		}
	}
}

func TestEveryMethodRoundTrips(t *testing.T) {
	methods := allMethods(t)
	// 14 connection, 6 channel, 8 exchange, 10 queue, 18 basic, 6 tx and
	// 2 confirm methods.
	if len(methods) != 64 {
		t.Fatalf("codec knows %d methods, want 64", len(methods))
	}
	for _, m := range methods {
		for seed := 0; seed < 2; seed++ {
			fillFields(m, seed)
			args, err := m.AppendArgs(nil)
			if err != nil {
				t.Fatalf("%s: encode: %v", m.Name(), err)
			}
			got, err := wire.DecodeMethod(m.ClassID(), m.MethodID(), args)
			if err != nil {
				t.Fatalf("%s: decode: %v", m.Name(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("%s round trip:\n got  %+v\n want %+v", m.Name(), got, m)
			}
		}
	}
}

func TestEveryTruncationAndExtensionIsAFrameError(t *testing.T) {
	for _, m := range allMethods(t) {
		fillFields(m, 1)
		args, err := m.AppendArgs(nil)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(args); n++ {
			_, err := wire.DecodeMethod(m.ClassID(), m.MethodID(), args[:n])
			var werr *wire.Error
			if !errors.As(err, &werr) || werr.Code != wire.ReplyFrameError || !errors.Is(err, wire.ErrTruncated) {
				t.Fatalf("%s cut to %d of %d bytes: err = %v, want truncation frame error", m.Name(), n, len(args), err)
			}
		}
		_, err = wire.DecodeMethod(m.ClassID(), m.MethodID(), append(args, 0))
		if !errors.Is(err, wire.ErrTrailingBytes) {
			t.Errorf("%s with a trailing byte: err = %v, want ErrTrailingBytes", m.Name(), err)
		}
	}
}

func TestUnknownMethodIsNotImplemented(t *testing.T) {
	_, err := wire.DecodeMethod(60, 999, nil)
	var werr *wire.Error
	if !errors.As(err, &werr) || werr.Code != wire.ReplyNotImplemented || !errors.Is(err, wire.ErrUnknownMethod) {
		t.Fatalf("err = %v, want not-implemented", err)
	}
	if want := "NOT_IMPLEMENTED - unknown method 60.999"; werr.ReplyText() != want {
		t.Errorf("reply text %q, want %q", werr.ReplyText(), want)
	}
	if _, err := wire.ParseMethodFrame([]byte{0, 60}); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("2-byte method payload: err = %v, want ErrTruncated", err)
	}
}

func TestMethodFacts(t *testing.T) {
	// RabbitMQ numbers exchange.unbind-ok 51, not 41 like the other -ok ids.
	if got := (&wire.ExchangeUnbindOK{}).MethodID(); got != 51 {
		t.Errorf("exchange.unbind-ok id %d, want 51", got)
	}
	if !wire.ClientMaySend(wire.ClassBasic, 80) {
		t.Error("basic.ack goes both ways (publisher confirms)")
	}
	if wire.ClientMaySend(wire.ClassBasic, 60) || wire.ClientMaySend(wire.ClassBasic, 111) {
		t.Error("clients never send basic.deliver or basic.recover-ok")
	}
	if !wire.IsConnectionError(wire.ReplyFrameError) || wire.IsConnectionError(wire.ReplyNotFound) {
		t.Error("hard/soft error classification wrong")
	}
	if wire.ReplyCodeName(wire.ReplyPreconditionFailed) != "PRECONDITION_FAILED" {
		t.Error("reply code names wrong")
	}
}

// TestDecodeArgsReusesEqualStrings: a basic.publish decoded into the same
// target keeps its exchange and routing key strings when they repeat (no
// allocation), and takes new ones when they change.
func TestDecodeArgsReusesEqualStrings(t *testing.T) {
	encode := func(exchange, key string) []byte {
		args, err := (&wire.BasicPublish{Exchange: exchange, RoutingKey: key}).AppendArgs(nil)
		if err != nil {
			t.Fatal(err)
		}
		return args
	}
	orders, audit := encode("amq.direct", "orders"), encode("amq.direct", "audit")
	var m wire.BasicPublish
	if err := m.DecodeArgs(orders); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(10, func() { _ = m.DecodeArgs(orders) }); allocs != 0 {
		t.Fatalf("decoding the same publish again allocated %v times, want 0", allocs)
	}
	if err := m.DecodeArgs(audit); err != nil {
		t.Fatal(err)
	}
	if m.Exchange != "amq.direct" || m.RoutingKey != "audit" {
		t.Fatalf("decoded %q %q, want amq.direct audit", m.Exchange, m.RoutingKey)
	}
}
