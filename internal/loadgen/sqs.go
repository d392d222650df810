package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The SQS workload: producers send batches of up to 10 (SendMessageBatch),
// with the in-flight window bounding the messages in outstanding batches;
// consumers long-poll ReceiveMessage for up to 10 messages and delete each
// batch with DeleteMessageBatch. SQS has no fan-out of its own (that is
// SNS), so the workload refuses --groups above 1.
type sqsWorkload struct {
	cfg    Config
	client *sqs.Client
	urls   []string
}

// sqsMaxBatch is the API's limit on entries per batch call.
const sqsMaxBatch = 10

// sqsWaitSeconds is the long-poll wait: the server holds the request, so an
// idle consumer makes one request per wait rather than spinning.
const sqsWaitSeconds = 1

func newSQSWorkload(cfg Config) *sqsWorkload {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cfg.Addr),
		Credentials:  credentials.NewStaticCredentialsProvider("gannet-bench", "gannet-bench", ""),
		HTTPClient:   &http.Client{Transport: DetachBodies{transport}},
		// Retries would hide failures; the run counts them instead.
		RetryMaxAttempts: 1,
	})
	return &sqsWorkload{cfg: cfg, client: client}
}

func (w *sqsWorkload) setup(ctx context.Context) error {
	if w.cfg.Groups > 1 {
		return errors.New("the SQS workload has no fan-out: SQS queues have one group of consumers (fan-out is SNS); use --groups 1")
	}
	for q := 0; q < w.cfg.Queues; q++ {
		out, err := w.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(w.cfg.queueName(q))})
		if err != nil {
			return fmt.Errorf("CreateQueue %s: %w", w.cfg.queueName(q), err)
		}
		w.urls = append(w.urls, aws.ToString(out.QueueUrl))
	}
	return nil
}

func (w *sqsWorkload) probe(ctx context.Context) error {
	_, err := w.client.ListQueues(ctx, &sqs.ListQueuesInput{})
	return err
}

func (w *sqsWorkload) close() error { return nil }

type sqsBatch struct {
	entries []types.SendMessageBatchRequestEntry
	dones   []func(error)
}

type sqsProducer struct {
	w        *sqsWorkload
	batchMax int
	batches  map[int]*sqsBatch
	wg       sync.WaitGroup
}

func (w *sqsWorkload) newProducer(ctx context.Context, id int) (producer, error) {
	return &sqsProducer{w: w, batchMax: min(sqsMaxBatch, w.cfg.InFlight), batches: map[int]*sqsBatch{}}, nil
}

func (p *sqsProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	b := p.batches[queue]
	if b == nil {
		b = &sqsBatch{}
		p.batches[queue] = b
	}
	b.entries = append(b.entries, types.SendMessageBatchRequestEntry{
		Id: aws.String(strconv.Itoa(len(b.entries))), MessageBody: aws.String(string(payload)),
	})
	b.dones = append(b.dones, done)
	if len(b.entries) >= p.batchMax {
		p.dispatch(ctx, queue, b)
		delete(p.batches, queue)
	}
	return nil
}

// dispatch sends one batch on its own goroutine; the run's window bounds
// how many are outstanding.
func (p *sqsProducer) dispatch(ctx context.Context, queue int, b *sqsBatch) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		out, err := p.w.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.w.urls[queue]), Entries: b.entries})
		if err != nil {
			for _, done := range b.dones {
				done(err)
			}
			return
		}
		settled := make([]bool, len(b.dones))
		for _, ok := range out.Successful {
			if i, convErr := strconv.Atoi(aws.ToString(ok.Id)); convErr == nil && i < len(b.dones) && !settled[i] {
				settled[i] = true
				b.dones[i](nil)
			}
		}
		for _, failed := range out.Failed {
			if i, convErr := strconv.Atoi(aws.ToString(failed.Id)); convErr == nil && i < len(b.dones) && !settled[i] {
				settled[i] = true
				b.dones[i](fmt.Errorf("SendMessageBatch entry failed: %s %s", aws.ToString(failed.Code), aws.ToString(failed.Message)))
			}
		}
		for i, done := range b.dones {
			if !settled[i] {
				done(errors.New("SendMessageBatch reply did not mention the entry"))
			}
		}
	}()
}

func (p *sqsProducer) flush(ctx context.Context) error {
	for queue, b := range p.batches {
		p.dispatch(ctx, queue, b)
		delete(p.batches, queue)
	}
	return nil
}

func (p *sqsProducer) close() error {
	p.wg.Wait()
	return nil
}

type sqsConsumer struct {
	w      *sqsWorkload
	queues []int
}

func (w *sqsWorkload) newConsumer(ctx context.Context, group, member int) (consumer, error) {
	return &sqsConsumer{w: w, queues: queuesOf(member, w.cfg.Consumers, w.cfg.Queues)}, nil
}

// run long-polls each of its queues and records every body.
func (c *sqsConsumer) run(ctx context.Context, rec *Recorder) error {
	sources := make([]source[[]types.Message], 0, len(c.queues))
	for _, q := range c.queues {
		sources = append(sources, func(ctx context.Context, emit func([]types.Message) bool) error {
			return c.poll(ctx, c.w.urls[q], emit)
		})
	}
	return consumeSources(ctx, len(c.queues), sources, func(batch []types.Message) error {
		for _, m := range batch {
			rec.RecordString(aws.ToString(m.Body))
		}
		return nil
	})
}

// poll receives batches from one queue, hands each to emit and then deletes
// it.
func (c *sqsConsumer) poll(ctx context.Context, url string, emit func([]types.Message) bool) error {
	maxMessages := int32(min(sqsMaxBatch, c.w.cfg.Prefetch))
	for ctx.Err() == nil {
		out, err := c.w.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: maxMessages, WaitTimeSeconds: sqsWaitSeconds,
		})
		if err != nil {
			return fmt.Errorf("ReceiveMessage: %w", err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		entries := make([]types.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
		for i, m := range out.Messages {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if !emit(out.Messages) {
			return nil
		}
		deleted, err := c.w.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			return fmt.Errorf("DeleteMessageBatch: %w", err)
		}
		// A batch call succeeds even when entries fail; an undeleted message
		// would come back as a duplicate after its visibility timeout.
		if len(deleted.Failed) > 0 {
			f := deleted.Failed[0]
			return fmt.Errorf("DeleteMessageBatch: %d of %d entries failed, first: %s %s",
				len(deleted.Failed), len(entries), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

func (c *sqsConsumer) close() error { return nil }

// DetachBodies hands the transport a request body of its own. The SDK
// (smithy-go) closes the body it built as soon as the response is in, and
// its closed body's WriteTo then returns io.EOF; when a fast server answers
// before net/http's write loop has finished with the body, that error makes
// the transport close the connection under a response still being read
// ("use of closed network connection"). Copying the small body avoids the
// race. The SQS front-end's tests use it too.
type DetachBodies struct{ http.RoundTripper }

func (d DetachBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return d.RoundTripper.RoundTrip(r)
}
