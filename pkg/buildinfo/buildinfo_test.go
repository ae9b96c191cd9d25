package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T08:00:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	devel := debug.Module{Path: "github.com/ntp-monitor/ntp-monitor", Version: "(devel)"}
	tests := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"stamped by make build", "v1.2.0-3-g14aa2e9", "14aa2e9c0ffee", "2026-12-02T10:00:00Z",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: devel, Settings: vcs("0ther", "true")},
			Info{Version: "v1.2.0-3-g14aa2e9", Commit: "14aa2e9c0ffee", Date: "2026-12-02T10:00:00Z", GoVersion: "go1.26.8"}},
		{"go build in a checkout", "", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: devel, Settings: vcs("14aa2e9c0ffee", "false")},
			Info{Version: "devel", Commit: "14aa2e9c0ffee", Date: Unknown, GoVersion: "go1.26.8"}},
		{"go build with local changes", "", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: devel, Settings: vcs("14aa2e9c0ffee", "true")},
			Info{Version: "devel", Commit: "14aa2e9c0ffee-dirty", Date: Unknown, GoVersion: "go1.26.8"}},
		{"go install of a release", "", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			Info{Version: "v1.2.0", Commit: Unknown, Date: Unknown, GoVersion: "go1.26.8"}},
		// make build outside a git checkout stamps empty strings.
		{"no VCS, -buildvcs=false", "", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: devel},
			Info{Version: "devel", Commit: Unknown, Date: Unknown, GoVersion: "go1.26.8"}},
		{"no build information", "", "", "", nil,
			Info{Version: "devel", Commit: Unknown, Date: Unknown, GoVersion: runtime.Version()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got := resolve(tc.version, tc.commit, tc.date, tc.bi); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.0", Commit: "14aa2e9c0ffee", Date: "2026-12-02T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	const want = "v1.2.0 (commit 14aa2e9c0ffee, built 2026-12-02T10:00:00Z, go1.26.8 linux/amd64)"
	if got := i.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// The test binary itself: Read never leaves a field empty.
func TestReadFillsEveryField(t *testing.T) {
	i := Read()
	for name, v := range map[string]string{"version": i.Version, "commit": i.Commit, "date": i.Date,
		"go_version": i.GoVersion, "platform": i.Platform} {
		if v == "" || strings.ContainsAny(v, " \n") {
			t.Errorf("%s = %q", name, v)
		}
	}
}
