package apitoken_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/apitoken"
	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
)

// permissive sets the process umask to 0 for the test: what the package
// creates must be private whatever the umask says.
func permissive(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

var hexToken = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestLoadOrCreate(t *testing.T) {
	permissive(t)
	dir := t.TempDir()
	first, err := apitoken.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || !hexToken.MatchString(first.Token) || first.Path != filepath.Join(dir, apitoken.FileName) {
		t.Fatalf("first start: %+v", first)
	}
	fi, err := os.Stat(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || first.Mode != 0o600 {
		t.Errorf("token file mode %04o (reported %04o), want 0600", fi.Mode().Perm(), first.Mode)
	}
	if b, _ := os.ReadFile(first.Path); string(b) != first.Token+"\n" {
		t.Errorf("file holds %q", b)
	}
	again, err := apitoken.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Token != first.Token {
		t.Errorf("second start: %+v, want the first token kept", again)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// An empty file is replaced by a new token.
	os.WriteFile(first.Path, []byte(" \n"), 0o600)
	fresh, err := apitoken.LoadOrCreate(dir)
	if err != nil || !fresh.Created || fresh.Token == first.Token || !hexToken.MatchString(fresh.Token) {
		t.Errorf("after emptying the file: %+v, %v", fresh, err)
	}

	// A file opened to other users is reported as such.
	os.Chmod(first.Path, 0o644)
	if st, err := apitoken.LoadOrCreate(dir); err != nil || st.Mode != 0o644 {
		t.Errorf("mode reported %04o, %v", st.Mode, err)
	}
}

// TestConcurrentFirstStarts: processes racing on one empty state directory
// agree on one token.
func TestConcurrentFirstStarts(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	toks := make([]string, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := apitoken.LoadOrCreate(dir)
			if err != nil {
				t.Error(err)
				return
			}
			toks[i], created[i] = st.Token, st.Created
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if toks[i] != toks[0] {
			t.Fatalf("tokens differ: %q and %q", toks[0], toks[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d callers report creating the file, want 1", winners)
	}
}

func TestKeep(t *testing.T) {
	permissive(t)
	dir := t.TempDir()
	path, err := apitoken.Keep(dir, "given-token")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := secretfile.Read(path); err != nil || tok != "given-token" {
		t.Fatalf("Read = %q, %v", tok, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o", fi.Mode().Perm())
	}
	// A generated token is replaced by the one given later.
	if st, err := apitoken.LoadOrCreate(dir); err != nil || st.Token != "given-token" {
		t.Errorf("LoadOrCreate after Keep = %+v, %v", st, err)
	}
	if _, err := apitoken.Keep(dir, "another"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := secretfile.Read(path); tok != "another" {
		t.Errorf("after a second Keep: %q", tok)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := secretfile.Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n\t \n"), 0o600)
	if _, err := secretfile.Read(empty); !errors.Is(err, secretfile.ErrEmpty) {
		t.Errorf("empty file: %v", err)
	}
	// A state directory whose token file cannot be read is an error, not
	// a reason to make a new token.
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	os.Mkdir(filepath.Join(dir, "state", apitoken.FileName), 0o700)
	if _, err := apitoken.LoadOrCreate(filepath.Join(dir, "state")); err == nil {
		t.Error("LoadOrCreate over a directory named api-token succeeded")
	}
}
