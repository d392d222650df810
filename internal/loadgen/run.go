package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Meta names a run in its result.
type Meta struct {
	Workload string
	System   string
}

// Run executes one workload described by cfg and returns what it measured.
// The result is filled in as far as the run got even when err is not nil,
// with Status saying whether the target was reachable at all.
func Run(ctx context.Context, cfg Config, meta Meta) (Result, error) {
	res := Result{Workload: meta.Workload, System: meta.System, Config: cfg, Status: StatusError}
	if err := cfg.Validate(); err != nil {
		res.Error = err.Error()
		return res, err
	}
	w, err := newWorkload(cfg)
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	return runWorkload(ctx, cfg, w, res)
}

// runWorkload runs cfg on an already chosen workload; tests give it an
// in-memory one.
func runWorkload(ctx context.Context, cfg Config, w workload, res Result) (Result, error) {
	defer w.close()
	if res.Status == "" {
		res.Status = StatusError
	}
	res.Config = cfg
	r := newRunState(cfg, w)
	err := r.execute(ctx, &res)
	if err != nil {
		res.Error = err.Error()
		if errors.Is(err, errUnreachable) {
			res.Status = StatusUnavailable
		}
		return res, err
	}
	res.Status = StatusOK
	return res, nil
}

// errUnreachable marks a failure to reach the broker at all during setup.
var errUnreachable = errors.New("broker not reachable")

// runState is the shared account of one run; producers and consumers touch
// only its atomics.
type runState struct {
	cfg   Config
	w     workload
	codec payloadCodec
	now   func() time.Time

	produced  atomic.Int64
	confirmed atomic.Int64
	failed    atomic.Int64
	firstErr  atomic.Pointer[error]

	consumed    atomic.Int64 // distinct messages per group, as the recorders' ledgers decide
	target      atomic.Int64 // distinct messages that end the drain; MaxInt64 until known
	reached     chan struct{}
	reachedOnce sync.Once
}

func newRunState(cfg Config, w workload) *runState {
	r := &runState{cfg: cfg, w: w, codec: payloadCodec{text: cfg.Protocol == "sqs"}, now: time.Now, reached: make(chan struct{})}
	r.target.Store(math.MaxInt64)
	return r
}

func (r *runState) noteErr(err error) {
	r.firstErr.CompareAndSwap(nil, &err)
}

// onConsume is called by every recorder for each message new to its group;
// it closes reached once those reach the target, so the drain waits on a channel, not a poll.
func (r *runState) onConsume() {
	if r.consumed.Add(1) >= r.target.Load() {
		r.reachedOnce.Do(func() { close(r.reached) })
	}
}

func (r *runState) setTarget(n int64) {
	r.target.Store(n)
	if r.consumed.Load() >= n {
		r.reachedOnce.Do(func() { close(r.reached) })
	}
}

func (r *runState) execute(ctx context.Context, res *Result) error {
	cfg := r.cfg
	setupCtx, cancelSetup := context.WithTimeout(ctx, time.Minute)
	err := r.w.setup(setupCtx)
	cancelSetup()
	if err != nil {
		return fmt.Errorf("%w: %s workload setup against %s: %v", errUnreachable, cfg.Protocol, cfg.Addr, err)
	}

	start := r.now()
	res.StartedAt = start
	sampler := startSampler(ctx, cfg.BrokerPID, cfg.SampleInterval, start)
	brokerStart, brokerErr := sampleBroker(cfg.BrokerPID)
	if brokerErr != nil {
		sampler.stop()
		return brokerErr
	}
	selfStart := selfCPU()

	consumeCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var consumers consumerSet
	// abort ends a run that failed before the drain: consumers already
	// opened are stopped and closed, and the sampler with them.
	abort := func(err error) error {
		stopConsumers()
		consumers.wait()
		sampler.stop()
		return err
	}
	if !cfg.Backlog {
		if err := consumers.start(consumeCtx, r, cfg); err != nil {
			return abort(err)
		}
	}

	sampler.setPhase("publish")
	if err := r.publish(ctx, start); err != nil {
		return abort(err)
	}
	publishEnd := r.now()
	consumeStart := start
	sampler.setPhase("drain")
	if cfg.Backlog {
		consumeStart = r.now()
		if err := consumers.start(consumeCtx, r, cfg); err != nil {
			return abort(err)
		}
	}

	expected := r.confirmed.Load() * int64(cfg.Groups)
	if cfg.Consumers > 0 {
		r.setTarget(expected)
		drain := time.NewTimer(cfg.DrainTimeout)
		select {
		case <-r.reached:
		case <-drain.C:
			res.DrainTimedOut = true
		case <-ctx.Done():
		}
		drain.Stop()
	}
	stopConsumers()
	consumeErr := consumers.wait()
	selfEnd := selfCPU()
	brokerEnd, _ := sampleBroker(cfg.BrokerPID)
	res.RSS = sampler.stop()

	tally := mergeRecorders(consumers.recorders)
	res.Produced, res.Confirmed, res.Failed = r.produced.Load(), r.confirmed.Load(), r.failed.Load()
	res.Consumed, res.Unique, res.Duplicates, res.Malformed = tally.Consumed, tally.Unique, tally.Duplicates, tally.Malformed
	if cfg.Consumers > 0 && expected > tally.Unique {
		res.Missing = expected - tally.Unique
	}
	res.Latency = summarize(tally.Histogram)
	res.PublishSeconds = publishEnd.Sub(start).Seconds()
	lastActivity := publishEnd
	if tally.Last.After(lastActivity) {
		lastActivity = tally.Last
	}
	res.ElapsedSeconds = lastActivity.Sub(start).Seconds()
	res.PublishMsgsPerSec = perSecond(res.Confirmed, res.PublishSeconds)
	if cfg.Consumers > 0 {
		res.ConsumeMsgsPerSec = perSecond(res.Consumed, tally.Last.Sub(consumeStart).Seconds())
		res.MsgsPerSec = res.ConsumeMsgsPerSec
	} else {
		res.MsgsPerSec = res.PublishMsgsPerSec
	}
	res.BytesPerSec = res.MsgsPerSec * float64(cfg.Size)
	if cfg.BrokerPID > 0 {
		res.BrokerCPUSeconds = (brokerEnd.CPU - brokerStart.CPU).Seconds()
		res.BrokerCPUMicrosPerMsg = perMessageMicros(brokerEnd.CPU-brokerStart.CPU, res.Confirmed)
	}
	res.GeneratorCPUSeconds = (selfEnd - selfStart).Seconds()
	res.GeneratorCPUMicrosPerMsg = perMessageMicros(selfEnd-selfStart, res.Confirmed)
	for _, s := range res.RSS {
		res.PeakRSSBytes = max(res.PeakRSSBytes, s.RSSBytes)
	}

	if p := r.firstErr.Load(); p != nil && res.Confirmed == 0 {
		return fmt.Errorf("no message was confirmed: %w", *p)
	}
	if p := r.firstErr.Load(); p != nil {
		res.Note = fmt.Sprintf("%d messages failed; first error: %v", res.Failed, *p)
	}
	if consumeErr != nil && !errors.Is(consumeErr, context.Canceled) {
		return fmt.Errorf("consumer: %w", consumeErr)
	}
	return nil
}

func sampleBroker(pid int) (procSample, error) {
	if pid <= 0 {
		return procSample{}, nil
	}
	return readProcStat(pid)
}

func perSecond(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

func perMessageMicros(cpu time.Duration, messages int64) float64 {
	if messages <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(messages)
}

// consumerSet owns the consumer goroutines of a run.
type consumerSet struct {
	recorders []*Recorder
	wg        sync.WaitGroup
	mu        sync.Mutex
	err       error
	opened    []consumer
}

func (s *consumerSet) start(ctx context.Context, r *runState, cfg Config) error {
	for g := 0; g < cfg.Groups; g++ {
		ledger := newGroupLedger()
		for m := 0; m < cfg.Consumers; m++ {
			c, err := r.w.newConsumer(ctx, g, m)
			if err != nil {
				return fmt.Errorf("opening consumer %d of group %d: %w", m, g, err)
			}
			s.opened = append(s.opened, c)
			rec := newRecorder(ledger, r.codec, r.now, r.onConsume)
			s.recorders = append(s.recorders, rec)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := c.run(ctx, rec); err != nil && ctx.Err() == nil {
					s.mu.Lock()
					s.err = errors.Join(s.err, err)
					s.mu.Unlock()
				}
			}()
		}
	}
	// Some protocols join a group in the background (Kafka); publishing
	// before that would charge the join to the first messages' latency.
	ready, cancel := context.WithTimeout(ctx, consumerReadyTimeout)
	defer cancel()
	for _, c := range s.opened {
		if r, ok := c.(readier); ok {
			if err := r.waitReady(ready); err != nil {
				return fmt.Errorf("consumers not ready after %s: %w", consumerReadyTimeout, err)
			}
		}
	}
	return nil
}

// consumerReadyTimeout bounds the wait for consumer group joins.
const consumerReadyTimeout = 30 * time.Second

// readier is implemented by consumers that become ready after they are
// opened.
type readier interface {
	waitReady(ctx context.Context) error
}

// wait returns once every consumer has stopped and been closed.
func (s *consumerSet) wait() error {
	s.wg.Wait()
	for _, c := range s.opened {
		_ = c.close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// publish runs every producer to completion: until each has published its
// share of Count, or until Duration has passed, and every message it sent
// has been confirmed or has failed.
func (r *runState) publish(ctx context.Context, start time.Time) error {
	cfg := r.cfg
	publishCtx := ctx
	if cfg.Count == 0 {
		var cancel context.CancelFunc
		publishCtx, cancel = context.WithDeadline(ctx, start.Add(cfg.Duration))
		defer cancel()
	}
	producers := make([]producer, cfg.Producers)
	for i := range producers {
		p, err := r.w.newProducer(ctx, i)
		if err != nil {
			for _, opened := range producers[:i] {
				_ = opened.close()
			}
			return fmt.Errorf("opening producer %d: %w", i, err)
		}
		producers[i] = p
	}
	var wg sync.WaitGroup
	for i, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.produce(ctx, publishCtx, i, p, start)
		}()
	}
	wg.Wait()
	for _, p := range producers {
		_ = p.close()
	}
	return nil
}

// produce is one producer's loop. publishCtx ends publishing; ctx (longer)
// bounds the wait for outstanding confirmations.
func (r *runState) produce(ctx, publishCtx context.Context, id int, p producer, start time.Time) {
	cfg := r.cfg
	window := make(chan struct{}, cfg.InFlight)
	// Payload buffers come back when their message is settled, so the
	// steady state allocates nothing per message.
	free := make(chan []byte, cfg.InFlight)
	flush := func() {
		if err := p.flush(ctx); err != nil {
			r.noteErr(err)
		}
	}
	pace := newPacer(start, perProducerRate(cfg.Rate, cfg.Producers), r.now)
	limit := cfg.perProducerCount(id)
	for seq := int64(0); limit == 0 || seq < limit; seq++ {
		due := pace.due(seq)
		if pace.wait(publishCtx, due, flush) != nil {
			break
		}
		if !r.acquire(publishCtx, window, flush) {
			break
		}
		var buf []byte
		select {
		case buf = <-free:
		default:
			buf = r.codec.newPayload(cfg.Size)
		}
		r.codec.stamp(buf, header{SentUnixNano: due.UnixNano(), Producer: uint32(id), Seq: uint64(seq)})
		r.produced.Add(1)
		err := p.send(ctx, queueFor(id, seq, cfg.Queues), buf, func(err error) {
			if err != nil {
				r.failed.Add(1)
				r.noteErr(err)
			} else {
				r.confirmed.Add(1)
			}
			select {
			case free <- buf:
			default:
			}
			<-window
		})
		if err != nil {
			r.failed.Add(1)
			r.noteErr(err)
			<-window
			break
		}
	}
	flush()
	// Wait for the outstanding confirmations by filling the window.
	settle, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	for range cfg.InFlight {
		select {
		case window <- struct{}{}:
		case <-settle.Done():
			r.noteErr(fmt.Errorf("producer %d: confirmations still outstanding after %s", id, cfg.DrainTimeout))
			return
		}
	}
}

// acquire takes a slot of the in-flight window. When the window is full it
// first flushes the producer's batch, so the confirmations that free a slot
// can come, then blocks. It reports false if publishing ended instead.
func (r *runState) acquire(publishCtx context.Context, window chan struct{}, flush func()) bool {
	select {
	case window <- struct{}{}:
	default:
		flush()
		select {
		case window <- struct{}{}:
		case <-publishCtx.Done():
			return false
		}
	}
	if publishCtx.Err() != nil {
		<-window
		return false
	}
	return true
}
