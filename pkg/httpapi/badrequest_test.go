package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

type badRequestCase struct {
	Name        string `json:"name"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	Body        string `json:"body"`
	BodyRepeat  int    `json:"body_repeat"`  // a body of this many spaces inside {}
	ContentType string `json:"content_type"` // default application/json; "none" sends no Content-Type
	// Auth is the token presented: the admin token unless "read", "wrong"
	// or "none".
	Auth    string            `json:"auth"`
	Host    string            `json:"host"` // default the listen address
	Headers map[string]string `json:"headers"`
	Status  int               `json:"status"`
	Code    string            `json:"code"`
	Field   string            `json:"field"`
}

func TestBadRequests(t *testing.T) {
	raw, err := os.ReadFile("testdata/bad_requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []badRequestCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	fixture(t, st)
	const admin, read = "admin-token", "read-token"
	ts := newTestServer(t, st, func(c *Config) { c.Token, c.ReadToken = admin, read })
	tokens := map[string]string{"": admin, "read": read, "wrong": "not-a-token", "none": ""}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			body := tc.Body
			if tc.BodyRepeat > 0 {
				body = "{" + strings.Repeat(" ", tc.BodyRepeat) + "}"
			}
			req := httptest.NewRequest(tc.Method, tc.Path, strings.NewReader(body))
			req.Host = testHost
			if tc.Host != "" {
				req.Host = tc.Host
			}
			switch ct := tc.ContentType; ct {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "none":
			default:
				req.Header.Set("Content-Type", ct)
			}
			tok, ok := tokens[tc.Auth]
			if !ok {
				t.Fatalf("auth %q: want read, wrong or none", tc.Auth)
			}
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			for k, v := range tc.Headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			ts.h.ServeHTTP(w, req)
			if w.Code != tc.Status {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tc.Status, w.Body.String())
			}
			var eb struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Field   string `json:"field"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, w.Body.String())
			}
			if eb.Error.Code != tc.Code || eb.Error.Message == "" {
				t.Errorf("error %+v, want code %q", eb.Error, tc.Code)
			}
			if eb.Error.Field != tc.Field {
				t.Errorf("field %q, want %q (message %q)", eb.Error.Field, tc.Field, eb.Error.Message)
			}
			if tc.Field != "" && !strings.Contains(eb.Error.Message, tc.Field) {
				t.Errorf("message %q does not name %q", eb.Error.Message, tc.Field)
			}
		})
	}
	// Nothing was deleted by any of them.
	n, err := st.CountClients(t.Context(), storeFilterAll)
	if err != nil || n != 51 {
		t.Errorf("after bad requests: %d clients, %v", n, err)
	}
}
