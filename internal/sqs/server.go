// Package sqs is Gannet's Amazon SQS API front-end: an http.Server that
// speaks both the Query protocol (form + XML) and AWS JSON 1.0, so that AWS
// SDKs pointed at Gannet keep working unchanged.
//
// An SQS queue is a core stream of KindQueue with its own shared group: the
// AMQP queue and Redis stream of the same name. Queue attributes and tags
// live in StreamConfig.Attributes; visibility timeouts are delivery leases,
// the receive count is the core's delivery count, RedrivePolicy is the
// group's delivery limit and dead-letter target, and FIFO queues use the
// core's per-key ordering and dedup window. docs/protocols/sqs.md has the
// whole mapping.
package sqs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// Config is what the SQS front-end needs.
type Config struct {
	Broker *broker.Broker
	Logger *slog.Logger // default discards
	// Connections, when set, counts open HTTP connections.
	Connections prometheus.Gauge
	// MaxMessageBytes caps MaximumMessageSize; default 1 MiB (AWS' maximum).
	MaxMessageBytes int
	// Clock must be the broker's clock (tests share a fake one).
	Clock clock.Clock
	// AccountID appears in queue URLs and ARNs; default 000000000000.
	AccountID string
	// Region appears in ARNs; default us-east-1.
	Region string
	// Alarms, when set, fail sends with 503 ServiceUnavailable while the
	// memory or disk alarm is raised.
	Alarms *alarm.Monitor
	// FlowBacklog is the visible backlog of a queue being received from
	// above which sends are paced (see pacing.go); 0 means
	// DefaultFlowBacklog, negative turns pacing off.
	FlowBacklog int
}

// Server serves the SQS API.
type Server struct {
	cfg    Config
	b      *broker.Broker
	log    *slog.Logger
	clock  clock.Clock
	http   *http.Server
	maxMsg int
	// maxBody bounds a request body: a full batch of the largest messages,
	// with room for JSON escaping and Query percent-encoding.
	maxBody int64

	// ctx ends long polls and move tasks at Shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	mu            sync.Mutex
	purged        map[string]time.Time       // last PurgeQueue per queue
	deleted       map[string]time.Time       // last DeleteQueue per name
	attempts      map[string]*receiveAttempt // FIFO ReceiveRequestAttemptId, by queue + id
	attemptsSwept time.Time
	sent          map[string]map[string]sentMsg // FIFO dedup id -> first send, by queue
	tasks         map[string][]*moveTask        // message move tasks by source queue
	firstRx       map[rxKey]int64               // ApproximateFirstReceiveTimestamp

	pacing sync.Map // queue name → *queuePacing, senders' pacing (not under mu)
	wg     sync.WaitGroup
}

// New builds the front-end; it starts nothing until Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Broker == nil {
		return nil, errors.New("sqs: a broker is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxMessageBytes <= 0 || cfg.MaxMessageBytes > maxMessageSizeLimit {
		cfg.MaxMessageBytes = maxMessageSizeLimit
	}
	if cfg.FlowBacklog == 0 {
		cfg.FlowBacklog = DefaultFlowBacklog
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, b: cfg.Broker, log: cfg.Logger, clock: cfg.Clock,
		maxMsg:   cfg.MaxMessageBytes,
		maxBody:  int64(cfg.MaxMessageBytes)*6 + 256<<10,
		ctx:      ctx,
		cancel:   cancel,
		purged:   map[string]time.Time{},
		deleted:  map[string]time.Time{},
		attempts: map[string]*receiveAttempt{},
		sent:     map[string]map[string]sentMsg{},
		tasks:    map[string][]*moveTask{},
		firstRx:  map[rxKey]int64{},
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if g := cfg.Connections; g != nil {
		s.http.ConnState = func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				g.Inc()
			case http.StateClosed, http.StateHijacked:
				g.Dec()
			}
		}
	}
	return s, nil
}

// Serve accepts connections until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown ends long polls and move tasks, then waits for requests in
// progress until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	err := s.http.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// request is one decoded API call.
type request struct {
	proto  wire.Protocol
	action string
	id     string
	host   string // for queue URLs: the host the client reached us by
	path   string // the URL path, which may name the queue (Query protocol)
}

// ServeHTTP decodes a request of either protocol, runs it and replies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: newRequestID(), host: r.Host, path: r.URL.Path}
	if req.host == "" {
		req.host = "localhost"
	}
	target := r.Header.Get("X-Amz-Target")
	if target != "" {
		req.proto = wire.JSON
		req.action = strings.TrimPrefix(target, wire.TargetPrefix)
		if req.action == target {
			s.reply(w, req, nil, wire.Errorf(wire.KindInvalidAction, "The target %s is not an SQS action.", target))
			return
		}
	}
	body, err := s.readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.reply(w, req, nil, wire.Errorf(wire.KindRequestTooLarge, "The request body is larger than %d bytes.", s.maxBody))
		} else {
			s.reply(w, req, nil, wire.Errorf(wire.KindMalformedQueryString, "The request body could not be read: %v", err))
		}
		return
	}
	var in any
	if req.proto == wire.JSON {
		in, err = wire.DecodeJSON(req.action, body)
	} else {
		var values url.Values
		values, err = url.ParseQuery(string(body))
		if err != nil {
			s.reply(w, req, nil, wire.Errorf(wire.KindMalformedQueryString, "The query string is malformed: %v", err))
			return
		}
		for k, v := range r.URL.Query() {
			values[k] = append(values[k], v...)
		}
		req.action, in, err = wire.DecodeQuery(values)
	}
	if err != nil {
		s.reply(w, req, nil, err)
		return
	}
	out, err := s.dispatch(r.Context(), req, in)
	s.reply(w, req, out, err)
}

// readBody reads a request body of at most maxBody bytes, in one
// allocation when the client sent a Content-Length.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	if n := r.ContentLength; n > 0 && n <= s.maxBody {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

func (s *Server) reply(w http.ResponseWriter, req *request, out any, err error) {
	status, body := s.encodeReply(w.Header(), req, out, err)
	// A Content-Length rather than chunked encoding: the whole reply is
	// in hand, and clients read it in one go.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) encodeReply(h http.Header, req *request, out any, err error) (int, []byte) {
	h.Set("X-Amzn-Requestid", req.id)
	if err != nil {
		e, ok := err.(*wire.Error)
		if !ok {
			e = s.internalError(req, err)
		}
		if req.proto == wire.JSON {
			h.Set("Content-Type", wire.JSONContentType)
			h.Set("X-Amzn-Query-Error", wire.QueryErrorHeader(e))
			return e.Status, wire.EncodeErrorJSON(e)
		}
		h.Set("Content-Type", "text/xml")
		return e.Status, wire.EncodeErrorXML(e, req.id)
	}
	if req.proto == wire.JSON {
		h.Set("Content-Type", wire.JSONContentType)
		return http.StatusOK, wire.EncodeJSON(out)
	}
	h.Set("Content-Type", "text/xml")
	return http.StatusOK, wire.EncodeXML(req.action, req.id, out)
}

// internalError maps a broker error that no action translated.
func (s *Server) internalError(req *request, err error) *wire.Error {
	switch {
	case errors.Is(err, broker.ErrNotFound):
		return wire.NonExistentQueue()
	case errors.Is(err, broker.ErrMessageTooLarge):
		return wire.Errorf(wire.KindInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", s.maxMsg)
	case errors.Is(err, broker.ErrQueueFull):
		return wire.Errorf(wire.KindOverLimit, "The queue is full.")
	case errors.Is(err, broker.ErrClosed), errors.Is(err, context.Canceled):
		return wire.Errorf(wire.KindServiceUnavailable, "The server is shutting down.")
	}
	s.log.Error("sqs request failed", "action", req.action, "request_id", req.id, "err", err)
	return wire.Errorf(wire.KindInternal, "We encountered an internal error. Please try again.")
}

func (s *Server) dispatch(ctx context.Context, req *request, in any) (any, error) {
	switch req.action {
	case "CreateQueue":
		return s.createQueue(req, in.(*wire.CreateQueueInput))
	case "GetQueueUrl":
		return s.getQueueURL(req, in.(*wire.GetQueueUrlInput))
	case "ListQueues":
		return s.listQueues(req, in.(*wire.ListQueuesInput))
	case "DeleteQueue":
		return s.deleteQueue(req, in.(*wire.QueueURLInput))
	case "PurgeQueue":
		return s.purgeQueue(req, in.(*wire.QueueURLInput))
	case "GetQueueAttributes":
		return s.getQueueAttributes(req, in.(*wire.GetQueueAttributesInput))
	case "SetQueueAttributes":
		return s.setQueueAttributes(req, in.(*wire.SetQueueAttributesInput))
	case "TagQueue":
		return s.tagQueue(req, in.(*wire.TagQueueInput))
	case "UntagQueue":
		return s.untagQueue(req, in.(*wire.UntagQueueInput))
	case "ListQueueTags":
		return s.listQueueTags(req, in.(*wire.QueueURLInput))
	case "ListDeadLetterSourceQueues":
		return s.listDeadLetterSources(req, in.(*wire.ListDeadLetterSourceQueuesInput))
	case "SendMessage":
		return s.sendMessage(ctx, req, in.(*wire.SendMessageInput))
	case "SendMessageBatch":
		return s.sendMessageBatch(ctx, req, in.(*wire.SendMessageBatchInput))
	case "ReceiveMessage":
		return s.receiveMessage(ctx, req, in.(*wire.ReceiveMessageInput))
	case "DeleteMessage":
		return s.deleteMessage(ctx, req, in.(*wire.DeleteMessageInput))
	case "DeleteMessageBatch":
		return s.deleteMessageBatch(ctx, req, in.(*wire.BatchReceiptInput))
	case "ChangeMessageVisibility":
		return s.changeVisibility(req, in.(*wire.ChangeMessageVisibilityInput))
	case "ChangeMessageVisibilityBatch":
		return s.changeVisibilityBatch(req, in.(*wire.BatchReceiptInput))
	case "StartMessageMoveTask":
		return s.startMoveTask(req, in.(*wire.StartMessageMoveTaskInput))
	case "ListMessageMoveTasks":
		return s.listMoveTasks(req, in.(*wire.ListMessageMoveTasksInput))
	case "CancelMessageMoveTask":
		return s.cancelMoveTask(req, in.(*wire.CancelMessageMoveTaskInput))
	}
	return nil, wire.Errorf(wire.KindUnsupportedOperation, "Gannet does not support %s yet: queue policies come with the security work.", req.action)
}

// newRequestID returns a random UUID, the shape of AWS request ids.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
