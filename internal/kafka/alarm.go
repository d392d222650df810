package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/alarm"
)

// holdForAlarms holds a produce request while a memory or disk alarm is
// raised. It runs on the connection's reader, so, as when Kafka mutes a
// throttled client's channel, nothing more is read from the connection
// until the alarm clears and the request's batches are still appended in
// order with those after it. Fetches go on other connections (franz-go,
// the Java client) and keep working. It returns what is still raised when
// the request's timeout_ms passes first, or when the server drains; 0
// means go ahead. A client that disconnects meanwhile is not noticed (its
// reader is the one holding), so timeout_ms bounds the hold.
func (s *Server) holdForAlarms(timeoutMillis int32) alarm.Resource {
	if s.cfg.Alarms.Raised() == 0 {
		return 0 // every produce passes here: one atomic load, no lock
	}
	// The drain also ends with the server's context.
	ctx, cancel := context.WithTimeout(s.drain, time.Duration(max(timeoutMillis, 0))*time.Millisecond)
	defer cancel()
	if s.cfg.Alarms.Wait(ctx) == nil {
		return 0
	}
	return s.cfg.Alarms.Raised() // 0 if it cleared just then: go ahead
}

// produceTimedOut answers a produce that outlived its timeout under an
// alarm: every partition gets REQUEST_TIMED_OUT, which Kafka answers when
// a produce is not done within timeout_ms and which producers retry
// (franz-go after its retry backoff). Nothing was appended, so the retry
// of an idempotent batch is accepted. An acks=0 request is answered, as
// Kafka does on failure, by closing the connection.
func produceTimedOut(req *kmsg.ProduceRequest, raised alarm.Resource) reply {
	if req.Acks == 0 {
		return reply{none: true, hangUp: true}
	}
	message := kmsg.StringPtr("the broker is low on " + raised.String() + "; retry later")
	resp := produceResponse(req, func(_ string, _ *kmsg.ProduceRequestTopicPartition, rp *kmsg.ProduceResponseTopicPartition) {
		rp.ErrorCode, rp.ErrorMessage = kerr.RequestTimedOut.Code, message
	})
	return reply{resp: resp}
}
