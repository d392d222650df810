package sqs

import (
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestBoto3Query runs every action through Debian's boto3, which speaks the
// Query protocol (form bodies, XML replies).
func TestBoto3Query(t *testing.T) {
	testenv.RequirePython(t, "boto3")
	e := startEnvClock(t, t.TempDir(), clock.Real())
	out := testenv.RunPython(t, time.Minute, "testdata/boto3_query.py", "GANNET_SQS_ENDPOINT="+e.endpoint)
	if !strings.Contains(out, "OK") {
		t.Fatalf("script output: %s", out)
	}
}
