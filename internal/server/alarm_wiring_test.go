package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/server"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestAlarmsStartWithTheServer: under limits this process is within, no
// alarm is raised and the gauge on the server's /metrics says so; the limits
// the config sets are the monitor's (the start-up line reports them).
// TestEveryFrontendObeysTheAlarms shows that it measures before clients
// connect.
func TestAlarmsStartWithTheServer(t *testing.T) {
	logger, logs := testLogger()
	cfg := testConfig(t)
	cfg.DiskFreeLimit, cfg.MemoryHighWatermarkBytes = 12345, 1<<40
	s, err := server.New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	_, body := testenv.Get(t, "http://"+s.Addrs().HTTP+"/metrics")
	for _, want := range []string{`gannet_resource_alarm{resource="disk"} 0`, `gannet_resource_alarm{resource="memory"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if want := "memory_limit=1099511627776 disk_free_limit=12345"; !strings.Contains(logs.String(), want) {
		t.Errorf("the start-up log lacks %q:\n%s", want, logs.String())
	}
}

// TestEveryFrontendObeysTheAlarms: limits no process can meet raise both
// alarms at start, and each protocol answers the way its clients expect:
// AMQP holds the publish with connection.blocked, Redis refuses XADD with
// -OOM, Kafka holds a produce until its timeout and answers
// REQUEST_TIMED_OUT, and SQS answers 503 ServiceUnavailable.
func TestEveryFrontendObeysTheAlarms(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryHighWatermark, cfg.MemoryHighWatermarkBytes = 0, 2 // bytes
	cfg.DiskFreeLimit = 1 << 62
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			shutdown(t, s)
		}
	}()
	addrs := s.Addrs()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, body := testenv.Get(t, "http://"+addrs.HTTP+"/metrics")
	for _, want := range []string{`gannet_resource_alarm{resource="disk"} 1`, `gannet_resource_alarm{resource="memory"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	rdb := redis.NewClient(&redis.Options{Addr: addrs.Redis, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"f", "v"}}).Err(); err == nil ||
		err.Error() != "OOM command not allowed when used memory > 'maxmemory'." {
		t.Errorf("Redis XADD under the alarms = %v", err)
	}

	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addrs.SQS),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	queue, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queue.QueueUrl, MessageBody: aws.String("m")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ServiceUnavailable" {
		t.Errorf("SQS SendMessage under the alarms = %v", err)
	}

	kc, err := kgo.NewClient(kgo.SeedBrokers(addrs.Kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	records, err := batch.Append(nil, 0, []batch.Record{{Value: []byte("v")}},
		batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = -1, 10
	topic := kmsg.NewProduceRequestTopic()
	topic.Topic = "t"
	partition := kmsg.NewProduceRequestTopicPartition()
	partition.Records = records
	topic.Partitions = append(topic.Partitions, partition)
	produce.Topics = append(produce.Topics, topic)
	resp, err := produce.RequestWith(ctx, kc)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.RequestTimedOut.Code {
		t.Errorf("Kafka produce under the alarms = %v", kerr.ErrorForCode(code))
	}

	conn, err := amqp091.Dial("amqp://guest:guest@" + addrs.AMQP + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, "", "q", false, false, amqp091.Publishing{Body: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-blocked:
		if !b.Active || b.Reason != "low on memory & disk" {
			t.Errorf("AMQP blocking = %+v", b)
		}
	case <-ctx.Done():
		t.Error("AMQP publisher never told connection.blocked")
	}
	// The held publish ends with the server, before the client closes.
	shutdown(t, s)
	stopped = true
}
