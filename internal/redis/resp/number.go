package resp

import "math"

// ParseInt parses a decimal integer with the strictness of Redis' string2ll:
// an optional '-', no '+', no leading zeros, no spaces, no overflow. Redis
// parses both the "*N"/"$N" headers and numeric command arguments (COUNT,
// BLOCK, MAXLEN, ...) this way, so a request or argument Redis rejects is
// rejected here too, with the same error.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	negative := false
	if len(b) > 0 && b[0] == '-' {
		negative = true
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var magnitude uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if magnitude > (math.MaxUint64-9)/10 {
			return 0, false
		}
		magnitude = magnitude*10 + uint64(c-'0')
	}
	if negative {
		if magnitude > uint64(math.MaxInt64)+1 {
			return 0, false
		}
		return int64(-magnitude), true
	}
	if magnitude > math.MaxInt64 {
		return 0, false
	}
	return int64(magnitude), true
}
