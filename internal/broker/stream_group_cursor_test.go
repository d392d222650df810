package broker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWaitAny(t *testing.T) {
	for n := 0; n <= 3; n++ {
		chans := make([]chan struct{}, n)
		recv := make([]<-chan struct{}, n)
		for i := range chans {
			chans[i] = make(chan struct{})
			recv[i] = chans[i]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if err := WaitAny(ctx, recv...); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%d channels, none closed: %v", n, err)
		}
		cancel()
		if n == 0 {
			continue
		}
		close(chans[n-1]) // the last one: every position must be watched
		if err := WaitAny(context.Background(), recv...); err != nil {
			t.Fatalf("%d channels, last closed: %v", n, err)
		}
	}
}
