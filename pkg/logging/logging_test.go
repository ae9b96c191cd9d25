package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       string
		debugShown    bool
		json          bool
	}{
		{"info", "text", "", false, false},
		{"DEBUG", "json", "", true, true},
		{"warn", "Text", "", false, false},
		{"error", "json", "", false, true},
		{"verbose", "text", "--log-level", false, false},
		{"info+2", "text", "--log-level", false, false},
		{"info", "xml", "--log-format", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, tt.level, tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Error("e", "k", "v")
			out := buf.String()
			// The debug line shows only at level debug.
			lines := strings.Split(strings.TrimSpace(out), "\n")
			wantLines := 1
			if tt.debugShown {
				wantLines = 2
			}
			if len(lines) != wantLines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), wantLines, out)
			}
			last := lines[len(lines)-1]
			if tt.json {
				var v map[string]any
				if err := json.Unmarshal([]byte(last), &v); err != nil || v["msg"] != "e" || v["k"] != "v" {
					t.Errorf("json line %q: %v", last, err)
				}
			} else if !strings.Contains(last, "msg=e k=v") {
				t.Errorf("text line %q", last)
			}
		})
	}
}
