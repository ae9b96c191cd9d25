package wire

import (
	"bytes"
	"errors"
	"testing"
)

// snaplen_cut is optional: written only when true, so that a session line
// of a whole capture is byte for byte what older workers write; read as
// false when absent or null, so that an older worker's lines decode as
// before; and anything but a boolean is refused. The Encoder writes it
// exactly as AppendSession does.
func TestSnaplenCutOptional(t *testing.T) {
	whole := sampleSession()
	cut := sampleSession()
	cut.SnaplenCut = true
	wholeLine := AppendSession(nil, 7, &whole)
	cutLine := AppendSession(nil, 7, &cut)
	if bytes.Contains(wholeLine, []byte("snaplen_cut")) {
		t.Errorf("a whole session's line carries snaplen_cut: %s", wholeLine)
	}
	if !bytes.Contains(cutLine, []byte(`,"snaplen_cut":true}`)) {
		t.Errorf("a cut session's line lacks snaplen_cut: %s", cutLine)
	}
	var enc Encoder
	for _, s := range []*struct {
		line []byte
		cut  bool
	}{{wholeLine, false}, {cutLine, true}, {wholeLine, false}} {
		src := &whole
		if s.cut {
			src = &cut
		}
		if got := enc.AppendSession(nil, 7, src); !bytes.Equal(got, s.line) {
			t.Errorf("Encoder wrote\n%s\nAppendSession\n%s", got, s.line)
		}
	}

	body := wholeLine[:len(wholeLine)-2] // without "}\n"
	tests := []struct {
		name string
		line []byte
		want bool
		err  bool
	}{
		{"absent (an older worker)", wholeLine, false, false},
		{"true", cutLine, true, false},
		{"false", append(bytes.Clone(body), `,"snaplen_cut":false}`...), false, false},
		{"null", append(bytes.Clone(body), `,"snaplen_cut":null}`...), false, false},
		{"first key after type", bytes.Replace(wholeLine, []byte(`"seq":7,`), []byte(`"snaplen_cut":true,"seq":7,`), 1), true, false},
		{"a number", append(bytes.Clone(body), `,"snaplen_cut":1}`...), false, true},
		{"a string", append(bytes.Clone(body), `,"snaplen_cut":"true"}`...), false, true},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			m.Session.SnaplenCut = !tt.want // a reused Message must not leak the last value
			err := d.Decode(tt.line, &m)
			if tt.err {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "snaplen_cut" {
					t.Fatalf("Decode(%s) = %v, want a snaplen_cut FieldError", tt.line, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.line, err)
			}
			if m.Session.SnaplenCut != tt.want {
				t.Errorf("SnaplenCut %v, want %v", m.Session.SnaplenCut, tt.want)
			}
		})
	}
}
