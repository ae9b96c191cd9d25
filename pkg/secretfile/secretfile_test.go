package secretfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
		wantErr       error
		exposed       bool
	}{
		{"trailing newline", "s3cret\n", 0o600, "s3cret", nil, false},
		{"spaces around", "  \ts3cret \r\n", 0o400, "s3cret", nil, false},
		{"inner space kept", "a b\n", 0o600, "a b", nil, false},
		{"empty", "\n \n", 0o600, "", secretfile.ErrEmpty, false},
		{"group readable", "s3cret", 0o640, "s3cret", nil, true},
		{"world readable", "s3cret", 0o644, "s3cret", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode) // whatever the umask
			got, err := secretfile.Read(path)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("Read = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if mode, exposed := secretfile.Exposed(path); exposed != tt.exposed || mode != tt.mode {
				t.Errorf("Exposed = %v, %v; want %v, %v", mode, exposed, tt.mode, tt.exposed)
			}
		})
	}
	if _, err := secretfile.Read(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	tests := []struct {
		given, path, want string
		err               error
	}{
		{"direct", "", "direct", nil},
		{"", file, "from-file", nil},
		{"", "", "", nil},
		{"direct", file, "", secretfile.ErrBoth},
		{"", filepath.Join(dir, "absent"), "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		got, _, err := secretfile.Resolve(tt.given, tt.path)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", tt.given, tt.path, got, err, tt.want, tt.err)
		}
	}
}
