package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 276, 256)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC)
	pkts := [][]byte{[]byte("first"), {}, bytes.Repeat([]byte{7}, 3000)}
	for i, p := range pkts {
		if err := w.WritePacket(ts.Add(time.Duration(i)*time.Second), p, len(p)+i); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != 276 || r.Snaplen() != 256 {
		t.Errorf("link type %d, snaplen %d", r.LinkType(), r.Snaplen())
	}
	for i, p := range pkts {
		gotTS, data, orig, err := r.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !gotTS.Equal(ts.Add(time.Duration(i)*time.Second)) || !bytes.Equal(data, p) || orig != len(p)+i {
			t.Errorf("packet %d: %v %d bytes orig %d", i, gotTS, len(data), orig)
		}
	}
	if _, _, _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
}

// A big-endian file with microsecond timestamps, as older tools write.
func TestBigEndianMicros(t *testing.T) {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.BigEndian.PutUint32(hdr[0:4], magicMicros)
	binary.BigEndian.PutUint32(hdr[16:20], 65535)
	binary.BigEndian.PutUint32(hdr[20:24], 1)
	b.Write(hdr)
	rec := make([]byte, 16)
	binary.BigEndian.PutUint32(rec[0:4], 1700000000)
	binary.BigEndian.PutUint32(rec[4:8], 250000)
	binary.BigEndian.PutUint32(rec[8:12], 3)
	binary.BigEndian.PutUint32(rec[12:16], 3)
	b.Write(rec)
	b.WriteString("abc")
	r, err := NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	ts, data, _, err := r.Next()
	if err != nil || string(data) != "abc" || !ts.Equal(time.Unix(1700000000, 250e6)) || r.LinkType() != 1 {
		t.Errorf("%v %q %v link %d", ts, data, err, r.LinkType())
	}
}

func TestBadFiles(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte("not a capture file at all"))); !errors.Is(err, ErrNotPcap) {
		t.Errorf("text file: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)); err == nil {
		t.Error("empty file accepted")
	}
	golden, err := os.ReadFile("../../ntp/testdata/golden/chrony.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// Cut inside the first record.
	r, err := NewReader(bytes.NewReader(golden[:24+16+10]))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut record: %v", err)
	}
	// A record claiming 1 GB.
	bad := bytes.Clone(golden[:24+16])
	binary.LittleEndian.PutUint32(bad[24+8:24+12], 1<<30)
	r, err = NewReader(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Next(); err == nil {
		t.Error("1 GB record accepted")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pcap")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 1, 65535)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 25, 18, 0, 0, 5, time.UTC)
	w.WritePacket(ts, []byte("one"), 90)
	w.WritePacket(ts.Add(time.Second), []byte("two"), 3)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	link, pkts, err := ReadFile(path)
	if err != nil || link != 1 || len(pkts) != 2 {
		t.Fatalf("ReadFile = %d, %d packets, %v", link, len(pkts), err)
	}
	if string(pkts[0].Data) != "one" || pkts[0].OrigLen != 90 || !pkts[0].Time.Equal(ts) ||
		string(pkts[1].Data) != "two" || pkts[1].OrigLen != 3 {
		t.Errorf("packets %+v", pkts)
	}

	// A file cut inside its last record names the record.
	if err := os.WriteFile(path, buf.Bytes()[:buf.Len()-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(path); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "packet 2") {
		t.Errorf("cut file: %v", err)
	}
	if _, _, err := ReadFile(filepath.Join(dir, "missing.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
