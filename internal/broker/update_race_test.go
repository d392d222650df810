package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// UpdateStream may run while messages are appended and received (SQS
// SetQueueAttributes during SendMessage); under -race this catches a
// configuration read on the hot path without synchronisation.
func TestUpdateStreamWhilePublishingAndReceiving(t *testing.T) {
	h := newHarness(t)
	g := h.queue("q", broker.StreamConfig{MaxLength: 1000})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if _, err := h.b.Append("q", -1, []broker.Message{{Value: []byte("x")}}, broker.PublishOptions{}); err != nil {
				t.Error(err)
				return
			}
			if _, err := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "c"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if _, err := h.b.UpdateStream("q", func(c *broker.StreamConfig) error {
				c.MaxLength = int64(1000 + i)
				c.MaxMessageBytes = 1000 + i
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	info, err := h.b.Stream("q")
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxLength != 1049 || info.Config.MaxMessageBytes != 1049 {
		t.Fatalf("config after updates = %+v", info.Config)
	}
}
