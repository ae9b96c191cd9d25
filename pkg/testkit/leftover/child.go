package leftover

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// RunKilled is for the test of a kit's reaper. It runs the calling test
// again, alone, in a child process of the same test binary with the
// environment variable env set to 1, waits until the child prints its
// READY line with Ready, kills it with SIGKILL so that none of its cleanups
// run, and returns the fields the child passed to Ready. The test, seeing
// env set, sets up what the kit must reap, calls Ready and sleeps:
//
//	func TestReapAfterKill(t *testing.T) {
//		if os.Getenv("KIT_REAP_CHILD") == "1" {
//			s := kit.New(t)
//			leftover.Ready(t, s.Dir(), s.PID())
//			time.Sleep(time.Minute)
//			return
//		}
//		f := leftover.RunKilled(t, "KIT_REAP_CHILD")
//		// reap, then check that nothing named in f is left
//	}
//
// The child's t.TempDir directories, which its own cleanup would have
// removed, RunKilled removes after the kill. It fails the test when the
// child exits or prints no READY line within two minutes.
func RunKilled(tb testing.TB, env string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parts := strings.Split(tb.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", strings.Join(parts, "/"), "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var lines []string
	var ready []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "READY" {
			ready = f[1:]
			break
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if len(ready) == 0 {
		tb.Fatalf("the child test never got ready (or printed no temp root: use Ready): %v\n%s", sc.Err(), strings.Join(lines, "\n"))
	}
	root := ready[0]
	// The root comes from the child's output: remove nothing but a
	// directory where testing would have made it for this test.
	if !tempRoot(root, tb.Name()) {
		tb.Errorf("the child's temp root %q is not where testing makes one for %s: not removed", root, tb.Name())
	} else if err := os.RemoveAll(root); err != nil {
		tb.Errorf("the child's temp root: %v", err)
	}
	return ready[1:]
}

// Ready is the child's side of RunKilled: it prints the line RunKilled
// waits for, "READY root field…", with the fields formatted as by
// fmt.Println. root is the directory holding the test's t.TempDir
// directories, for RunKilled to remove once it has killed the child.
func Ready(tb testing.TB, fields ...any) {
	tb.Helper()
	root := filepath.Dir(tb.TempDir())
	fmt.Println(append([]any{"READY", root}, fields...)...)
}

// tempRoot reports whether dir can be the root of the t.TempDir
// directories of the test called name. testing makes it in GOTMPDIR, else
// in the system temp dir, named after the test's name cut to 64 bytes with
// unusual characters dropped; a top-level test name, a Go identifier, has
// none.
func tempRoot(dir, name string) bool {
	parent := os.Getenv("GOTMPDIR")
	if parent == "" {
		parent = os.TempDir()
	}
	top, _, _ := strings.Cut(name, "/")
	top = top[:min(len(top), 64)]
	return filepath.Dir(dir) == filepath.Clean(parent) && strings.HasPrefix(filepath.Base(dir), top)
}
