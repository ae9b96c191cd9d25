package supervisor

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const scriptsDir = "../../scripts"

// unitDirectives reads key=value lines of a unit file; repeated keys are
// joined with a space.
func unitDirectives(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not a directive: %q", path, line)
		}
		if d[k] != "" {
			v = d[k] + " " + v
		}
		d[k] = v
	}
	return d
}

func TestSystemdUnitHardening(t *testing.T) {
	d := unitDirectives(t, filepath.Join(scriptsDir, "ntp-collector.service"))
	for k, want := range map[string]string{
		"User":                  "ntp-monitor",
		"AmbientCapabilities":   "CAP_NET_RAW CAP_NET_ADMIN",
		"CapabilityBoundingSet": "CAP_NET_RAW CAP_NET_ADMIN",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
		"StateDirectory":        "ntp-monitor",
		"RuntimeDirectory":      "ntp-monitor",
		"LogsDirectory":         "ntp-monitor",
		"Restart":               "on-failure",
		"KillMode":              "mixed",
		"EnvironmentFile":       "-/etc/ntp-monitor/ntp-collector.env",
		"ExecStart":             "/usr/local/bin/ntp-collector serve --db /var/lib/ntp-monitor/ntp_clients.db --pid-dir /run/ntp-monitor --log-dir /var/log/ntp-monitor",
	} {
		if d[k] != want {
			t.Errorf("%s=%q, want %q", k, d[k], want)
		}
	}
	if d["TimeoutStopSec"] == "" {
		t.Error("no TimeoutStopSec")
	}
	if strings.Contains(d["Type"], "notify") {
		t.Error("Type=notify without sd_notify support in the collector")
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on a copy of the unit
// whose ExecStart names an executable that exists here (verify refuses a
// unit whose binary is missing, and this test must not install one into
// /usr/local/bin). Everything else is verified as written.
func TestSystemdUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; skipping unit verification")
	}
	dir := t.TempDir()
	bin := standin(t, dir)
	b, err := os.ReadFile(filepath.Join(scriptsDir, "ntp-collector.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "ntp-collector.service")
	text := strings.ReplaceAll(string(b), "/usr/local/bin/ntp-collector", bin)
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without a terminal systemd tools may log to the journal instead of
	// stderr; the warnings must reach this test.
	verify := func(path string) ([]byte, error) {
		cmd := exec.Command(sa, "verify", path)
		cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console")
		return cmd.CombinedOutput()
	}
	out, err := verify(unit)
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on a value it cannot parse and only warns ("…,
	// ignoring"), which is why any output fails the test above. Check that
	// it does warn, or this test proves nothing.
	bad := filepath.Join(dir, "broken.service")
	os.WriteFile(bad, []byte(strings.Replace(text, "\nKillMode=mixed\n", "\nKillMode=sometimes\n", 1)), 0o644)
	if out, _ := verify(bad); !strings.Contains(string(out), "kill mode") {
		t.Errorf("verify did not warn about KillMode=sometimes: %q", out)
	}
}

// TestInstallScriptStaged runs scripts/install.sh into a DESTDIR: install,
// install again (idempotent, settings kept), uninstall (database and
// settings kept), uninstall --purge.
func TestInstallScriptStaged(t *testing.T) {
	dir := t.TempDir()
	bins := filepath.Join(dir, "bin")
	os.MkdirAll(bins, 0o755)
	src, err := standinBin()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ntp-collector", "ntp-worker"} {
		data, _ := os.ReadFile(src)
		os.WriteFile(filepath.Join(bins, b), data, 0o755)
	}
	root := filepath.Join(dir, "root")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(scriptsDir, "install.sh"), args...)
		cmd.Env = append(os.Environ(), "DESTDIR="+root, "PREFIX=/opt/ntpm", "BINDIR="+bins)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return fi.Mode()
	}
	gone := func(p string) bool {
		_, err := os.Stat(filepath.Join(root, p))
		return os.IsNotExist(err)
	}

	run("--no-build")
	for p, want := range map[string]os.FileMode{
		"opt/ntpm/bin/ntp-collector":               0o755,
		"opt/ntpm/bin/ntp-worker":                  0o755,
		"etc/systemd/system/ntp-collector.service": 0o644,
		"etc/ntp-monitor/ntp-collector.env":        0o600,
		"var/lib/ntp-monitor":                      os.ModeDir | 0o750,
		"var/log/ntp-monitor":                      os.ModeDir | 0o750,
	} {
		if got := mode(p); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	d := unitDirectives(t, filepath.Join(root, "etc/systemd/system/ntp-collector.service"))
	if !strings.HasPrefix(d["ExecStart"], "/opt/ntpm/bin/ntp-collector serve ") {
		t.Errorf("installed unit ExecStart %q does not follow PREFIX", d["ExecStart"])
	}

	// A second run replaces binaries and keeps edited settings.
	env := filepath.Join(root, "etc/ntp-monitor/ntp-collector.env")
	os.WriteFile(env, []byte("NTP_TOKEN=kept\n"), 0o600)
	os.WriteFile(filepath.Join(root, "var/lib/ntp-monitor/ntp_clients.db"), []byte("db"), 0o640)
	out := run("--no-build")
	if b, _ := os.ReadFile(env); string(b) != "NTP_TOKEN=kept\n" {
		t.Errorf("second install overwrote the settings: %q", b)
	}
	if !strings.Contains(out, "kept existing") {
		t.Errorf("second install did not say it kept the settings:\n%s", out)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, "opt/ntpm/bin/*.new.*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	run("--uninstall")
	for _, p := range []string{"opt/ntpm/bin/ntp-collector", "opt/ntpm/bin/ntp-worker", "etc/systemd/system/ntp-collector.service"} {
		if !gone(p) {
			t.Errorf("%s left after --uninstall", p)
		}
	}
	for _, p := range []string{"var/lib/ntp-monitor/ntp_clients.db", "etc/ntp-monitor/ntp-collector.env"} {
		if gone(p) {
			t.Errorf("%s removed by --uninstall without --purge", p)
		}
	}
	run("--uninstall", "--purge")
	for _, p := range []string{"var/lib/ntp-monitor", "var/log/ntp-monitor", "etc/ntp-monitor"} {
		if !gone(p) {
			t.Errorf("%s left after --purge", p)
		}
	}

	cmd := exec.Command(filepath.Join(scriptsDir, "install.sh"), "--purge")
	cmd.Env = append(os.Environ(), "DESTDIR="+root)
	if err := cmd.Run(); err == nil {
		t.Error("--purge without --uninstall accepted")
	}
}

// TestInstallScriptLive runs install.sh into / as root — user creation,
// ownership, the collector started as the service user — inside a private
// mount namespace whose /etc, /usr/local, /var/lib, /var/log and /run are
// throwaway overlays (testdata/live-install.sh), so the host is not touched.
func TestInstallScriptLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace with overlays")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	dir := t.TempDir()
	bins := filepath.Join(dir, "bin")
	os.MkdirAll(bins, 0o755)
	buildCollector(t, bins)
	buildRealWorker(t, bins)
	repo, _ := filepath.Abs("../..")
	_, hadUser := exec.Command("getent", "passwd", "ntp-monitor").Output()
	// The script mounts its overlays' tmpfs on this directory in its own
	// mount namespace only: the empty directory stays on the host, for the
	// test's cleanup to remove.
	out, err := exec.Command("unshare", "-m", "bash", "testdata/live-install.sh", repo, bins, t.TempDir()).CombinedOutput()
	if strings.Contains(string(out), "overlay") && strings.Contains(string(out), "mount") && err != nil {
		t.Skipf("overlay mounts unavailable here: %s", out)
	}
	if err != nil || !strings.Contains(string(out), "live install OK") {
		t.Fatalf("live install: %v\n%s", err, out)
	}
	if _, err := exec.Command("getent", "passwd", "ntp-monitor").Output(); err == nil && hadUser != nil {
		t.Error("the ntp-monitor user leaked onto the host")
	}
}

// TestDeploymentMatchesCollectorFlags checks the unit's ExecStart flags and
// every NTP_ variable in the example settings file against the flags the
// collector really has (its serve --help).
func TestDeploymentMatchesCollectorFlags(t *testing.T) {
	dir := t.TempDir()
	help, err := exec.Command(buildCollector(t, dir), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ntp-collector serve --help: %v\n%s", err, help)
	}
	d := unitDirectives(t, filepath.Join(scriptsDir, "ntp-collector.service"))
	for _, f := range strings.Fields(d["ExecStart"]) {
		if strings.HasPrefix(f, "--") && !strings.Contains(string(help), f+" ") {
			t.Errorf("unit ExecStart uses %s, which ntp-collector serve does not have", f)
		}
	}
	env, err := os.ReadFile(filepath.Join(scriptsDir, "ntp-collector.env"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(env), "\n") {
		line = strings.TrimPrefix(line, "#")
		name, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "NTP_") || strings.ContainsAny(name, " \t") {
			continue
		}
		n++
		if !strings.Contains(string(help), "$"+name+"]") {
			t.Errorf("settings file names %s, which ntp-collector serve does not read", name)
		}
	}
	if n == 0 {
		t.Error("no NTP_ variables found in the settings file")
	}
}
