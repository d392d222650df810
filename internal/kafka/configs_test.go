package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs and IncrementalAlterConfigs refuse a broker resource with
// INVALID_REQUEST and its reason, and still apply a topic named next to it
// in the same request.
func TestAlterConfigsRefusesNonTopic(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("alt", 1)
	ctx := testCtx(t)
	br := tb.client().Broker(int(nodeID)) // one request as built, not split by the client
	check := func(what string, codes []int16, msgs []*string) {
		t.Helper()
		if len(codes) != 2 || codes[0] != kerr.InvalidRequest.Code || msgs[0] == nil || *msgs[0] != "only topic configs can be altered" ||
			codes[1] != 0 || msgs[1] != nil {
			t.Fatalf("%s: codes %v, first message %v", what, codes, msgs[0])
		}
	}

	resources := []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{{kmsg.ConfigResourceTypeBroker, "0"}, {kmsg.ConfigResourceTypeTopic, "alt"}}
	alter := kmsg.NewPtrAlterConfigsRequest()
	for _, r := range resources {
		ar := kmsg.NewAlterConfigsRequestResource()
		ar.ResourceType, ar.ResourceName = r.typ, r.name
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = cfgRetentionMs, kmsg.StringPtr("60000")
		ar.Configs = append(ar.Configs, c)
		alter.Resources = append(alter.Resources, ar)
	}
	resp, err := alter.RequestWith(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	var codes []int16
	var msgs []*string
	for _, r := range resp.Resources {
		codes, msgs = append(codes, r.ErrorCode), append(msgs, r.ErrorMessage)
	}
	check("alter configs", codes, msgs)
	if info, _ := tb.b.Stream("alt"); info.Config.RetentionAge != time.Minute {
		t.Fatalf("retention after alter configs: %v", info.Config.RetentionAge)
	}

	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, r := range resources {
		ir := kmsg.NewIncrementalAlterConfigsRequestResource()
		ir.ResourceType, ir.ResourceName = r.typ, r.name
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = cfgRetentionMs, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("120000")
		ir.Configs = append(ir.Configs, c)
		inc.Resources = append(inc.Resources, ir)
	}
	iresp, err := inc.RequestWith(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	codes, msgs = nil, nil
	for _, r := range iresp.Resources {
		codes, msgs = append(codes, r.ErrorCode), append(msgs, r.ErrorMessage)
	}
	check("incremental alter configs", codes, msgs)
	if info, _ := tb.b.Stream("alt"); info.Config.RetentionAge != 2*time.Minute {
		t.Fatalf("retention after incremental alter configs: %v", info.Config.RetentionAge)
	}
}

// A retention.ms longer than a time.Duration can hold (Kafka allows up to
// Long.MAX_VALUE, which tools set to keep data forever) keeps everything:
// converted as is, it wrapped around to a negative age the core refused or,
// for 18446744073710 ms, to under a millisecond, which deleted every
// record at the next retention pass.
func TestRetentionMsBeyondADurationKeepsEverything(t *testing.T) {
	tb := startBroker(t, "")
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	for i, ms := range []string{"9223372036854775807", "18446744073710", "9223372036855"} {
		topic := fmt.Sprint("forever-", i)
		created, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{cfgRetentionMs: kmsg.StringPtr(ms)}, topic)
		if err == nil {
			err = created.Err
		}
		if err != nil {
			t.Fatalf("create with retention.ms=%s: %v", ms, err)
		}
		if info, _ := tb.b.Stream(topic); info.Config.RetentionAge != 0 {
			t.Fatalf("retention.ms=%s became a retention of %v, want none", ms, info.Config.RetentionAge)
		}
		hour := "3600000"
		for _, value := range []string{hour, ms} {
			altered, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: cfgRetentionMs, Value: &value}}, topic)
			if err == nil {
				err = altered[0].Err
			}
			if err != nil {
				t.Fatalf("alter retention.ms to %s: %v", value, err)
			}
		}
		if info, _ := tb.b.Stream(topic); info.Config.RetentionAge != 0 {
			t.Fatalf("retention.ms altered to %s became a retention of %v, want none", ms, info.Config.RetentionAge)
		}
	}
}
