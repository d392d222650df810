package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "Usage: gannet"},
		{name: "unknown command", args: []string{"start"}, wantCode: 2, wantStderr: `unknown command "start"`},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "serve"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "gannet "},
		{name: "serve help", args: []string{"serve", "-h"}, wantCode: 0, wantStderr: "-kafka-advertised-addr"},
		{name: "serve with a bad flag value", args: []string{"serve", "--fsync-interval", "soon"}, wantCode: 2, wantStderr: "not a duration"},
		{name: "serve with an invalid config", args: []string{"serve", "--fsync", "sometimes"}, wantCode: 2, wantStderr: `fsync "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, noEnv, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestVersionPrefersTheLinkerValue(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved })
	version = "v9.9.9"
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, noEnv, &stdout, &bytes.Buffer{}); code != 0 || stdout.String() != "gannet v9.9.9\n" {
		t.Errorf("version = %d %q, want 0 \"gannet v9.9.9\\n\"", code, stdout.String())
	}
}

// A serve whose context is already cancelled (as after SIGTERM) starts,
// drains at once and exits 0.
func TestServeStopsCleanlyWhenSignalled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	args := []string{"serve", "--data-dir", t.TempDir(), "--amqp-addr=", "--kafka-addr=", "--redis-addr=", "--sqs-addr=", "--http-addr", "127.0.0.1:0"}
	if code := run(ctx, args, noEnv, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("serve exit code %d, want 0:\n%s", code, stderr.String())
	}
	for _, want := range []string{"gannet started", "shutting down", "broker closed", "gannet stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log has no %q:\n%s", want, stderr.String())
		}
	}
}
