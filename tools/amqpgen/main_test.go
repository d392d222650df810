package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

const (
	definitionsPath = "../../internal/amqp/wire/spec/amqp0-9-1.txt"
	checkedInPath   = "../../internal/amqp/wire/methods_gen.go"
)

// TestCheckedInCodeIsCurrent fails when methods_gen.go differs from what the
// generator makes of the definitions file, so CI catches an edit to either
// that was not followed by go generate.
func TestCheckedInCodeIsCurrent(t *testing.T) {
	want, err := generateFile(definitionsPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(checkedInPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./internal/amqp/wire", checkedInPath)
	}
	if !bytes.HasPrefix(got, []byte(generatedHeader)) {
		t.Fatalf("%s lacks the generated-code header", checkedInPath)
	}
}

func TestDefinitionsDeclareRabbitMQExtensions(t *testing.T) {
	src, err := os.ReadFile(definitionsPath)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := parseDefinitions(src)
	if err != nil {
		t.Fatal(err)
	}
	find := func(className, methodName string) *method {
		for _, c := range defs.classes {
			if c.name == className {
				return c.method(methodName)
			}
		}
		return nil
	}
	for _, name := range []string{"connection.blocked", "connection.unblocked", "connection.update-secret",
		"exchange.bind", "exchange.unbind", "basic.nack", "confirm.select"} {
		dot := strings.IndexByte(name, '.')
		if find(name[:dot], name[dot+1:]) == nil {
			t.Errorf("%s missing", name)
		}
	}
	if len(defs.replies) != 19 {
		t.Errorf("%d reply codes, want 19", len(defs.replies))
	}
}

func TestParseDefinitionsRejectsMistakes(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"duplicate method id", "class c 1\nmethod a 10 from=client\nmethod b 10 from=client\n", "declared twice"},
		{"unknown field type", "class c 1\nmethod a 10 from=client\nfield x varint\n", "unknown field type"},
		{"field clashing with a method", "class c 1\nmethod a 10 from=client\nfield class-id short\n", "rename it with go="},
		{"reply to nothing", "class c 1\nmethod a 10 sync reply=a-ok from=client\n", "unknown method"},
		{"sync without reply", "class c 1\nmethod a 10 sync from=client\n", "go together"},
		{"no sender", "class c 1\nmethod a 10\n", "lacks from="},
		{"continuation bit as flag", "class basic 60\nproperty p shortstr 0\n", "not in 1..15"},
		{"property outside basic", "class c 1\nproperty p shortstr 15\n", "only class basic"},
		{"field before method", "class c 1\nfield x bit\n", "outside a method"},
		{"unknown declaration", "klass c 1\n", "unknown declaration"},
	}
	for _, tc := range tests {
		_, err := parseDefinitions([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestBitRunsPackEightBitsPerOctet(t *testing.T) {
	var fields []field
	for range 10 {
		fields = append(fields, field{typ: "bit"})
	}
	fields = append(fields, field{typ: "short"}, field{typ: "bit"})
	runs := bitRuns(fields)
	var sizes []int
	for _, r := range runs {
		sizes = append(sizes, len(r))
	}
	if want := []int{8, 2, 1, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("run sizes %v, want %v", sizes, want)
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{"consumer-tag": "ConsumerTag", "start-ok": "StartOK",
		"correlation-id": "CorrelationID", "reserved-1": "Reserved1", "update-secret-ok": "UpdateSecretOK"} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}
