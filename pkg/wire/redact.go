package wire

import "bytes"

// secretWords are the words whose value Redact hides: the hello's token and
// secret, and whatever else calls itself so ("api_token", "Secret").
var secretWords = [][]byte{[]byte("token"), []byte("secret")}

// Redact returns a copy of line in which the value given to every word that
// names a secret is replaced by [redacted], so that the line can go into a
// log. A line is logged when it failed to decode, so Redact does not parse
// JSON: wherever "token" or "secret" appears, in any case, followed (after
// quotes, backslashes and spaces) by ':' or '=', what comes next is hidden —
// a quoted value up to its closing quote or the end of the line, any other up
// to the next ',', '}', '&' or space. Apply it before cutting a line short,
// so that a cut cannot hide a key from it.
func Redact(line []byte) []byte {
	out := make([]byte, 0, len(line))
	lower := asciiLower(line)
	for i := 0; i < len(line); {
		at, n := nextWord(lower, i)
		if at < 0 {
			return append(out, line[i:]...)
		}
		j := at + n
		for j < len(line) && (line[j] == '"' || line[j] == '\\' || line[j] == ' ' || line[j] == '\t') {
			j++
		}
		if j >= len(line) || (line[j] != ':' && line[j] != '=') {
			out = append(out, line[i:at+n]...)
			i = at + n
			continue
		}
		j = skipSpace(line, j+1)
		out = append(out, line[i:j]...)
		i = valueEnd(line, j)
		if j < len(line) && line[j] == '"' {
			out = append(out, `"[redacted]"`...)
		} else {
			out = append(out, "[redacted]"...)
		}
	}
	return out
}

// asciiLower lowers A–Z only, so that every index into the result is an
// index into line. bytes.ToLower would not do: it turns each invalid UTF-8
// byte into U+FFFD, three bytes long, and the indices would run past line.
func asciiLower(line []byte) []byte {
	lower := make([]byte, len(line))
	for i, c := range line {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return lower
}

// nextWord finds the first secret word in lower at or after i.
func nextWord(lower []byte, i int) (at, n int) {
	at = -1
	for _, w := range secretWords {
		if k := bytes.Index(lower[i:], w); k >= 0 && (at < 0 || i+k < at) {
			at, n = i+k, len(w)
		}
	}
	return at, n
}

// valueEnd returns the index just past the value that starts at line[j].
func valueEnd(line []byte, j int) int {
	if j < len(line) && line[j] == '"' {
		for i := j + 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(line)
	}
	for j < len(line) && line[j] != ',' && line[j] != '}' && line[j] != '&' && line[j] != ' ' {
		j++
	}
	return j
}
