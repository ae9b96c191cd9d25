package leftover

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// RunKilled is for the test of a kit's reaper. It runs the calling test
// again, alone, in a child process of the same test binary with the
// environment variable env set to 1, waits until the child prints a line
// "READY field…", kills it with SIGKILL so that none of its cleanups run,
// and returns the fields. The test, seeing env set, sets up what the kit
// must reap, prints the line and sleeps:
//
//	func TestReapAfterKill(t *testing.T) {
//		if os.Getenv("KIT_REAP_CHILD") == "1" {
//			s := kit.New(t)
//			fmt.Printf("READY %s %d\n", s.Dir(), s.PID())
//			time.Sleep(time.Minute)
//			return
//		}
//		f := leftover.RunKilled(t, "KIT_REAP_CHILD")
//		// reap, then check that nothing named in f is left
//	}
//
// It fails the test when the child exits or prints no such line within two
// minutes.
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
	if ready == nil {
		tb.Fatalf("the child test never got ready: %v\n%s", sc.Err(), strings.Join(lines, "\n"))
	}
	return ready
}
