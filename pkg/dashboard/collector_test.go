package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// binDir holds the binaries built for this test run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds ntp-collector and ntp-worker from the tree, once.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "dashboard-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	for pkg, cgo := range map[string]string{"ntp-collector": "0", "ntp-worker": "1"} {
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", filepath.Join(dir, pkg), "../../cmd/"+pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir, nil
})

// collector is a real ntp-collector process with the page, its database
// and worker files in a temp directory, its HTTP API on a loopback port.
type collector struct {
	url   string // http://127.0.0.1:port/
	token string
	dir   string
	cmd   *exec.Cmd
	out   *syncbuf.Buffer
}

func startCollector(t *testing.T, token string) *collector {
	t.Helper()
	bin, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{dir: t.TempDir(), token: token, out: &syncbuf.Buffer{}}
	// Port 0 twice: the collector binds free ports, tells its workers the
	// ingestion one and logs the HTTP one.
	c.cmd = exec.Command(filepath.Join(bin, "ntp-collector"), "serve",
		"--db", filepath.Join(c.dir, "ntp.db"),
		"--http-listen", "127.0.0.1:0",
		"--ingestion-port", "0",
		"--worker-bin", filepath.Join(bin, "ntp-worker"),
		"--pid-dir", filepath.Join(c.dir, "run"),
		"--log-dir", filepath.Join(c.dir, "log"),
		"--batch-interval", "200ms")
	c.cmd.Env = append(os.Environ(), "NTP_API_TOKEN="+token)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// SIGTERM stops the workers it started, then the collector.
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", c.out.String())
		}
	})
	listening := regexp.MustCompile(`msg="http api listening" addr=(\S+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := listening.FindStringSubmatch(c.out.String()); m != nil {
			c.url = "http://" + m[1] + "/"
			if res, err := http.Get(c.url + "health"); err == nil {
				res.Body.Close()
				return c
			}
		}
		select {
		case <-done:
			t.Fatalf("ntp-collector exited:\n%s", c.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ntp-collector does not answer on %s:\n%s", c.url, c.out.String())
		}
	}
}

// api asks the collector as a script would, with the token, and decodes
// the JSON answer into out.
func (c *collector) api(ctx context.Context, method, path string, out any) (int, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte("{}"))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, b)
		}
	}
	return res.StatusCode, nil
}

// has reports whether the collector serves path (a route of a later
// issue, say) rather than answering that there is no such endpoint.
// Only the status is read: the stream's body never ends.
func (c *collector) has(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode != http.StatusNotFound
}
