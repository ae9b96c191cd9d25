package supervisor

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStatus measures a status read of a running worker, what GET
// …/status and the interface list cost the supervisor.
func BenchmarkStatus(b *testing.B) {
	t := &testing.T{}
	dir := b.TempDir()
	bin, err := standinBin()
	if err != nil {
		b.Fatal(err)
	}
	cfg := fastConfig(t, dir, bin, nil)
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := s.Start(context.Background(), "lo", Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Status("lo"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartStop measures a full worker cycle: spawn the process, wait
// for it to be up, SIGTERM, wait for its exit. The reference is a bare
// fork/exec/wait of the same binary, measured in the same run
// (BenchmarkBareExec), so the supervisor's own overhead is the difference.
func BenchmarkStartStop(b *testing.B) {
	dir := b.TempDir()
	bin, err := standinBin()
	if err != nil {
		b.Fatal(err)
	}
	cfg := fastConfig(&testing.T{}, dir, bin, nil)
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx := context.Background()
	log := s.LogFile("lo")
	for b.Loop() {
		if _, err := s.Start(ctx, "lo", Options{}); err != nil {
			b.Fatal(err)
		}
		waitLogged(b, log, 1)
		if _, err := s.Stop(ctx, "lo"); err != nil {
			b.Fatal(err)
		}
		os.Remove(log)
	}
}

func BenchmarkBareExec(b *testing.B) {
	bin, err := standinBin()
	if err != nil {
		b.Fatal(err)
	}
	log := filepath.Join(b.TempDir(), "log")
	for b.Loop() {
		f, _ := os.Create(log)
		p, err := os.StartProcess(bin, []string{bin, "--interface=lo"}, &os.ProcAttr{Files: []*os.File{nil, f, f}})
		if err != nil {
			b.Fatal(err)
		}
		waitLogged(b, log, 0)
		p.Signal(os.Interrupt)
		p.Kill()
		p.Wait()
		f.Close()
	}
}

// waitLogged waits until the stand-in has written its first line (it has
// then installed its SIGTERM handler); skip is the number of lines the
// supervisor writes before it.
func waitLogged(b *testing.B, path string, skip int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		data, _ := os.ReadFile(path)
		n := 0
		for _, c := range data {
			if c == '\n' {
				n++
			}
		}
		if n > skip {
			return
		}
	}
	b.Fatal("worker did not log")
}
