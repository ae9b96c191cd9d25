package supervisor

import "testing"

// Test helpers for the external test package (api_test.go), which cannot
// import this package's unexported test code.

func ForTestStandin(t *testing.T, dir string) string { return standin(t, dir) }

func ForTestInterface(t *testing.T) string { return testInterface(t) }

func ForTestConfig(t *testing.T, dir, bin string, d DesiredState) Config {
	return fastConfig(t, dir, bin, d)
}

func ForTestNew(t *testing.T, cfg Config) *Supervisor { return newSupervisor(t, cfg) }

func ForTestAlive(pid int) bool { return alive(pid) }

func ForTestKill(pid int) { killPID(pid) }

func ForTestWaitFor(t *testing.T, what string, cond func() bool) { waitFor(t, what, cond) }

func ForTestRealWorker(t *testing.T, dir string) string { return buildRealWorker(t, dir) }
