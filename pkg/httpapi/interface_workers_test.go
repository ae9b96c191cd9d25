package httpapi

import (
	"net/http"
	"testing"
)

// A missing interface is named, with where to find the ones there are,
// never with the lookup's own words ("route ip+net: no such network
// interface").
func TestNoSuchInterface(t *testing.T) {
	ts := newTestServer(t, openStore(t), func(c *Config) { c.Supervisor = falseSupervisor(t) })
	const want = `no such interface "nosuchif9"; GET /api/ntp/interfaces lists this host's interfaces`
	for _, r := range []response{
		ts.do("POST", "/api/ntp/interfaces/nosuchif9/start", `{"port":123,"timeout":2.0}`),
		ts.do("POST", "/api/ntp/interfaces/nosuchif9/start", nil),
		ts.do("GET", "/api/ntp/interfaces/nosuchif9/status", nil),
	} {
		wantStatus(t, r, http.StatusNotFound)
		e := decode[errorBody](t, r).Error
		if e.Code != CodeNoSuchInterface || e.Message != want {
			t.Errorf("%s %s: error %+v, want code %s and message %q", r.req.Method, r.req.URL, e, CodeNoSuchInterface, want)
		}
	}
	// The interface that does exist on every host is found.
	r := ts.do("GET", "/api/ntp/interfaces/lo/status", nil)
	wantStatus(t, r, http.StatusOK)
}
