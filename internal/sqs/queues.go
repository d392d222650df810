package sqs

import (
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// queue looks up a queue by name. Topics (Kafka topics, Redis streams that
// are not queues) are not SQS queues.
func (s *Server) queue(name string) (*queue, error) {
	info, err := s.b.Stream(name)
	if err != nil || info.Config.Kind != broker.KindQueue {
		return nil, wire.NonExistentQueue()
	}
	return newQueueView(name, info.Config, s.maxMsg), nil
}

// queueName takes the queue name from a queue URL; the Query protocol may
// also post to the queue URL itself.
func (s *Server) queueName(req *request, queueURL string) (string, error) {
	if queueURL == "" {
		queueURL = req.path
	}
	if queueURL == "" || queueURL == "/" {
		return "", wire.Missing("QueueUrl")
	}
	if u, err := url.Parse(queueURL); err == nil && u.Path != "" {
		queueURL = u.Path
	}
	queueURL = strings.TrimSuffix(queueURL, "/")
	name := queueURL[strings.LastIndexByte(queueURL, '/')+1:]
	if name == "" {
		return "", wire.NonExistentQueue()
	}
	return name, nil
}

func (s *Server) queueFromURL(req *request, queueURL string) (*queue, error) {
	name, err := s.queueName(req, queueURL)
	if err != nil {
		return nil, err
	}
	return s.queue(name)
}

// queueURL is http://<host the client used>/<account>/<name>.
func (s *Server) queueURL(req *request, name string) string {
	return "http://" + req.host + "/" + s.cfg.AccountID + "/" + url.PathEscape(name)
}

func (s *Server) createQueue(req *request, in *wire.CreateQueueInput) (any, error) {
	if in.QueueName == "" {
		return nil, wire.Missing("QueueName")
	}
	fifo := in.Attributes["FifoQueue"] == "true"
	if !validQueueName(in.QueueName, fifo) {
		if strings.HasSuffix(in.QueueName, ".fifo") && !fifo {
			return nil, wire.InvalidParameter("QueueName", in.QueueName, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil, wire.InvalidParameter("QueueName", in.QueueName, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if err := s.checkAttributes(in.QueueName, in.Attributes, fifo, true); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, 0); err != nil {
		return nil, err
	}
	out := wire.CreateQueueOutput{QueueUrl: s.queueURL(req, in.QueueName)}
	if existing, err := s.b.Stream(in.QueueName); err == nil {
		if existing.Config.Kind != broker.KindQueue {
			return nil, wire.Errorf(wire.KindQueueAlreadyExists, "A stream named %s exists and is not a queue.", in.QueueName)
		}
		q := newQueueView(in.QueueName, existing.Config, s.maxMsg)
		for k, v := range in.Attributes {
			if k == "RedrivePolicy" && v != "" {
				p, _ := parseRedrivePolicy(v)
				v = p.String()
			}
			if q.attr(k) != v {
				return nil, wire.Errorf(wire.KindQueueAlreadyExists, "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return out, nil
	}
	now := s.clock.Now()
	s.mu.Lock()
	deletedAt, recently := s.deleted[in.QueueName]
	s.mu.Unlock()
	if recently && now.Sub(deletedAt) < recreateDelay {
		return nil, wire.Errorf(wire.KindQueueDeletedRecently, "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	cfg := broker.StreamConfig{Kind: broker.KindQueue, Durable: true, Attributes: map[string]string{
		createdKey:   strconv.FormatInt(now.Unix(), 10),
		createdMsKey: strconv.FormatInt(now.UnixMilli(), 10),
	}}
	if fifo {
		cfg.DedupWindow = fifoDedupWindow
		cfg.Group.OrderByKey = true
	}
	// Headers (attributes, ids) count against the core's limit but not SQS'.
	cfg.MaxMessageBytes = s.maxMsg + 64<<10
	applyAttributes(&cfg, in.Attributes, now)
	for k, v := range in.Tags {
		cfg.Attributes[tagPrefix+k] = v
	}
	if _, _, err := s.b.DeclareStream(in.QueueName, cfg); err != nil {
		if errors.Is(err, broker.ErrExists) {
			return nil, wire.Errorf(wire.KindQueueAlreadyExists, "A queue already exists with the same name and different attributes.")
		}
		return nil, err
	}
	return out, nil
}

func (s *Server) getQueueURL(req *request, in *wire.GetQueueUrlInput) (any, error) {
	if in.QueueName == "" {
		return nil, wire.Missing("QueueName")
	}
	if _, err := s.queue(in.QueueName); err != nil {
		return nil, err
	}
	return wire.GetQueueUrlOutput{QueueUrl: s.queueURL(req, in.QueueName)}, nil
}

// page applies MaxResults and NextToken (an opaque last name) to sorted names.
func page(names []string, maxResults wire.OptInt, token string) ([]string, string, error) {
	if maxResults.Set && (maxResults.Value < 1 || maxResults.Value > 1000) {
		return nil, "", wire.InvalidParameter("MaxResults", strconv.FormatInt(maxResults.Value, 10), "MaxResults must be an integer between 1 and 1000.")
	}
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", wire.InvalidParameter("NextToken", token, "Invalid NextToken value.")
		}
		i := sort.SearchStrings(names, string(after))
		for i < len(names) && names[i] <= string(after) {
			i++
		}
		names = names[i:]
	}
	limit := int(maxResults.Or(1000))
	if len(names) <= limit {
		return names, "", nil
	}
	names = names[:limit]
	next := ""
	if maxResults.Set {
		next = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
	}
	return names, next, nil
}

func (s *Server) queueNames(keep func(broker.StreamInfo) bool) []string {
	var names []string
	for _, info := range s.b.Streams() { // sorted by name
		if info.Config.Kind == broker.KindQueue && keep(info) {
			names = append(names, info.Name)
		}
	}
	return names
}

func (s *Server) listQueues(req *request, in *wire.ListQueuesInput) (any, error) {
	names := s.queueNames(func(i broker.StreamInfo) bool { return strings.HasPrefix(i.Name, in.QueueNamePrefix) })
	names, next, err := page(names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := wire.ListQueuesOutput{NextToken: next}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(req, n))
	}
	return out, nil
}

// deadLetterSources names the queues whose RedrivePolicy targets dlq.
func (s *Server) deadLetterSources(dlq string) []string {
	return s.queueNames(func(i broker.StreamInfo) bool {
		v := i.Config.Attributes[attrPrefix+"RedrivePolicy"]
		if v == "" {
			return false
		}
		p, err := parseRedrivePolicy(v)
		return err == nil && arnName(p.DeadLetterTargetArn) == dlq
	})
}

func (s *Server) listDeadLetterSources(req *request, in *wire.ListDeadLetterSourceQueuesInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	names, next, err := page(s.deadLetterSources(q.name), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := wire.ListDeadLetterSourceQueuesOutput{QueueUrls: []string{}, NextToken: next}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(req, n))
	}
	return out, nil
}

func (s *Server) deleteQueue(req *request, in *wire.QueueURLInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.b.DeleteStream(q.name); err != nil {
		if errors.Is(err, broker.ErrNotFound) {
			return nil, wire.NonExistentQueue()
		}
		return nil, err
	}
	s.forgetQueue(q.name)
	return wire.Empty{}, nil
}

// recreateDelay is how long SQS refuses a name after DeleteQueue.
const recreateDelay = 60 * time.Second

// forgetQueue drops the front-end's memory of a deleted queue and notes
// when it went.
func (s *Server) forgetQueue(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.purged, name)
	delete(s.sent, name)
	s.pacing.Delete(name)
	now := s.clock.Now()
	for n, at := range s.deleted {
		if now.Sub(at) >= recreateDelay {
			delete(s.deleted, n)
		}
	}
	s.deleted[name] = now
	for k := range s.attempts {
		if strings.HasPrefix(k, name+"\x00") {
			delete(s.attempts, k)
		}
	}
	for k := range s.firstRx {
		if k.queue == name {
			delete(s.firstRx, k)
		}
	}
}

func (s *Server) purgeQueue(req *request, in *wire.QueueURLInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	s.mu.Lock()
	if last, ok := s.purged[q.name]; ok && now.Sub(last) < 60*time.Second {
		s.mu.Unlock()
		return nil, wire.Errorf(wire.KindPurgeInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
	}
	s.purged[q.name] = now
	s.mu.Unlock()
	g, err := s.b.Queue(q.name)
	if err != nil {
		return nil, wire.NonExistentQueue()
	}
	if _, err := g.Purge(); err != nil {
		return nil, err
	}
	return wire.Empty{}, nil
}

func (s *Server) getQueueAttributes(req *request, in *wire.GetQueueAttributesInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			want = nil
			break
		}
		if _, ok := settable[n]; !ok && !slices.Contains(readOnly, n) {
			return nil, wire.Errorf(wire.KindInvalidAttributeName, "Unknown Attribute %s.", n)
		}
		want[n] = true
	}
	if len(in.AttributeNames) == 0 {
		return wire.AttributesOutput{}, nil
	}
	all := s.attributes(q)
	out := map[string]string{}
	for k, v := range all {
		if want == nil || want[k] {
			out[k] = v
		}
	}
	return wire.AttributesOutput{Attributes: out}, nil
}

// attributes computes every attribute of a queue.
func (s *Server) attributes(q *queue) map[string]string {
	out := map[string]string{
		"QueueArn":              s.arn(q.name),
		"CreatedTimestamp":      q.cfg.Attributes[createdKey],
		"LastModifiedTimestamp": q.cfg.Attributes[modifiedKey],
	}
	if out["CreatedTimestamp"] == "" {
		out["CreatedTimestamp"], out["LastModifiedTimestamp"] = "0", "0"
	}
	for name, spec := range settable {
		if spec.fifoOnly && !q.fifo {
			continue
		}
		if name == "FifoQueue" && !q.fifo {
			continue
		}
		if v := q.attr(name); v != "" {
			out[name] = v
		}
	}
	visible, inFlight := s.queueCounts(q.name)
	// The core does not tell delayed records from visible ones before
	// their first dispatch, so delayed messages count as visible.
	out["ApproximateNumberOfMessages"] = strconv.FormatInt(max(visible, 0), 10)
	out["ApproximateNumberOfMessagesNotVisible"] = strconv.FormatInt(inFlight, 10)
	out["ApproximateNumberOfMessagesDelayed"] = "0"
	return out
}

// queueCounts returns a queue's visible and in-flight message counts.
func (s *Server) queueCounts(name string) (visible, inFlight int64) {
	g, err := s.b.Queue(name)
	if err != nil {
		return 0, 0
	}
	return g.Ready(), g.InFlight()
}

func (s *Server) setQueueAttributes(req *request, in *wire.SetQueueAttributesInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.checkAttributes(q.name, in.Attributes, q.fifo, false); err != nil {
		return nil, err
	}
	_, err = s.b.UpdateStream(q.name, func(cfg *broker.StreamConfig) error {
		applyAttributes(cfg, in.Attributes, s.clock.Now())
		return nil
	})
	if errors.Is(err, broker.ErrNotFound) {
		return nil, wire.NonExistentQueue()
	}
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, nil
}

func checkTags(tags map[string]string, existing int) error {
	if len(tags)+existing > maxTags {
		return wire.InvalidParameter("Tags", strconv.Itoa(len(tags)), "Too many tags added for queue. Maximum is 50.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return wire.InvalidParameter("TagKey", k, "Tag keys must be between 1 and 128 characters in length.")
		}
		if len(v) > 256 {
			return wire.InvalidParameter("TagValue", v, "Tag values must be at most 256 characters in length.")
		}
	}
	return nil
}

func countTags(cfg broker.StreamConfig) int {
	n := 0
	for k := range cfg.Attributes {
		if strings.HasPrefix(k, tagPrefix) {
			n++
		}
	}
	return n
}

func (s *Server) tagQueue(req *request, in *wire.TagQueueInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, wire.Missing("Tags")
	}
	_, err = s.b.UpdateStream(q.name, func(cfg *broker.StreamConfig) error {
		fresh := 0
		for k := range in.Tags {
			if _, ok := cfg.Attributes[tagPrefix+k]; !ok {
				fresh++
			}
		}
		if err := checkTags(in.Tags, countTags(*cfg)+fresh-len(in.Tags)); err != nil {
			return err
		}
		for k, v := range in.Tags {
			cfg.Attributes[tagPrefix+k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, nil
}

func (s *Server) untagQueue(req *request, in *wire.UntagQueueInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, wire.Missing("TagKeys")
	}
	_, err = s.b.UpdateStream(q.name, func(cfg *broker.StreamConfig) error {
		for _, k := range in.TagKeys {
			delete(cfg.Attributes, tagPrefix+k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, nil
}

func (s *Server) listQueueTags(req *request, in *wire.QueueURLInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range q.cfg.Attributes {
		if t, ok := strings.CutPrefix(k, tagPrefix); ok {
			tags[t] = v
		}
	}
	if len(tags) == 0 {
		return wire.TagsOutput{}, nil
	}
	return wire.TagsOutput{Tags: tags}, nil
}
