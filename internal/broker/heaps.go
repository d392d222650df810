package broker

import (
	"container/heap"
	"time"
)

// offsetHeap is a min-heap of offsets: released records go back in offset
// order, so a requeued message is delivered before newer ones, as in RabbitMQ.
type offsetHeap []int64

func (h offsetHeap) Len() int           { return len(h) }
func (h offsetHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h offsetHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *offsetHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *offsetHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *offsetHeap) push(off int64) { heap.Push(h, off) }
func (h *offsetHeap) pop() int64     { return heap.Pop(h).(int64) }

// timedOffset is an offset due at a time: a delayed record or a lease deadline.
type timedOffset struct {
	at     time.Time
	offset int64
}

type timeHeap []timedOffset

func (h timeHeap) Len() int { return len(h) }
func (h timeHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].offset < h[j].offset
	}
	return h[i].at.Before(h[j].at)
}
func (h timeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)   { *h = append(*h, x.(timedOffset)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *timeHeap) push(at time.Time, off int64) { heap.Push(h, timedOffset{at, off}) }
func (h *timeHeap) pop() timedOffset             { return heap.Pop(h).(timedOffset) }
func (h timeHeap) peek() (timedOffset, bool) {
	if len(h) == 0 {
		return timedOffset{}, false
	}
	return h[0], true
}
