package wire

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A lexer reads the flat JSON objects that every line of the protocol is:
// keys with string, number, boolean or null values, no nesting. It checks
// the JSON grammar and hands each member on raw, so that the decoder can map
// it onto a field without building any value it does not keep. It knows
// nothing of the protocol's messages.
type lexer struct {
	// scratch holds the last string value that had escapes, unescaped.
	scratch []byte
}

// value kinds of the flat objects the protocol uses.
const (
	kindNull = iota
	kindString
	kindNumber
	kindTrue
	kindFalse
)

// scan walks a flat JSON object, calling fn for each member with the raw
// (unescaped) string contents or the number literal. Nested objects and arrays
// are rejected: no message of the protocol has them.
func (lx *lexer) scan(line []byte, fn func(key []byte, kind int, val []byte) error) error {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrSyntax)
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return trailing(line, i+1)
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return fmt.Errorf("%w: expected a key at byte %d", ErrSyntax, i)
		}
		key, next, err := lx.readString(line, i, false)
		if err != nil {
			return err
		}
		i = skipSpace(line, next)
		if i >= len(line) || line[i] != ':' {
			return fmt.Errorf("%w: expected ':' at byte %d", ErrSyntax, i)
		}
		i = skipSpace(line, i+1)
		if i >= len(line) {
			return fmt.Errorf("%w: unexpected end of line", ErrSyntax)
		}
		var kind int
		var val []byte
		switch c := line[i]; {
		case c == '"':
			kind = kindString
			val, i, err = lx.readString(line, i, true)
			if err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			kind = kindNumber
			j := i
			for j < len(line) && isNumberByte(line[j]) {
				j++
			}
			val, i = line[i:j], j
			if !validNumber(val) {
				return fmt.Errorf("%w: bad number %q", ErrSyntax, val)
			}
		case hasPrefix(line[i:], "null"):
			kind, i = kindNull, i+4
		case hasPrefix(line[i:], "true"):
			kind, i = kindTrue, i+4
		case hasPrefix(line[i:], "false"):
			kind, i = kindFalse, i+5
		case c == '{' || c == '[':
			return &FieldError{string(key), "nested values are not part of the protocol"}
		default:
			return fmt.Errorf("%w: unexpected %q at byte %d", ErrSyntax, c, i)
		}
		if err := fn(key, kind, val); err != nil {
			return err
		}
		i = skipSpace(line, i)
		if i >= len(line) {
			return fmt.Errorf("%w: unexpected end of line", ErrSyntax)
		}
		switch line[i] {
		case ',':
			i = skipSpace(line, i+1)
		case '}':
			return trailing(line, i+1)
		default:
			return fmt.Errorf("%w: expected ',' or '}' at byte %d", ErrSyntax, i)
		}
	}
}

func trailing(line []byte, i int) error {
	if skipSpace(line, i) != len(line) {
		return fmt.Errorf("%w: data after the object", ErrSyntax)
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// validNumber checks the JSON number grammar, which is stricter than strconv.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		i = skipDigits(b, i)
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
}

// skipDigits returns the index after the digits that start at b[i].
func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// readString reads the string starting at line[i] == '"'. Without escapes the
// result aliases line; with them it is decoded into the lexer's scratch
// buffer (valid until the next string with escapes). Keys are never expected
// to carry escapes, so escaped keys are decoded the same way but into a
// separate copy.
func (lx *lexer) readString(line []byte, i int, isValue bool) ([]byte, int, error) {
	i++
	start := i
	for i < len(line) {
		c := line[i]
		if c == '"' {
			return line[start:i], i + 1, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, 0, fmt.Errorf("%w: control character in string", ErrSyntax)
		}
		i++
	}
	if i >= len(line) {
		return nil, 0, fmt.Errorf("%w: unterminated string", ErrSyntax)
	}
	var out []byte
	if isValue {
		out = append(lx.scratch[:0], line[start:i]...)
	} else {
		out = append([]byte(nil), line[start:i]...)
	}
	for i < len(line) {
		c := line[i]
		switch {
		case c == '"':
			if isValue {
				lx.scratch = out
			}
			return out, i + 1, nil
		case c < 0x20:
			return nil, 0, fmt.Errorf("%w: control character in string", ErrSyntax)
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(line) {
			break
		}
		switch e := line[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := readEscapedRune(line[i:])
			if !ok {
				return nil, 0, fmt.Errorf("%w: bad \\u escape", ErrSyntax)
			}
			out = utf8.AppendRune(out, r)
			i += n
			continue
		default:
			return nil, 0, fmt.Errorf("%w: bad escape \\%c", ErrSyntax, e)
		}
		i += 2
	}
	return nil, 0, fmt.Errorf("%w: unterminated string", ErrSyntax)
}

// readEscapedRune decodes \uXXXX, and a following low surrogate when the
// first is a high one; it returns the rune and the bytes consumed.
func readEscapedRune(b []byte) (rune, int, bool) {
	r1, ok := hex4(b)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r1) {
		if r2, ok := hex4(b[6:]); ok && len(b) >= 12 {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	return r1, 6, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
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
	return r, true
}
