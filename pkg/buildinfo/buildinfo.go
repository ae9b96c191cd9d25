package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the linker (-ldflags -X, see the package documentation). They
// are variables only because -X can set nothing else; no code assigns them.
var (
	version string
	commit  string
	date    string
)

// Unknown stands for a field the build did not record.
const Unknown = "unknown"

// Info describes one build.
type Info struct {
	// Version is the release (v1.2.0), git describe's name of the commit
	// (14aa2e9, v1.2.0-3-g14aa2e9-dirty), the module version of a go
	// install, or "devel".
	Version string `json:"version"`
	// Commit is the full revision, with "-dirty" when the tree had
	// uncommitted changes; Unknown when not recorded.
	Commit string `json:"commit"`
	// Date is when the binary was built, RFC 3339 UTC; Unknown when not
	// stamped (the go command records the commit's time, not the build's).
	Date string `json:"date"`
	// GoVersion is the Go release that compiled the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// resolve fills Info from the stamped values, falling back to what the go
// command recorded in bi (nil when the binary carries none).
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		i.GoVersion = bi.GoVersion
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" {
			i.Commit = vcsCommit(bi.Settings)
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	if i.Date == "" {
		i.Date = Unknown
	}
	return i
}

// vcsCommit is the revision the go command recorded, "" when it recorded
// none (GOFLAGS=-buildvcs=false, no git checkout).
func vcsCommit(settings []debug.BuildSetting) string {
	var rev string
	var modified bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" && modified {
		rev += "-dirty"
	}
	return rev
}

// String is the one line --version prints after the program's name:
//
//	v1.2.0 (commit 14aa2e9c…, built 2026-12-02T10:00:00Z, go1.26.8 linux/amd64)
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (commit ")
	b.WriteString(i.Commit)
	b.WriteString(", built ")
	b.WriteString(i.Date)
	b.WriteString(", ")
	b.WriteString(i.GoVersion)
	b.WriteString(" ")
	b.WriteString(i.Platform)
	b.WriteString(")")
	return b.String()
}
