package loadgen

import (
	"context"
	"errors"
	"fmt"
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
		HTTPClient:   &http.Client{Transport: transport},
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

// run long-polls each of its queues on its own goroutine and hands the
// bodies to the one goroutine that owns the recorder.
func (c *sqsConsumer) run(ctx context.Context, rec *Recorder) error {
	bodies := make(chan []string, len(c.queues))
	errs := make(chan error, len(c.queues))
	var wg sync.WaitGroup
	for _, q := range c.queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.poll(ctx, c.w.urls[q], bodies); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	go func() { wg.Wait(); close(bodies) }()
	for batch := range bodies {
		for _, b := range batch {
			rec.Record([]byte(b))
		}
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func (c *sqsConsumer) poll(ctx context.Context, url string, bodies chan<- []string) error {
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
		batch := make([]string, 0, len(out.Messages))
		entries := make([]types.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
		for i, m := range out.Messages {
			batch = append(batch, aws.ToString(m.Body))
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		select {
		case bodies <- batch:
		case <-ctx.Done():
			return nil
		}
		if _, err := c.w.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return fmt.Errorf("DeleteMessageBatch: %w", err)
		}
	}
	return nil
}

func (c *sqsConsumer) close() error { return nil }
