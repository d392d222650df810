package loadgen

import (
	"bytes"
	"compress/flate"
	"testing"
)

func TestPayloadHeaderRoundTrips(t *testing.T) {
	want := header{SentUnixNano: 1_700_000_000_123_456_789, Producer: 63, Seq: 1<<40 + 7}
	for _, codec := range []payloadCodec{{text: false}, {text: true}} {
		buf := codec.newPayload(64)
		codec.stamp(buf, want)
		got, err := codec.read(buf)
		if err != nil {
			t.Fatalf("text=%v: %v", codec.text, err)
		}
		if got != want {
			t.Errorf("text=%v: read %+v, wrote %+v", codec.text, got, want)
		}
	}
}

func TestTextPayloadIsPrintable(t *testing.T) {
	codec := payloadCodec{text: true}
	buf := codec.newPayload(100)
	codec.stamp(buf, header{SentUnixNano: -1, Producer: 1<<32 - 1, Seq: 1<<64 - 1})
	for i, c := range buf {
		if c < 0x20 || c > 0x7e {
			t.Fatalf("byte %d is %#x: an SQS body must be printable text", i, c)
		}
	}
}

func TestShortOrForeignPayloadIsRejected(t *testing.T) {
	if _, err := (payloadCodec{}).read(make([]byte, binaryHeaderSize-1)); err == nil {
		t.Error("binary: a 19-byte payload was accepted")
	}
	if _, err := (payloadCodec{text: true}).read([]byte("this is not a hex header of forty chars!!")); err == nil {
		t.Error("text: a non-hex header was accepted")
	}
}

// A compressible filler would let a compressing client (franz-go's default is
// snappy) put a fraction of the reported bytes on disk.
func TestPayloadFillerDoesNotCompress(t *testing.T) {
	for _, codec := range []payloadCodec{{text: false}, {text: true}} {
		var batch bytes.Buffer
		for range 64 {
			batch.Write(codec.newPayload(1024))
		}
		var out bytes.Buffer
		w, _ := flate.NewWriter(&out, flate.BestSpeed)
		w.Write(batch.Bytes())
		w.Close()
		ratio := float64(out.Len()) / float64(batch.Len())
		// Random letters still carry log2(26) = 4.7 bits per byte.
		floor := 0.95
		if codec.text {
			floor = 0.55
		}
		if ratio < floor {
			t.Errorf("text=%v: 64 payloads of 1 KiB deflate to %.0f%% of their size; the filler repeats", codec.text, 100*ratio)
		}
	}
}
