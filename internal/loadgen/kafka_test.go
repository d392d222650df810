package loadgen

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFirstFetchSignalsOnlyASentFetch checks the Kafka consumer's readiness
// signal: group and offset requests, and a Fetch that failed to go out,
// leave it open; the first written Fetch closes it, and later ones do not
// close it twice.
func TestFirstFetchSignalsOnlyASentFetch(t *testing.T) {
	f := &firstFetch{written: make(chan struct{})}
	var broker kgo.BrokerMetadata
	f.OnBrokerWrite(broker, int16(kmsg.JoinGroup), 100, 0, 0, nil)
	f.OnBrokerWrite(broker, int16(kmsg.ListOffsets), 100, 0, 0, nil)
	f.OnBrokerWrite(broker, int16(kmsg.Fetch), 0, 0, 0, errors.New("connection reset"))
	select {
	case <-f.written:
		t.Fatal("signalled before a Fetch was written")
	default:
	}
	f.OnBrokerWrite(broker, int16(kmsg.Fetch), 100, 0, 0, nil)
	f.OnBrokerWrite(broker, int16(kmsg.Fetch), 100, 0, 0, nil)
	select {
	case <-f.written:
	default:
		t.Fatal("not signalled after a Fetch was written")
	}
}
