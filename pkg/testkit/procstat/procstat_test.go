package procstat

import (
	"os"
	"runtime"
	"testing"
)

func TestFDsCountsAnOpenFile(t *testing.T) {
	before, err := FDs(0)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	during, _ := FDs(os.Getpid())
	f.Close()
	after, _ := FDs(0)
	if during != before+1 || after != before {
		t.Errorf("descriptors %d → %d → %d; want one more while the file is open", before, during, after)
	}
}

func TestStatus(t *testing.T) {
	rss, err := Status(os.Getpid(), "VmRSS")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if rss < 1<<20 {
		t.Errorf("VmRSS %d bytes: a Go test binary holds more than 1 MiB", rss)
	}
	if _, err := Status(os.Getpid(), "NoSuchField"); err == nil {
		t.Error("a missing field gave no error")
	}
}

func TestHeapInUseGrowsWithWhatIsReachable(t *testing.T) {
	before := HeapInUse()
	keep := make([]byte, 64<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	during := HeapInUse()
	if during < before+32<<20 {
		t.Errorf("heap %d → %d with 64 MiB reachable", before, during)
	}
	runtime.KeepAlive(keep)
}
