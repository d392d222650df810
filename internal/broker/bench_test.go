package broker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// BenchmarkPublishDurable measures the whole publish path (default-exchange
// routing, size check, append, wait for fsync) with 1 KiB messages and N
// publishers that each wait for durability before the next publish.
func BenchmarkPublishDurable(b *testing.B) {
	for _, publishers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			br, err := broker.Open(broker.Options{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			if _, _, err := br.DeclareStream("bench", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
				b.Fatal(err)
			}
			msg := broker.Message{Value: make([]byte, 1024)}
			var next atomic.Int64
			b.SetBytes(1024)
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := 0; p < publishers; p++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						r, err := br.Publish("", "bench", msg, broker.PublishOptions{})
						if err == nil {
							err = r.Wait(context.Background())
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkReceiveAck measures a consumer taking records from a filled
// queue, one at a time (SQS MaxNumberOfMessages=1, AMQP prefetch 1) or 200
// at a time, and acking each receive.
func BenchmarkReceiveAck(b *testing.B) {
	for _, max := range []int{1, 200} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			br, err := broker.Open(broker.Options{DataDir: b.TempDir(), Fsync: broker.FsyncNever})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			br.DeclareStream("bench", broker.StreamConfig{Kind: broker.KindQueue, Durable: true})
			msgs := make([]broker.Message, 200)
			for i := range msgs {
				msgs[i] = broker.Message{Value: make([]byte, 1024)}
			}
			for n := 0; n < b.N; n += len(msgs) {
				if _, err := br.Append("bench", 0, msgs, broker.PublishOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			q, _ := br.Queue("bench")
			b.SetBytes(1024)
			b.ResetTimer()
			for got := 0; got < b.N; {
				ds, err := q.Receive(context.Background(), broker.ReceiveOptions{Consumer: "c", Max: max})
				if err != nil || len(ds) == 0 {
					b.Fatalf("receive: %d %v", len(ds), err)
				}
				refs := make([]broker.Ref, len(ds))
				for i, d := range ds {
					refs[i] = broker.Ref{Partition: d.Partition, Offset: d.Offset}
				}
				if n, _ := q.Ack(refs...); n != len(refs) {
					b.Fatalf("acked %d of %d", n, len(refs))
				}
				got += len(ds)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
