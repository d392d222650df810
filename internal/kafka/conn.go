package kafka

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxInFlight bounds the requests a connection has read but not answered;
// franz-go sends at most 5 produce requests at a time, so this never slows
// a well-behaved client and bounds what a flood can make us hold.
const maxInFlight = 64

// reply is one request's answer in the making. Either resp is set, or wait
// produces it (it runs on the writer, in order); none means acks=0.
type reply struct {
	correlationID int32
	resp          kmsg.Response
	wait          func() kmsg.Response
	none          bool
	// hangUp closes the connection instead of answering: how Kafka tells
	// an acks=0 producer that its request failed.
	hangUp bool
}

type conn struct {
	s       *Server
	nc      net.Conn
	replies chan reply
	ctx     context.Context // ends when the connection closes
	cancel  context.CancelFunc
	client  string // remote address, for group member ids and logs

	stopping atomic.Bool
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &conn{
		s:       s,
		nc:      nc,
		replies: make(chan reply, maxInFlight),
		ctx:     ctx,
		cancel:  cancel,
		client:  nc.RemoteAddr().String(),
	}
}

// Drain makes the read loop end after the request in hand.
func (c *conn) Drain() {
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// Close cuts the connection (Shutdown's deadline passed).
func (c *conn) Close() error { return c.nc.Close() }

// Serve runs the connection until the client or the server ends it.
func (c *conn) Serve() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	if !c.stopping.Load() {
		// The client is gone or was cut off: nobody will read what the
		// pending requests would answer, so stop their waits.
		c.cancel()
	}
	close(c.replies)
	<-writerDone
	c.cancel()
	c.nc.Close()
}

func (c *conn) readLoop() {
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var sizeBuf [4]byte
	// reuse holds the last produce request's buffer: its batches were
	// copied into storage before handle returned, and nothing else keeps a
	// reference, so it can take the next request. Other requests' buffers
	// may be referenced by what they leave behind (group metadata).
	var reuse []byte
	for !c.stopping.Load() {
		frame, err := readFrame(br, &sizeBuf, c.s.cfg.MaxRequestBytes, reuse)
		reuse = nil
		if err != nil {
			if !errors.Is(err, io.EOF) && !c.stopping.Load() && !errors.Is(err, net.ErrClosed) {
				c.s.log.Info("kafka: closing connection", "remote", c.client, "err", err)
			}
			return
		}
		c.s.metric.requestBytes.Add(float64(len(frame) + 4))
		h, req, err := decodeRequest(frame)
		if h.key == int16(kmsg.ApiVersions) && (errors.Is(err, errBadVersion) || (err == nil && !inRange(h.key, h.version))) {
			// An ApiVersions we cannot parse still gets our ranges (v0).
			c.replies <- reply{correlationID: h.correlationID, resp: apiVersionsResponse(h.version)}
			continue
		}
		if err == nil && !inRange(h.key, h.version) {
			err = errBadVersion
		}
		if err != nil {
			c.s.log.Info("kafka: refusing request, closing connection", "remote", c.client,
				"api", kmsg.NameForKey(h.key), "version", h.version, "err", err)
			c.s.metric.refused.Inc()
			return
		}
		c.s.metric.request(h.key)
		r := c.handle(h, req)
		if h.key == int16(kmsg.Produce) && cap(frame) <= 8<<20 {
			reuse = frame
		}
		r.correlationID = h.correlationID
		if h.key != int16(kmsg.ApiVersions) {
			setVersion(&r, h.version)
		}
		c.replies <- r
	}
}

func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var buf []byte
	broken := false
	for r := range c.replies {
		resp := r.resp
		if r.wait != nil {
			// Send what is ready before waiting (for fsync, a long poll):
			// the client's next requests may depend on it.
			if bw.Buffered() > 0 && !broken {
				if err := bw.Flush(); err != nil {
					broken = true
					c.nc.Close()
				}
			}
			resp = r.wait()
		}
		if r.hangUp && !broken {
			bw.Flush()
			broken = true
			c.nc.Close()
		}
		if r.none || resp == nil || broken {
			continue
		}
		buf = appendResponse(buf[:0], r.correlationID, resp)
		if _, err := bw.Write(buf); err != nil {
			broken = true
			c.nc.Close() // the reader stops too
			continue
		}
		if len(c.replies) == 0 {
			if err := bw.Flush(); err != nil {
				broken = true
				c.nc.Close()
			}
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not pin a large fetch response
		}
	}
	if !broken {
		bw.Flush()
	}
}

// handle runs the synchronous part of a request (what must happen in
// request order, such as appending produced batches) and returns the reply.
func (c *conn) handle(h requestHeader, req kmsg.Request) reply {
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		return reply{resp: apiVersionsResponse(r.Version)}
	case *kmsg.MetadataRequest:
		return reply{resp: c.s.metadata(r)}
	case *kmsg.ProduceRequest:
		return c.s.produce(c, r)
	case *kmsg.FetchRequest:
		return c.s.fetch(c, r)
	case *kmsg.ListOffsetsRequest:
		return reply{resp: c.s.listOffsets(r)}
	case *kmsg.OffsetForLeaderEpochRequest:
		return reply{resp: c.s.offsetForLeaderEpoch(r)}
	case *kmsg.CreateTopicsRequest:
		return reply{resp: c.s.createTopics(r)}
	case *kmsg.DeleteTopicsRequest:
		return reply{resp: c.s.deleteTopics(r)}
	case *kmsg.CreatePartitionsRequest:
		return reply{resp: c.s.createPartitions(r)}
	case *kmsg.DeleteRecordsRequest:
		return reply{resp: c.s.deleteRecords(r)}
	case *kmsg.DescribeConfigsRequest:
		return reply{resp: c.s.describeConfigs(r)}
	case *kmsg.AlterConfigsRequest:
		return reply{resp: c.s.alterConfigs(r)}
	case *kmsg.IncrementalAlterConfigsRequest:
		return reply{resp: c.s.incrementalAlterConfigs(r)}
	case *kmsg.DescribeClusterRequest:
		return reply{resp: c.s.describeCluster(r)}
	case *kmsg.FindCoordinatorRequest:
		return reply{resp: c.s.findCoordinator(r)}
	case *kmsg.JoinGroupRequest:
		return c.s.groups.join(c, h, r)
	case *kmsg.SyncGroupRequest:
		return c.s.groups.sync(c, r)
	case *kmsg.HeartbeatRequest:
		return reply{resp: c.s.groups.heartbeat(r)}
	case *kmsg.LeaveGroupRequest:
		return reply{resp: c.s.groups.leave(r)}
	case *kmsg.OffsetCommitRequest:
		return c.s.offsetCommit(r)
	case *kmsg.OffsetFetchRequest:
		return reply{resp: c.s.offsetFetch(r)}
	case *kmsg.DescribeGroupsRequest:
		return reply{resp: c.s.groups.describe(r)}
	case *kmsg.ListGroupsRequest:
		return reply{resp: c.s.groups.list(r)}
	case *kmsg.DeleteGroupsRequest:
		return reply{resp: c.s.groups.deleteGroups(r)}
	case *kmsg.OffsetDeleteRequest:
		return c.s.offsetDelete(r)
	case *kmsg.InitProducerIDRequest:
		return c.s.initProducerID(r)
	case *kmsg.AddPartitionsToTxnRequest:
		return c.s.txns.addPartitions(r)
	case *kmsg.AddOffsetsToTxnRequest:
		return reply{resp: c.s.txns.addOffsets(r)}
	case *kmsg.EndTxnRequest:
		return c.s.txns.endTxn(r)
	case *kmsg.TxnOffsetCommitRequest:
		return c.s.txns.offsetCommit(r)
	}
	// supported() keeps other keys out; this is a programming error.
	panic("kafka: no handler for " + kmsg.NameForKey(req.Key()))
}

// setVersion makes the response match the request's version, so that
// handlers need not.
func setVersion(r *reply, version int16) {
	if r.resp != nil {
		r.resp.SetVersion(version)
	}
	if wait := r.wait; wait != nil {
		r.wait = func() kmsg.Response {
			resp := wait()
			if resp != nil {
				resp.SetVersion(version)
			}
			return resp
		}
	}
}
