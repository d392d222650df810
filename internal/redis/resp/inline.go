package resp

import "bytes"

// splitInline splits an inline request line into arguments with the rules of
// Redis' sdssplitargs, so that redis-cli-style and telnet input means the
// same thing here as on redis-server:
//
//   - arguments are separated by spaces, tabs, CR or LF;
//   - "double quotes" allow \n \r \t \b \a, \xHH and \<any char> escapes;
//   - 'single quotes' allow only \' as an escape;
//   - a closing quote must be followed by whitespace or the end of the line;
//   - a NUL byte ends the line, because Redis parses it as a C string.
//
// Unquoted bytes are written back over line, which is safe because an
// argument is never longer than its quoted spelling, and the argument spans
// are recorded relative to the start of line.
func (r *Reader) splitInline(line []byte) error {
	if nul := bytes.IndexByte(line, 0); nul >= 0 {
		line = line[:nul]
	}
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	read, write := 0, 0
	for {
		for read < len(line) && isCSpace(line[read]) {
			read++
		}
		if read == len(line) {
			return nil
		}
		argStart := write
		var quote byte // the open quote, '"' or '\'', or 0 outside quotes
		for done := false; !done; read++ {
			c := at(read)
			switch {
			case quote == 0:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"', '\'':
					quote = c
				default:
					line[write] = c
					write++
				}
			case c == quote:
				if next := at(read + 1); next != 0 && !isCSpace(next) {
					return protocolError(ErrUnbalancedQuotes)
				}
				done = true
			case c == 0:
				return protocolError(ErrUnbalancedQuotes)
			case quote == '"' && c == '\\' && at(read+1) == 'x' && isHex(at(read+2)) && isHex(at(read+3)):
				line[write] = unhex(at(read+2))<<4 | unhex(at(read+3))
				write++
				read += 3
			// A backslash escapes the closing quote in either kind of quotes,
			// and any byte in double quotes.
			case c == '\\' && (at(read+1) == quote || quote == '"' && at(read+1) != 0):
				read++
				line[write] = unescape(line[read])
				write++
			default:
				line[write] = c
				write++
			}
		}
		// The loop's read++ stepped past the byte that ended the argument;
		// at the end of the line that overshoots by one.
		read = min(read, len(line))
		r.spans = append(r.spans, span{off: argStart, len: write - argStart})
	}
}

// isCSpace is C's isspace in the "C" locale, which sdssplitargs uses to skip
// separators and to check what follows a closing quote.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	default:
		return c
	}
}
