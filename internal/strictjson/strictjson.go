// Package strictjson checks that a JSON text means one thing to every reader.
// encoding/json lets the last of two equal keys win, decodes invalid UTF-8 to
// U+FFFD and reads "\u0061" as "a"; a wallet shows the user the raw text. A
// signed message that passes Check has no duplicate key at any depth, no
// \u escape of a printable ASCII character, valid UTF-8 and paired
// surrogates, so what the user saw is what the gateway acts on.
package strictjson

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Reason says why a text was refused.
type Reason int

const (
	Syntax       Reason = iota + 1 // not JSON (RFC 8259), or not exactly one object
	DuplicateKey                   // an object repeats a key (compared after unescaping)
	EscapedASCII                   // a \u escape of a printable ASCII character (0x20–0x7E)
	InvalidUTF8                    // invalid UTF-8, or an unpaired surrogate escape
	TooDeep                        // nesting deeper than MaxDepth
	TrailingData                   // something after the object
)

// MaxDepth bounds nesting; a signed message needs two or three levels.
const MaxDepth = 32

// Error is a refused text: why, where (byte offset) and, for a duplicate,
// which key (unescaped) at which path ("$", "$.a", "$.a[2]").
type Error struct {
	Reason Reason
	Offset int
	Key    string
	Path   string
}

func (e *Error) Error() string {
	switch e.Reason {
	case DuplicateKey:
		return fmt.Sprintf("duplicate key %q in %s at byte %d", e.Key, e.Path, e.Offset)
	case EscapedASCII:
		return fmt.Sprintf("\\u escape of a printable ASCII character at byte %d", e.Offset)
	case InvalidUTF8:
		return fmt.Sprintf("invalid UTF-8 or unpaired surrogate at byte %d", e.Offset)
	case TooDeep:
		return fmt.Sprintf("nesting deeper than %d at byte %d", MaxDepth, e.Offset)
	case TrailingData:
		return fmt.Sprintf("data after the object at byte %d", e.Offset)
	}
	return fmt.Sprintf("invalid JSON at byte %d", e.Offset)
}

// CheckObject reports whether b is exactly one JSON object (surrounding
// whitespace allowed) that obeys the package's rules; nil when it does.
func CheckObject(b []byte) *Error { return CheckObjectMembers(b, nil) }

// CheckObjectMembers is CheckObject that also hands each member of the
// outer object to member (nil: none): its key (unescaped) and its value's
// raw text, a slice of b. The members of a refused text may have been
// handed out.
func CheckObjectMembers(b []byte, member func(key string, raw []byte)) *Error {
	s := scanner{b: b, member: member}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' {
		return s.fail(Syntax)
	}
	if err := s.value(0); err != nil {
		return err
	}
	s.space()
	if s.i != len(b) {
		return s.fail(TrailingData)
	}
	return nil
}

type scanner struct {
	b      []byte
	i      int
	path   []step                       // where s.i is; rendered only for an error (pathString)
	member func(key string, raw []byte) // CheckObjectMembers; nil: none
}

// step is one level of the path: an object member's key, or an array index.
type step struct {
	key   string
	index int // -1 for an object member
}

// pathString renders the path as "$", "$.a" or "$.a[2]".
func (s *scanner) pathString() string {
	b := []byte("$")
	for _, st := range s.path {
		if st.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(st.index), 10)
			b = append(b, ']')
		} else {
			b = append(b, '.')
			b = append(b, st.key...)
		}
	}
	return string(b)
}

func (s *scanner) fail(r Reason) *Error { return &Error{Reason: r, Offset: s.i} }

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) *Error {
	if s.i >= len(s.b) {
		return s.fail(Syntax)
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail(Syntax)
}

func (s *scanner) object(depth int) *Error {
	if depth > MaxDepth {
		return s.fail(TooDeep)
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	seen := map[string]bool{}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail(Syntax)
		}
		at := s.i
		key, err := s.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return &Error{Reason: DuplicateKey, Offset: at, Key: key, Path: s.pathString()}
		}
		seen[key] = true
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail(Syntax)
		}
		s.i++
		s.space()
		s.path = append(s.path, step{key: key, index: -1})
		start := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if depth == 1 && s.member != nil {
			s.member(key, s.b[start:s.i])
		}
		s.path = s.path[:len(s.path)-1]
		if more, err := s.separator('}'); !more {
			return err
		}
	}
}

func (s *scanner) array(depth int) *Error {
	if depth > MaxDepth {
		return s.fail(TooDeep)
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	s.path = append(s.path, step{})
	top := len(s.path) - 1
	for n := 0; ; n++ {
		s.path[top].index = n
		if err := s.value(depth); err != nil {
			return err
		}
		if more, err := s.separator(']'); !more {
			s.path = s.path[:top]
			return err
		}
	}
}

// separator reads what follows a member or element: a comma (more is true)
// or the closing bracket (more is false, err nil); anything else is an error.
func (s *scanner) separator(closing byte) (more bool, err *Error) {
	s.space()
	switch {
	case s.i < len(s.b) && s.b[s.i] == ',':
		s.i++
		s.space()
		return true, nil
	case s.i < len(s.b) && s.b[s.i] == closing:
		s.i++
		return false, nil
	}
	return false, s.fail(Syntax)
}

// str reads a string at s.i (on its opening quote) and returns its value.
func (s *scanner) str() (string, *Error) {
	s.i++ // "
	var out []byte
	for {
		if s.i >= len(s.b) {
			return "", s.fail(Syntax)
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out), nil
		case c < 0x20:
			return "", s.fail(Syntax)
		case c == '\\':
			r, err := s.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				return "", s.fail(InvalidUTF8)
			}
			out = append(out, s.b[s.i:s.i+size]...)
			s.i += size
		}
	}
}

// escape reads one escape sequence at s.i (on its backslash). The short
// escapes (\" \\ \/ \b \f \n \r \t) are JSON's only way to write those
// characters or are unambiguous; a \u escape must name a character that is
// not printable ASCII, and surrogates must come in pairs.
func (s *scanner) escape() (rune, *Error) {
	at := s.i
	if s.i+1 >= len(s.b) {
		return 0, s.fail(Syntax)
	}
	s.i += 2
	switch s.b[at+1] {
	case '"':
		return '"', nil
	case '\\':
		return '\\', nil
	case '/':
		return '/', nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
	default:
		s.i = at
		return 0, s.fail(Syntax)
	}
	r, ok := s.hex4()
	if !ok {
		s.i = at
		return 0, s.fail(Syntax)
	}
	switch {
	case r >= 0x20 && r <= 0x7E:
		return 0, &Error{Reason: EscapedASCII, Offset: at}
	case utf16.IsSurrogate(r):
		if r >= 0xDC00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
			return 0, &Error{Reason: InvalidUTF8, Offset: at}
		}
		s.i += 2
		lo, ok := s.hex4()
		if !ok {
			s.i = at
			return 0, s.fail(Syntax)
		}
		pair := utf16.DecodeRune(r, lo)
		if pair == utf8.RuneError {
			return 0, &Error{Reason: InvalidUTF8, Offset: at}
		}
		return pair, nil
	}
	return r, nil
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// number reads an RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() *Error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return s.fail(Syntax)
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail(Syntax)
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail(Syntax)
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

func (s *scanner) literal(word string) *Error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail(Syntax)
	}
	s.i += len(word)
	return nil
}
