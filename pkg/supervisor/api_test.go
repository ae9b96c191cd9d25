package supervisor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/supervisor"
)

// The HTTP API drives the supervisor through its own interface.
var _ httpapi.Supervisor = (*supervisor.Supervisor)(nil)

const apiToken = "api-token"

type apiClient struct {
	t   *testing.T
	url string
}

// do sends a request with the API token and decodes a JSON answer into out
// (when not nil); it returns the status code.
func (c apiClient) do(method, path, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if body != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 {
		c.t.Logf("%.80s %.80s → %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func newAPI(t *testing.T, sup *supervisor.Supervisor, st *store.Store) apiClient {
	t.Helper()
	api, err := httpapi.New(httpapi.Config{Store: st, Supervisor: sup, Token: apiToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return apiClient{t, srv.URL}
}

// TestHTTPStartStatusStop drives a worker process through the HTTP API.
func TestHTTPStartStatusStop(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "ntp.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	iface := supervisor.ForTestInterface(t)
	sup := supervisor.ForTestNew(t, supervisor.ForTestConfig(t, dir, supervisor.ForTestStandin(t, dir), st))
	c := newAPI(t, sup, st)
	base := "/api/ntp/interfaces/" + iface

	var started supervisor.Status
	if code := c.do("POST", base+"/start", `{"port":1123,"timeout":2.5}`, &started); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	if started.PID == 0 || started.Options.Port != 1123 || !strings.Contains(strings.Join(started.Argv, " "), "--timeout=2.5") {
		t.Fatalf("start answered %+v", started)
	}
	if code := c.do("POST", base+"/start", "", nil); code != http.StatusConflict {
		t.Errorf("second start: %d, want 409", code)
	}
	var list struct{ Data []supervisor.InterfaceInfo }
	if code := c.do("GET", "/api/ntp/interfaces", "", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	var listed bool
	for _, i := range list.Data {
		if i.Name == iface {
			listed = i.PID == started.PID && i.Monitoring.Active()
		}
	}
	if !listed {
		t.Errorf("%s not listed as monitored: %+v", iface, list.Data)
	}

	// Killed with SIGKILL, the worker comes back under a new PID.
	supervisor.ForTestKill(started.PID)
	var status supervisor.Status
	supervisor.ForTestWaitFor(t, "a restarted worker", func() bool {
		return c.do("GET", base+"/status", "", &status) == http.StatusOK &&
			status.PID != 0 && status.PID != started.PID && status.State == supervisor.StateRunning
	})
	if status.Restarts != 1 || status.LastExit == nil || status.LastExit.Signal != "killed" {
		t.Errorf("status after SIGKILL: %+v", status)
	}

	var stopped supervisor.Status
	if code := c.do("POST", base+"/stop", "", &stopped); code != http.StatusOK {
		t.Fatalf("stop: %d", code)
	}
	if stopped.State != supervisor.StateStopped || supervisor.ForTestAlive(status.PID) {
		t.Errorf("after stop: %+v", stopped)
	}
	if code := c.do("POST", base+"/stop", "", nil); code != http.StatusNotFound {
		t.Errorf("second stop: %d, want 404", code)
	}

	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/api/ntp/interfaces/eth0;rm/start", "", http.StatusBadRequest},
		{"/api/ntp/interfaces/" + strings.Repeat("x", 200) + "/start", "", http.StatusBadRequest},
		{"/api/ntp/interfaces/nosuch0x9/start", "", http.StatusNotFound},
		{base + "/start", `{"port":70000}`, http.StatusBadRequest},
		{base + "/start", `{"timeout":-1}`, http.StatusBadRequest},
	} {
		if code := c.do("POST", tc.path, tc.body, nil); code != tc.want {
			t.Errorf("POST %.60s %s: %d, want %d", tc.path, tc.body, code, tc.want)
		}
	}
	// "../../x" cannot reach the handler as a path segment (the URL is
	// cleaned or the escaped slash splits the route); whatever answers, it
	// must not start anything.
	if code := c.do("POST", "/api/ntp/interfaces/..%2F..%2Fx/start", "", nil); code < 400 {
		t.Errorf("../../x: %d", code)
	}
	if code := c.do("GET", base+"/status", "", &status); code != http.StatusOK || status.State != supervisor.StateStopped {
		t.Errorf("status after refused requests: %d %+v", code, status)
	}
}
