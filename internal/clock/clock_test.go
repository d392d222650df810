package clock_test

import (
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/clock"
)

func TestFakeRunsDueCallbacksInOrder(t *testing.T) {
	c := clock.NewFake(time.Unix(1000, 0))
	var order []int
	c.AfterFunc(3*time.Second, func() { order = append(order, 3) })
	c.AfterFunc(1*time.Second, func() { order = append(order, 1) })
	stopped := c.AfterFunc(2*time.Second, func() { order = append(order, 2) })
	if !stopped.Stop() {
		t.Fatal("Stop on a pending timer reported false")
	}
	c.Advance(2 * time.Second)
	if len(order) != 1 || order[0] != 1 {
		t.Fatalf("after 2s ran %v, want [1]", order)
	}
	c.Advance(time.Second)
	if len(order) != 2 || order[1] != 3 {
		t.Fatalf("after 3s ran %v, want [1 3]", order)
	}
	if got := c.Now(); !got.Equal(time.Unix(1003, 0)) {
		t.Fatalf("Now = %v, want 1003s", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", c.Pending())
	}
}

func TestFakeCallbackMayScheduleAnother(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	fired := 0
	var tick func()
	tick = func() {
		fired++
		c.AfterFunc(time.Second, tick)
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(5 * time.Second)
	if fired != 5 {
		t.Fatalf("fired %d times, want 5", fired)
	}
}
