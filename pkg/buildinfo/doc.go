// Package buildinfo says which build of ntp-monitor is running: its
// version, the commit it was built from, when it was built and with which
// Go. Both commands print it for --version, the collector reports it in
// /health and as the ntp_build_info metric.
//
// The Makefile's build stamps version, commit and date at link time:
//
//	go build -ldflags "-X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.version=v1.2.0 \
//		-X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.commit=<full hash> \
//		-X github.com/ntp-monitor/ntp-monitor/pkg/buildinfo.date=2026-12-02T10:00:00Z"
//
// A build that stamps nothing (go build or go install by hand, a tree that
// is not a git checkout) still says what it can: [Read] falls back to the
// module version and the VCS revision that the go command records in the
// binary (runtime/debug.ReadBuildInfo), and to "devel" and "unknown".
package buildinfo
