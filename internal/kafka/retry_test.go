package kafka

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// cuttingProxy forwards TCP connections to target and can cut them all at
// once, so that requests arrive but their responses are lost.
type cuttingProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newCuttingProxy(t *testing.T) *cuttingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{l: l}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cuttingProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestIdempotentProduceWithRetriesWritesOnce(t *testing.T) {
	proxy := newCuttingProxy(t)
	tb := startBroker(t, "", func(c *Config) { c.AdvertisedAddr = proxy.l.Addr().String() })
	proxy.mu.Lock()
	proxy.target = tb.addr
	proxy.mu.Unlock()
	tb.createTopic("retried", 1)

	prod, err := kgo.NewClient(kgo.SeedBrokers(proxy.l.Addr().String()), kgo.DefaultProduceTopic("retried"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const waves, perWave = 30, 100
	const n = waves * perWave
	ctx := testCtx(t)
	var failed sync.Once
	for w := range waves {
		for i := w * perWave; i < (w+1)*perWave; i++ {
			prod.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Do(func() { t.Errorf("produce: %v", err) })
				}
			})
		}
		// Cut while requests are in flight: some reached the broker and
		// lose their response, and the client sends them again.
		time.Sleep(time.Duration(w%3) * time.Millisecond)
		proxy.cut()
		if err := prod.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d retried batches were recognised as duplicates", tb.s.prod.duplicates.Load())
	if end := tb.endOffset("retried", 0); end != n {
		t.Fatalf("%d records stored for %d produced", end, n)
	}
	cons := tb.client(kgo.ConsumeTopics("retried"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for i, r := range consumeN(t, cons, n) {
		if string(r.Value) != fmt.Sprint(i) {
			t.Fatalf("offset %d holds %q", i, r.Value)
		}
	}
}
