package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The build TestMain makes is stamped as make build stamps one, with these.
const (
	stampVersion = "v9.8.7-test"
	stampCommit  = "c0ffee0123456789abcdef0123456789abcdef01-dirty"
	stampDate    = "2026-12-01T00:00:00Z"
	stampFlags   = "-X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.version=" + stampVersion +
		" -X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.commit=" + stampCommit +
		" -X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.date=" + stampDate
)

func TestVersion(t *testing.T) {
	want := fmt.Sprintf("ntp-collector version %s (commit %s, built %s, %s %s/%s)\n",
		stampVersion, stampCommit, stampDate, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, arg := range []string{"--version", "-v"} {
		out, errOut, code := cli(t, nil, arg)
		if code != 0 || errOut != "" || out != want {
			t.Errorf("ntp-collector %s: exit %d, stdout %q, stderr %q; want stdout %q", arg, code, out, errOut, want)
		}
	}
}

// A word that is not a command is named as such, with the commands there
// are; no word at all shows the help.
func TestUnknownCommand(t *testing.T) {
	for _, word := range []string{"serv", "start"} {
		out, errOut, code := cli(t, nil, word, "--db", "x.db")
		want := `ntp-collector: unknown command "` + word + `"; the commands are serve, clients, top (ntp-collector --help describes them)` + "\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("ntp-collector %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", word, code, out, errOut, want)
		}
	}
	out, errOut, code := cli(t, nil)
	if code != 0 || errOut != "" || !strings.Contains(out, "COMMANDS:") || !strings.Contains(out, "serve") {
		t.Errorf("ntp-collector alone: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// A running collector reports the same build in /health and as
// ntp_build_info.
func TestBuildInfoServed(t *testing.T) {
	httpAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	serve(t, filepath.Join(t.TempDir(), "ntp.db"), freePort(t), "--http-listen", httpAddr)
	get := func(path string) []byte {
		t.Helper()
		hc := &http.Client{Timeout: 10 * time.Second}
		// The HTTP API listens before ingestion does, so /health may
		// answer 503 for a moment: wait for a 200.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			res, err := hc.Get("http://" + httpAddr + path)
			if err != nil {
				if time.Now().After(deadline) {
					t.Fatal(err)
				}
				continue
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil && res.StatusCode == http.StatusOK {
				return b
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %s, %v: %s", path, res.Status, err, b)
			}
		}
	}
	var health struct {
		Build map[string]string `json:"build"`
	}
	if err := json.Unmarshal(get("/health"), &health); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": stampVersion, "commit": stampCommit, "date": stampDate,
		"go_version": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
	if fmt.Sprint(health.Build) != fmt.Sprint(want) {
		t.Errorf("/health build %v, want %v", health.Build, want)
	}
	line := fmt.Sprintf(`ntp_build_info{commit=%q,goversion=%q,version=%q} 1`+"\n", stampCommit, runtime.Version(), stampVersion)
	if m := get("/metrics"); !strings.Contains(string(m), line) {
		t.Errorf("/metrics lacks %q", line)
	}
}
