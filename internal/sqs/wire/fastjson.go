package wire

import (
	"unicode/utf8"
	"unsafe"
)

// The JSON fast path: SendMessageBatch, SendMessage and DeleteMessageBatch
// carry most of the traffic, and encoding/json spends more time on them
// than the rest of the request. fastDecode handles the plain shapes these
// requests nearly always have (string members only, no message
// attributes) in one pass. Anything else, including any escape or
// non-ASCII byte in a string, makes it give up, and encoding/json decodes
// the body as before; FuzzFastJSON checks both agree.

// fastDecode returns the input for action, or ok=false to fall back.
func fastDecode(action string, body []byte) (any, bool) {
	p := &fastParser{b: body}
	switch action {
	case "SendMessageBatch":
		in := &SendMessageBatchInput{}
		ok := p.object(func(key string) bool {
			switch key {
			case "QueueUrl":
				return p.str(&in.QueueUrl)
			case "Entries":
				in.Entries = make([]SendMessageEntry, 0, maxEntriesHint)
				return p.array(func() bool {
					var e SendMessageEntry
					if !p.object(func(k string) bool { return p.sendField(k, &e) }) {
						return false
					}
					in.Entries = append(in.Entries, e)
					return true
				})
			}
			return false
		})
		return in, ok && p.end()
	case "SendMessage":
		in := &SendMessageInput{}
		ok := p.object(func(key string) bool {
			if key == "QueueUrl" {
				return p.str(&in.QueueUrl)
			}
			return p.sendField(key, &in.SendMessageEntry)
		})
		return in, ok && p.end()
	case "DeleteMessageBatch":
		in := &BatchReceiptInput{}
		ok := p.object(func(key string) bool {
			switch key {
			case "QueueUrl":
				return p.str(&in.QueueUrl)
			case "Entries":
				in.Entries = make([]ReceiptEntry, 0, maxEntriesHint)
				return p.array(func() bool {
					var e ReceiptEntry
					if !p.object(func(k string) bool {
						switch k {
						case "Id":
							return p.str(&e.Id)
						case "ReceiptHandle":
							return p.str(&e.ReceiptHandle)
						}
						return false
					}) {
						return false
					}
					in.Entries = append(in.Entries, e)
					return true
				})
			}
			return false
		})
		return in, ok && p.end()
	}
	return nil, false
}

// maxEntriesHint sizes entry slices for a full batch.
const maxEntriesHint = 10

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) byte(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// rawStr reads a string of printable ASCII without escapes.
func (p *fastParser) rawStr() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			// The string shares the request body, which nothing writes to
			// after it was read: one allocation per request, not per string.
			s := unsafe.String(unsafe.SliceData(p.b[start:]), p.i-start)
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
		p.i++
	}
	return "", false
}

func (p *fastParser) str(dst *string) bool {
	s, ok := p.rawStr()
	*dst = s
	return ok
}

func (p *fastParser) strPtr(dst **string) bool {
	s, ok := p.rawStr()
	*dst = &s
	return ok
}

// object reads {"key": value, ...}, letting member read each value; keys
// must be distinct (encoding/json keeps the last, the fast path gives up).
func (p *fastParser) object(member func(key string) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	seen := 0
	for {
		key, ok := p.rawStr()
		if !ok || !p.byte(':') {
			return false
		}
		bit := keyBit(key)
		if bit == 0 || seen&bit != 0 || !member(key) {
			return false
		}
		seen |= bit
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

func (p *fastParser) array(elem func() bool) bool {
	if !p.byte('[') {
		return false
	}
	if p.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.byte(']') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// keyBit gives each key the fast path knows a bit, to spot repeats.
func keyBit(key string) int {
	switch key {
	case "QueueUrl":
		return 1
	case "Entries":
		return 2
	case "Id":
		return 4
	case "MessageBody":
		return 8
	case "ReceiptHandle":
		return 16
	case "MessageGroupId":
		return 32
	case "MessageDeduplicationId":
		return 64
	case "DelaySeconds":
		return 128
	}
	return 0
}

func (p *fastParser) sendField(key string, e *SendMessageEntry) bool {
	switch key {
	case "Id":
		return p.str(&e.Id)
	case "MessageBody":
		return p.strPtr(&e.MessageBody)
	case "MessageGroupId":
		return p.strPtr(&e.MessageGroupId)
	case "MessageDeduplicationId":
		return p.strPtr(&e.MessageDeduplicationId)
	case "DelaySeconds":
		return p.smallInt(&e.DelaySeconds)
	}
	return false
}

// smallInt reads a plain non-negative integer of up to 9 digits.
func (p *fastParser) smallInt(dst *OptInt) bool {
	p.ws()
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && p.i-start < 9 {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	if p.i == start || (p.b[start] == '0' && p.i-start > 1) {
		return false
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return false
		}
	}
	*dst = OptInt{Value: n, Set: true}
	return true
}
