// Command amqpgen generates Gannet's AMQP 0-9-1 method codec.
//
// It reads the definitions file internal/amqp/wire/spec/amqp0-9-1.txt (our
// own description of every class, method, field, content property and reply
// code) and writes internal/amqp/wire/methods_gen.go: one struct per method
// with encoders and decoders, and the lookup functions the server needs.
// The wire package runs it through go:generate:
//
//	go run ../../../tools/amqpgen -in spec/amqp0-9-1.txt -out methods_gen.go
//
// A test in this package fails when the checked-in output is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "spec/amqp0-9-1.txt", "definitions file to read")
	out := flag.String("out", "methods_gen.go", "Go file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "amqpgen:", err)
		os.Exit(1)
	}
}

func run(inPath, outPath string) error {
	code, err := generateFile(inPath)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, code, 0o644)
}

// generateFile reads and checks a definitions file and returns the Go source
// generated from it.
func generateFile(inPath string) ([]byte, error) {
	src, err := os.ReadFile(inPath)
	if err != nil {
		return nil, err
	}
	defs, err := parseDefinitions(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", inPath, err)
	}
	// Only the base name goes into the output, so that it does not depend on
	// the directory the generator ran from.
	return generate(defs, filepath.Base(inPath))
}
