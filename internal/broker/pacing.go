package broker

import "time"

// Publisher pacing, in the spirit of RabbitMQ's "flow" state: a publisher
// that outruns consumers nearly as fast as itself is held to their speed,
// so the backlog between them stays small. That keeps end-to-end latency
// from growing for as long as the burst lasts, and keeps the consumers
// reading the newest records from memory (storage's ring) instead of
// falling behind to the files, which costs them more per record and makes
// them fall further behind.
//
// Every PaceCheckEvery publishes the publisher looks at the groups it
// reached whose consumers are reading. If the fullest holds more than the
// limit and grew since the last look, the publisher waits until the
// consumers have taken back what it added (or the backlog is down to half
// the limit). Consumers that drain at less than half the publisher's own
// rate are not "nearly as fast": after PaceMaxPause pacing stops for
// PaceOffPeriod and the group absorbs the burst, as RabbitMQ's queues do.
// A publisher to a group with an old backlog that its consumers are
// working down is never held: the backlog does not grow.
const (
	PaceCheckEvery = 16                    // publishes between backlog checks
	PaceMaxPause   = 20 * time.Millisecond // time to judge the consumers' speed
	PaceOffPeriod  = time.Second
	paceMaxHold    = 100 * time.Millisecond // the longest one hold lasts
	pacePoll       = 250 * time.Microsecond
)

// Pacer is one publisher's pacing state; the zero value is ready. It is
// not safe for concurrent use: each publishing connection or channel owns
// one, and Hold pauses that publisher alone.
type Pacer struct {
	count     int       // publishes since the last check
	published int       // publishes between the last two checks
	lastCheck time.Time // when the last check ended
	// lastFullest is the fullest group at the last check and lastReady its
	// backlog then; nil when there is nothing to compare the next check
	// with (no groups, or back from a pause).
	lastFullest *group
	lastReady   int64
	offTill     time.Time // consumers too slow for pacing: none until then
}

// Due counts n publishes and reports whether the caller should now look
// at its groups and call Hold: once every PaceCheckEvery publishes, and
// never while pacing is off.
func (p *Pacer) Due(n int) bool {
	if p.count += n; p.count < PaceCheckEvery {
		return false
	}
	p.published, p.count = p.count, 0
	if p.offTill.IsZero() {
		return true
	}
	if time.Now().Before(p.offTill) {
		return false
	}
	// Back from a pause in pacing: what the group holds now is the
	// absorbed burst, not the backlog of the last check.
	p.offTill, p.lastFullest = time.Time{}, nil
	return true
}

// Off reports whether pacing gave up and when it resumes.
func (p *Pacer) Off() (bool, time.Time) { return time.Now().Before(p.offTill), p.offTill }

// Hold pauses the caller while the fullest of groups (those the publish
// reached that have consumers reading; the front-end knows which) is over
// limit and has grown since the last check, until its consumers take back
// the growth. A check whose fullest group is another than last time only
// records: the two backlogs say nothing about growth. A limit of zero or
// less never pauses.
func (p *Pacer) Hold(limit int64, groups []Group) {
	if limit <= 0 {
		return
	}
	// The first group stands for all when none holds anything: an empty
	// backlog is one to compare the next check with.
	var fullest Group
	var ready int64
	for _, g := range groups {
		if r := g.Ready(); fullest.g == nil || r > ready {
			fullest, ready = g, r
		}
	}
	now := time.Now()
	compared, prev, since := p.lastFullest != nil && p.lastFullest == fullest.g, p.lastReady, now.Sub(p.lastCheck)
	defer func() { p.lastCheck, p.lastFullest, p.lastReady = time.Now(), fullest.g, ready }()
	if !compared || ready <= limit || ready <= prev {
		return
	}
	// The publisher's own rate, between the end of the last hold and now.
	rate := float64(p.published) / max(since.Seconds(), 1e-6)
	target := max(limit/2, prev)
	start, from := now, ready
	for ready > target {
		time.Sleep(pacePoll)
		ready = fullest.Ready()
		held := time.Since(start)
		if held < PaceMaxPause {
			continue
		}
		if drained := float64(from - ready); drained/held.Seconds() < rate/2 || held > paceMaxHold {
			// The consumers drain too slowly for pacing to help: let the
			// group absorb the publisher's rate for a while.
			p.offTill = time.Now().Add(PaceOffPeriod)
			return
		}
	}
}
