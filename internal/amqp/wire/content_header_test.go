package wire_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

func TestContentHeaderWithEveryPropertyRoundTrips(t *testing.T) {
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 1 << 40, Properties: wire.Properties{
		ContentType: "application/json", ContentEncoding: "gzip",
		Headers:      wire.Table{"x-retry": int32(3)},
		DeliveryMode: 2, Priority: 9,
		CorrelationID: "corr", ReplyTo: "amq.rabbitmq.reply-to", Expiration: "60000",
		MessageID: "m-1", Timestamp: time.Unix(1700000000, 0).UTC(), Type: "order.created",
		UserID: "guest", AppID: "shop", ClusterID: "c1",
	}}
	payload, err := h.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every property is present: flags 0xFFFC right after class, weight and size.
	if flags := payload[12:14]; !bytes.Equal(flags, []byte{0xFF, 0xFC}) {
		t.Fatalf("flags % x, want ff fc", flags)
	}
	var got wire.ContentHeader
	if err := got.Decode(payload); err != nil {
		t.Fatal(err)
	}
	h.Properties.Flags = 0xFFFC
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("got %+v\nwant %+v", got, h)
	}
}

func TestContentHeaderKeepsZeroValuedProperties(t *testing.T) {
	// priority 0 and an empty content type, present on the wire.
	payload := []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0x88, 0x00, 0, 0}
	var h wire.ContentHeader
	if err := h.Decode(payload); err != nil {
		t.Fatal(err)
	}
	if h.BodySize != 5 || h.Properties.Flags != wire.BasicFlagContentType|wire.BasicFlagPriority {
		t.Fatalf("decoded %+v", h)
	}
	again, err := h.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, payload) {
		t.Fatalf("re-encoded to % x, want % x", again, payload)
	}
}

func TestContentHeaderDecodeResetsPreviousValues(t *testing.T) {
	h := wire.ContentHeader{Properties: wire.Properties{MessageID: "stale", Priority: 4}}
	if err := h.Decode([]byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Properties, wire.Properties{}) {
		t.Fatalf("properties not reset: %+v", h.Properties)
	}
}

func TestContentHeaderRejections(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		code     uint16
		sentinel error
	}{
		{"class without content", []byte{0, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, wire.ReplyUnexpectedFrame, wire.ErrNoContentClass},
		{"continuation flag", []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, wire.ReplySyntaxError, wire.ErrUnknownProperty},
		{"undefined flag bit 1", []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, wire.ReplySyntaxError, wire.ErrUnknownProperty},
		{"flagged property missing", []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0}, wire.ReplyFrameError, wire.ErrTruncated},
		{"too short for flags", []byte{0, 60, 0, 0, 0, 0}, wire.ReplyFrameError, wire.ErrTruncated},
		{"trailing byte", []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, wire.ReplyFrameError, wire.ErrTrailingBytes},
	}
	for _, tc := range tests {
		var h wire.ContentHeader
		err := h.Decode(tc.payload)
		var werr *wire.Error
		if !errors.As(err, &werr) || werr.Code != tc.code || !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: err = %v, want code %d wrapping %v", tc.name, err, tc.code, tc.sentinel)
		}
	}
}

func TestContentHeaderFrame(t *testing.T) {
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 3, Properties: wire.Properties{DeliveryMode: 2}}
	frame, err := wire.AppendContentHeaderFrame(nil, 7, &h)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{2, 0, 7, 0, 0, 0, 15, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0, 2, 0xCE}
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame % x, want % x", frame, want)
	}
}

// TestDecodedValuesDoNotAliasThePayload lets the server decode a header
// straight from the connection's reusable read buffer: nothing decoded may
// change when that buffer is overwritten by the next frame.
func TestDecodedValuesDoNotAliasThePayload(t *testing.T) {
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 3, Properties: wire.Properties{
		ContentType: "text/plain", MessageID: "m-1", ReplyTo: "r",
		Headers: wire.Table{"bytes": []byte("raw"), "s": "text",
			"nested": wire.Table{"b": []byte("inner")}, "list": []any{[]byte("item"), "x"}},
	}}
	payload, err := h.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got wire.ContentHeader
	if err := got.Decode(payload); err != nil {
		t.Fatal(err)
	}
	var want wire.ContentHeader
	if err := want.Decode(bytes.Clone(payload)); err != nil {
		t.Fatal(err)
	}
	for i := range payload {
		payload[i] = 0xFF
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded header changed with its payload:\ngot  %+v\nwant %+v", got, want)
	}
}
