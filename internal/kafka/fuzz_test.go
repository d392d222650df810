package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeRequest feeds arbitrary frames to the request decoder: it must
// return a request or an error, never panic or hang.
func FuzzDecodeRequest(f *testing.F) {
	for _, req := range []kmsg.Request{
		kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest(), kmsg.NewPtrProduceRequest(),
		kmsg.NewPtrFetchRequest(), kmsg.NewPtrJoinGroupRequest(), kmsg.NewPtrOffsetCommitRequest(),
		kmsg.NewPtrCreateTopicsRequest(), kmsg.NewPtrListOffsetsRequest(),
	} {
		r, _ := versionsFor(req.Key())
		for _, v := range []int16{r.min, r.max} {
			req.SetVersion(v)
			frame := rawRequest(req.Key(), v, 1, nil)[4:]
			if req.IsFlexible() {
				frame = append(frame, 0)
			}
			f.Add(req.AppendTo(frame))
		}
	}
	f.Add([]byte{0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 10 {
			return // readFrame refuses these before decoding
		}
		h, req, err := decodeRequest(frame)
		if err == nil && (req == nil || req.Key() != h.key) {
			t.Fatalf("decoded %v for key %d", req, h.key)
		}
	})
}
