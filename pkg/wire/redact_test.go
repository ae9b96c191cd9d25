package wire

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const tok = "s3cret-T0ken"
	tests := []struct {
		name, line, want string
	}{
		{"hello", `{"type":"hello","protocol":1,"worker_id":"w1","interface":"eth0","token":"s3cret-T0ken","secret":"abcd"}`,
			`{"type":"hello","protocol":1,"worker_id":"w1","interface":"eth0","token":"[redacted]","secret":"[redacted]"}`},
		{"spaces and escapes in the value", `{ "token" : "s3cret-\"T0ken\\" , "x":1}`, `{ "token" : "[redacted]" , "x":1}`},
		{"cut inside the value", `{"type":"hello","token":"s3cret-T0`, `{"type":"hello","token":"[redacted]"`},
		{"cut after the colon", `{"type":"hello","token":`, `{"type":"hello","token":[redacted]`},
		{"not a string", `{"token":12345678,"type":"hello"}`, `{"token":[redacted],"type":"hello"}`},
		{"other spellings", `{"Token":"a","api_token":"b","SECRET":"c"}`, `{"Token":"[redacted]","api_token":"[redacted]","SECRET":"[redacted]"}`},
		{"broken quotes", `{""token":"s3cret-T0ken"}`, `{""token":"[redacted]"}`},
		{"escaped quotes", `{\"token\": \"s3cret-T0ken\"}`, `{\"token\": [redacted]}`},
		{"a value that says token", `{"type":"token","message":"token"}`, `{"type":"token","message":"token"}`},
		{"a query string", `GET /?token=s3cret-T0ken&x=1 HTTP/1.1`, `GET /?token=[redacted]&x=1 HTTP/1.1`},
		{"no secrets", `{"type":"ack","seq":7}`, `{"type":"ack","seq":7}`},
		{"lone quote", `{"a":"b"} "`, `{"a":"b"} "`},
		// Invalid UTF-8 before the key: the index of "token" must stay an
		// index into the line (a lowering that rewrites bad bytes as U+FFFD
		// moved it past the end and crashed the reader that logs the line).
		{"invalid UTF-8 before the key", "\xfa\xa6\x91{\"token\":\"s3cret-T0ken\"}", "\xfa\xa6\x91{\"token\":\"[redacted]\"}"},
		{"invalid UTF-8 in the value", "{\"TOKEN\":\"s3cret-T0\xc8ken\"}\xe7", "{\"TOKEN\":\"[redacted]\"}\xe7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Redact([]byte(tt.line)))
			if got != tt.want {
				t.Errorf("Redact(%s)\n got %s\nwant %s", tt.line, got, tt.want)
			}
			if strings.Contains(tt.line, "T0") && strings.Contains(got, "T0") {
				t.Errorf("the token is still in %s", got)
			}
		})
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte(`{"type":"hello","token":"abc"}`))
	f.Add([]byte(`{"token":"a\"b`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got := Redact(line)
		// Whatever the line, a value given to "token" never survives.
		if strings.Contains(string(got), `token":"zz`) || strings.Contains(string(got), `token=zz`) {
			t.Fatalf("Redact(%q) = %q", line, got)
		}
	})
}
