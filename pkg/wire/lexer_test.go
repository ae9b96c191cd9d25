package wire

import (
	"encoding/json"
	"testing"
)

// TestValidNumber holds validNumber to encoding/json's grammar over every
// string of up to five bytes drawn from the bytes a number may hold.
func TestValidNumber(t *testing.T) {
	const alphabet = "019-+.eE"
	var b []byte
	var walk func(depth int)
	walk = func(depth int) {
		if len(b) > 0 {
			if got, want := validNumber(b), json.Valid(b); got != want {
				t.Errorf("validNumber(%q) = %v, encoding/json says %v", b, got, want)
			}
		}
		if depth == 0 {
			return
		}
		for i := range len(alphabet) {
			b = append(b, alphabet[i])
			walk(depth - 1)
			b = b[:len(b)-1]
		}
	}
	walk(5)
}
