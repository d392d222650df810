package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// definitions is everything the definitions file declares.
type definitions struct {
	classes []*class
	replies []reply
}

type class struct {
	name       string
	id         uint16
	methods    []*method
	properties []property
}

type method struct {
	class       *class
	name        string
	id          uint16
	synchronous bool
	content     bool
	replies     []string // names of methods of the same class
	fromClient  bool
	fromServer  bool
	fields      []field
}

type field struct {
	name   string
	typ    string
	goName string
}

type property struct {
	name    string
	typ     string
	flagBit int
}

type reply struct {
	code  uint16
	name  string
	scope string // success, channel or connection
}

// generatedMethodNames are the methods every generated type has; a field with
// the same Go name would not compile, so the file must rename it with go=.
var generatedMethodNames = map[string]bool{
	"ClassID": true, "MethodID": true, "Name": true, "AppendArgs": true,
	"DecodeArgs": true,
}

// parseDefinitions reads the line format described at the top of the
// definitions file and checks it for the mistakes that would otherwise
// surface as wrong bytes on the wire: duplicate ids, unknown types, replies
// naming methods that do not exist.
func parseDefinitions(src []byte) (*definitions, error) {
	defs := &definitions{}
	var cls *class
	var meth *method
	sc := bufio.NewScanner(bytes.NewReader(src))
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		tok := strings.Fields(line)
		if len(tok) == 0 {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %s", lineNo, fmt.Sprintf(format, args...))
		}
		switch tok[0] {
		case "class":
			if len(tok) != 3 {
				return nil, fail("want: class <name> <id>")
			}
			id, err := parseID(tok[2])
			if err != nil {
				return nil, fail("class id: %v", err)
			}
			for _, c := range defs.classes {
				if c.name == tok[1] || c.id == id {
					return nil, fail("class %s %d declared twice", tok[1], id)
				}
			}
			cls = &class{name: tok[1], id: id}
			meth = nil
			defs.classes = append(defs.classes, cls)
		case "method":
			if cls == nil {
				return nil, fail("method outside a class")
			}
			if len(tok) < 3 {
				return nil, fail("want: method <name> <id> [options]")
			}
			id, err := parseID(tok[2])
			if err != nil {
				return nil, fail("method id: %v", err)
			}
			for _, m := range cls.methods {
				if m.name == tok[1] || m.id == id {
					return nil, fail("method %s.%s %d declared twice", cls.name, tok[1], id)
				}
			}
			meth = &method{class: cls, name: tok[1], id: id}
			for _, opt := range tok[3:] {
				switch {
				case opt == "sync":
					meth.synchronous = true
				case opt == "content":
					meth.content = true
				case strings.HasPrefix(opt, "reply="):
					meth.replies = strings.Split(strings.TrimPrefix(opt, "reply="), ",")
				case opt == "from=client":
					meth.fromClient = true
				case opt == "from=server":
					meth.fromServer = true
				case opt == "from=both":
					meth.fromClient, meth.fromServer = true, true
				default:
					return nil, fail("unknown method option %q", opt)
				}
			}
			if !meth.fromClient && !meth.fromServer {
				return nil, fail("method %s.%s lacks from=", cls.name, meth.name)
			}
			if meth.synchronous != (len(meth.replies) > 0) {
				return nil, fail("method %s.%s: sync and reply= go together", cls.name, meth.name)
			}
			cls.methods = append(cls.methods, meth)
		case "field":
			if meth == nil {
				return nil, fail("field outside a method")
			}
			if len(tok) != 3 && len(tok) != 4 {
				return nil, fail("want: field <name> <type> [go=<GoName>]")
			}
			f := field{name: tok[1], typ: tok[2], goName: goName(tok[1])}
			if len(tok) == 4 {
				if !strings.HasPrefix(tok[3], "go=") {
					return nil, fail("unknown field option %q", tok[3])
				}
				f.goName = strings.TrimPrefix(tok[3], "go=")
			}
			if !isFieldType(f.typ) {
				return nil, fail("unknown field type %q", f.typ)
			}
			if generatedMethodNames[f.goName] {
				return nil, fail("field %s clashes with method %s(); rename it with go=", f.name, f.goName)
			}
			for _, other := range meth.fields {
				if other.goName == f.goName {
					return nil, fail("field %s declared twice", f.name)
				}
			}
			meth.fields = append(meth.fields, f)
		case "property":
			if cls == nil {
				return nil, fail("property outside a class")
			}
			// The generated codec fills the wire package's Properties type,
			// which is basic's; AMQP 0-9-1 has no other content class.
			if cls.name != "basic" {
				return nil, fail("property in class %s: only class basic has properties", cls.name)
			}
			if len(tok) != 4 {
				return nil, fail("want: property <name> <type> <flag-bit>")
			}
			bit, err := strconv.Atoi(tok[3])
			// Bit 0 is the continuation flag, so a property can never use it.
			if err != nil || bit < 1 || bit > 15 {
				return nil, fail("flag bit %q is not in 1..15", tok[3])
			}
			if !isFieldType(tok[2]) || tok[2] == "bit" {
				return nil, fail("property type %q is not allowed", tok[2])
			}
			for _, p := range cls.properties {
				if p.name == tok[1] || p.flagBit == bit {
					return nil, fail("property %s (bit %d) declared twice", tok[1], bit)
				}
			}
			cls.properties = append(cls.properties, property{name: tok[1], typ: tok[2], flagBit: bit})
		case "reply":
			if len(tok) != 4 {
				return nil, fail("want: reply <code> <name> <success|channel|connection>")
			}
			code, err := parseID(tok[1])
			if err != nil {
				return nil, fail("reply code: %v", err)
			}
			switch tok[3] {
			case "success", "channel", "connection":
			default:
				return nil, fail("unknown reply scope %q", tok[3])
			}
			for _, r := range defs.replies {
				if r.code == code || r.name == tok[2] {
					return nil, fail("reply %d %s declared twice", code, tok[2])
				}
			}
			defs.replies = append(defs.replies, reply{code: code, name: tok[2], scope: tok[3]})
		default:
			return nil, fail("unknown declaration %q", tok[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range defs.classes {
		for _, m := range c.methods {
			for _, r := range m.replies {
				if c.method(r) == nil {
					return nil, fmt.Errorf("%s.%s replies with unknown method %s.%s", c.name, m.name, c.name, r)
				}
			}
		}
	}
	if len(defs.classes) == 0 {
		return nil, fmt.Errorf("no classes declared")
	}
	return defs, nil
}

// isFieldType reports whether typ is an AMQP domain a field or property may
// use: one the generator has a Go type for.
func isFieldType(typ string) bool {
	_, ok := goTypes[typ]
	return ok
}

func (c *class) method(name string) *method {
	for _, m := range c.methods {
		if m.name == name {
			return m
		}
	}
	return nil
}

func parseID(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err
}

// goName turns an AMQP name such as "consumer-tag" or "start-ok" into an
// exported Go identifier ("ConsumerTag", "StartOK"), following Go's
// initialism convention for "id" and "ok".
func goName(amqpName string) string {
	var b strings.Builder
	for _, part := range strings.Split(amqpName, "-") {
		switch part {
		case "":
		case "id", "ok":
			b.WriteString(strings.ToUpper(part))
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
