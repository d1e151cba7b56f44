package stacks

import "strconv"

// maxQuoted bounds how much of an untrusted input an error message repeats.
const maxQuoted = 80

// quote renders untrusted input for an error message: Go-quoted, truncated.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

// trim0x removes one optional "0x" or "0X" prefix.
func trim0x(s string) string {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}

// unhex returns the value of one hex digit (either case).
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeHex decodes s (either case) into dst, which must be len(s)/2 long.
// It reports the index of the first bad character, or -1.
func decodeHex(dst []byte, s string) int {
	for i := 0; i+1 < len(s); i += 2 {
		hi, ok := unhex(s[i])
		if !ok {
			return i
		}
		lo, ok := unhex(s[i+1])
		if !ok {
			return i + 1
		}
		dst[i/2] = hi<<4 | lo
	}
	return -1
}
