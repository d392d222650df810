package storage

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
)

// A Group is for a caller that appends to several logs and then waits for
// all of them, such as a Kafka produce request naming many partitions. Its
// appends do not wake the logs' syncers; Commit runs their rounds in the
// caller's goroutine instead, all the small ones in one commit-log round.
// Handing each log's round to its syncer, and the syncers' rounds to the
// commit log's, cost every such request a wake-up per log and two waits
// for a processor: on the benchmark VM about 200 us of a 1 ms request.
//
// A Group is used by one goroutine at a time and may be reused after
// Commit or Release.
type Group struct {
	logs       []*Log
	owned      []*Log
	rounds     []groupRound
	writeOuts  []int  // indexes into rounds (pickWriteOuts)
	writingOut []*Log // their logs, whose rounds writeOutAside's finished unlocks
}

type groupRound struct {
	log *Log
	round
}

// AppendBatch is l.AppendBatch, made durable by the group's Commit.
func (g *Group) AppendBatch(l *Log, raw []byte) (Appended, error) {
	a, err := l.appendBatch(raw, false)
	if err == nil && l.opts.Sync == SyncAlways && !slices.Contains(g.logs, l) {
		g.logs = append(g.logs, l)
	}
	return a, err
}

// Release hands the group's appends to the logs' syncers, for a caller
// that does not wait for them. Every group ends with Commit or Release.
func (g *Group) Release() {
	for _, l := range g.logs {
		l.kickSyncer()
	}
	clear(g.logs)
	g.logs = g.logs[:0]
}

// Commit makes the group's appends durable, or fails their logs: Wait on
// their Appended then returns at once. It runs the round of every log no
// other round is under way for; the others are handed to their syncers,
// whose next round covers the group's appends, and Wait waits for that.
func (g *Group) Commit() {
	g.owned = g.owned[:0]
	for _, l := range g.logs { // before taking any round, not while holding one
		l.awaitWriteOut()
	}
	for _, l := range g.logs {
		if l.round.TryLock() {
			g.owned = append(g.owned, l)
		} else {
			l.kickSyncer() // its round's holder may have taken its last round already
		}
	}
	clear(g.logs)
	g.logs = g.logs[:0]
	var c *CommitLog
	if i := slices.IndexFunc(g.owned, func(l *Log) bool { return l.commitDir != nil }); i >= 0 {
		c = g.owned[i].opts.CommitLog
	}
	switch {
	case len(g.owned) == 1:
		g.owned[0].runRound()
	case len(g.owned) > 1 && c == nil:
		// One goroutine would run the rounds one after another; their
		// syncers run them side by side.
		for _, l := range g.owned {
			l.round.Unlock()
			l.kickSyncer()
		}
		g.owned = g.owned[:0]
	case len(g.owned) > 1:
		g.commitShared(c)
	}
	for _, l := range g.owned {
		if !slices.Contains(g.writingOut, l) { // those unlock once also written out
			l.round.Unlock()
		}
	}
	clear(g.writingOut)
	g.writingOut = g.writingOut[:0]
	clear(g.owned)
	g.owned = g.owned[:0]
}

// commitShared runs the owned logs' rounds: the ones the commit log can
// take in one commit-log round, the others each to its own files.
func (g *Group) commitShared(c *CommitLog) {
	g.rounds = g.rounds[:0]
	var last Appended
	for _, l := range g.owned {
		r, ok := l.takeRound()
		if !ok {
			continue
		}
		if r.via = l.fitsCommitLog(r.jobs); r.via {
			c.inFlight.Add(1)
			var a Appended
			if a, r.err = l.handOn(r.jobs[0], r.announced, false); r.err == nil {
				r.n = int64(len(r.jobs[0].data))
				if a.End > last.End {
					last = a
				}
			}
		} else if r.announced {
			// Its round goes to its own files after the commit-log round,
			// which must not wait (gather) for it meanwhile.
			c.arrived()
			r.announced = false
		}
		g.rounds = append(g.rounds, groupRound{l, r})
	}
	// Write out deferred bytes while the commit log makes the round
	// durable: the device takes both at once. The write-out goes on after
	// the round is answered, holding its logs' rounds: the rounds are
	// durable in the commit log already, and waiting for the write-out
	// delayed every reply with one (most of them) by 150-300 us.
	finishedWriteOuts := func() {}
	if g.pickWriteOuts() {
		finishedWriteOuts = g.writeOutAside()
	}
	var err error
	if last.log != nil {
		err = c.syncThrough(last)
	}
	if err != nil {
		for i := range g.rounds {
			if r := &g.rounds[i]; r.via && r.err == nil {
				r.err = fmt.Errorf("commit log: %w", err)
			}
		}
	}
	for i := range g.rounds {
		gr := &g.rounds[i]
		if gr.via {
			c.inFlight.Add(-1)
		} else {
			gr.log.persistDirect(&gr.round) // after the shared round: it is the one most waited for
		}
		gr.log.finishRound(gr.round)
		gr.round = round{}
	}
	finishedWriteOuts()
	g.rounds = g.rounds[:0]
}

// pickWriteOuts lists in g.writeOuts the rounds whose logs write out their
// deferred bytes beside this commit-log round: every ring at least half
// full, and else the fullest at a quarter or more. A produce to many
// partitions fills their rings at one pace; written out at half only, they
// came due together, and the commit-log round beside a dozen write-outs
// took three times as long as the others. It reports whether any is due.
func (g *Group) pickWriteOuts() bool {
	g.writeOuts = g.writeOuts[:0]
	fullest, most := -1, 0.0
	for i := range g.rounds {
		gr := &g.rounds[i]
		if !gr.via || gr.err != nil {
			continue
		}
		switch fill := gr.log.deferredFill(); {
		case fill >= 0.5:
			g.writeOuts = append(g.writeOuts, i)
		case fill >= 0.25 && fill > most:
			fullest, most = i, fill
		}
	}
	if len(g.writeOuts) == 0 && fullest >= 0 {
		g.writeOuts = append(g.writeOuts, fullest)
	}
	return len(g.writeOuts) > 0
}

// writeOutAside starts a goroutine that writes out the picked rounds'
// logs. Their rounds stay locked (Commit leaves them so) until both the
// goroutine and the group's caller are done with them, and the last of the
// two unlocks, through the func returned, which the caller calls once it
// has finished the rounds. Unlocked as soon as the write-out was done,
// often before the commit-log round, a log's next round could publish its
// end before the caller published this round's, which moved the end back:
// Kafka consumers then fetched past it. Until then a Commit that appended
// to one of the logs waits (awaitWriteOut) rather than hand the log's next
// round to the syncer.
func (g *Group) writeOutAside() (finished func()) {
	done := make(chan struct{})
	for _, i := range g.writeOuts {
		l := g.rounds[i].log
		l.writeOutDone.Store(&done)
		g.writingOut = append(g.writingOut, l)
	}
	logs := slices.Clone(g.writingOut)
	var left atomic.Int32
	left.Store(2)
	finished = func() {
		if left.Add(-1) != 0 {
			return
		}
		for _, l := range logs {
			l.round.Unlock()
		}
		close(done) // after Unlock: a waiter goes on to TryLock
		for _, l := range logs {
			l.writeOutDone.CompareAndSwap(&done, nil)
		}
	}
	go func() {
		for _, l := range logs {
			_ = l.writeOutOrFail() // its round is still durable
		}
		finished()
	}()
	return finished
}

// awaitWriteOut waits for a write-out that a Group left running on l.
func (l *Log) awaitWriteOut() {
	if done := l.writeOutDone.Load(); done != nil {
		<-*done
	}
}

// syncThrough makes the commit log durable through a: it runs the round
// itself unless the commit log's syncer is running one.
func (c *CommitLog) syncThrough(a Appended) error {
	if c.log.round.TryLock() {
		c.log.runRound()
		c.log.round.Unlock()
	} else {
		c.log.kickSyncer()
	}
	return a.Wait(context.Background())
}
