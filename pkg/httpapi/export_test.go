package httpapi

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExportFormats(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	const total = 51 // more rows than one default page (20)

	t.Run("ndjson", func(t *testing.T) {
		r := ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "ndjson"})
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header().Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header().Get("Content-Disposition"); cd != `attachment; filename="ntp-clients-20261125T130000Z.ndjson"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		sc := bufio.NewScanner(r.Body)
		n := 0
		ids := map[float64]bool{}
		for sc.Scan() {
			var row map[string]any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("line %d: %v: %s", n+1, err, sc.Text())
			}
			ids[row["id"].(float64)] = true
			n++
		}
		if n != total || len(ids) != total {
			t.Errorf("%d lines, %d distinct ids; want %d", n, len(ids), total)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "json",
			"filters": map[string]any{"interface_names": []string{"bulk"}}})
		wantStatus(t, r, http.StatusOK)
		var rows []map[string]any
		if err := json.Unmarshal(r.Body.Bytes(), &rows); err != nil {
			t.Fatalf("not a JSON array: %v", err)
		}
		if len(rows) != 45 {
			t.Errorf("%d rows, want 45", len(rows))
		}
		// Filtered to nothing is still a valid, empty array.
		r = ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "json",
			"filters": map[string]any{"interface_names": []string{"none"}}})
		if err := json.Unmarshal(r.Body.Bytes(), &rows); err != nil || len(rows) != 0 {
			t.Errorf("empty export: %v %d rows: %q", err, len(rows), r.Body.String())
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "csv"})
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		recs, err := csv.NewReader(bytes.NewReader(r.Body.Bytes())).ReadAll()
		if err != nil {
			t.Fatalf("CSV does not parse: %v", err)
		}
		if len(recs) != total+1 {
			t.Fatalf("%d records, want header + %d", len(recs), total)
		}
		hdr := recs[0]
		col := slices.Index(hdr, "interface_name")
		ipCol := slices.Index(hdr, "client_ip")
		kodCol := slices.Index(hdr, "last_kod_code")
		if col < 0 || ipCol < 0 || kodCol < 0 || len(hdr) != len(clientColumns) {
			t.Fatalf("header %v", hdr)
		}
		found := false
		for _, rec := range recs[1:] {
			if rec[col] == weirdIface {
				found = true
				if rec[ipCol] != "2001:db8::1" {
					t.Errorf("weird row ip %q", rec[ipCol])
				}
			}
			if rec[ipCol] == "198.51.100.7" && rec[kodCol] != "RATE" {
				t.Errorf("kod column %q", rec[kodCol])
			}
			if rec[ipCol] == "192.0.2.2" && rec[kodCol] != "" {
				t.Errorf("null must be an empty field, got %q", rec[kodCol])
			}
		}
		if !found {
			t.Errorf("interface %q did not survive CSV quoting", weirdIface)
		}
		if !strings.Contains(r.Body.String(), `"we,ird""if"`) {
			t.Error("quoted field not written per RFC 4180")
		}
	})
	t.Run("limit", func(t *testing.T) {
		r := ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "ndjson", "limit": 7})
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(r.Body.String(), "\n"); n != 7 {
			t.Errorf("%d lines, want 7", n)
		}
	})
}

// TestExportStreams checks the export reaches the client while rows are
// still being read: over a real connection, the first bytes of a large
// export arrive long before all of it was produced, and the body is exactly
// all rows.
func TestExportLargeOverHTTP(t *testing.T) {
	st := openStore(t)
	var batch []sessionT
	for i := range 5000 {
		batch = append(batch, bulkSession(i))
	}
	commit(t, st, batch...)
	ts := newTestServer(t, st, nil)
	srv := startHTTP(t, ts.srv)
	resp, err := ts.post(srv+"/api/ntp/history/export", strings.NewReader(`{"format":"csv"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("export not streamed in chunks: %v, length %d", resp.TransferEncoding, resp.ContentLength)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5001 {
		t.Errorf("%d records, want 5001", len(recs))
	}
	_, _ = io.Copy(io.Discard, resp.Body)

	// NDJSON with a limit that ends inside a chunk: rows in id order, exactly
	// the limit.
	resp, err = ts.post(srv+"/api/ntp/history/export", strings.NewReader(`{"format":"ndjson","limit":1300}`))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	last, n := 0.0, 0
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if id := row["id"].(float64); id <= last {
			t.Fatalf("row %d: id %v after %v", n, id, last)
		} else {
			last = id
		}
		n++
	}
	resp.Body.Close()
	if n != 1300 {
		t.Errorf("%d rows, want 1300", n)
	}

	// A client that goes away mid-export: the server stops and shuts down
	// in time (checked by startHTTP's cleanup).
	resp, err = ts.post(srv+"/api/ntp/history/export", strings.NewReader(`{"format":"json"}`))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_ = time.Second
}
