# Sourced by the capture scripts (golden-pcaps.sh, fingerprint-pcaps.sh):
# what they share to run NTP software in network namespaces of their own
# without letting it near the host clock, and to leave nothing behind.
#
# Before sourcing, the script sets prog (its name in messages) and keep
# (non-empty to keep the temp dir); afterwards it adds the PIDs it starts
# to pids and the namespaces it creates to namespaces. Sourcing makes the
# temp dir $tmp and installs the exit trap that ends those processes (by
# PID, and whatever else is left inside those namespaces) and removes the
# namespaces and $tmp.

if [ "$(id -u)" -ne 0 ]; then
	echo "$prog.sh: needs root to create network namespaces; run it with sudo" >&2
	exit 1
fi

# need TOOL... fails unless every TOOL is on PATH.
need() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$prog.sh: $tool not found; run make deps" >&2; exit 1; }
	done
}

# No CAP_SYS_TIME for anything started in a namespace, in any descendant.
nocap=(setpriv --bounding-set -sys_time --inh-caps -sys_time --)

# spawn NS LOG CMD... starts CMD in namespace NS in the background without
# CAP_SYS_TIME, its output in LOG, and adds its PID to pids. Call it
# directly, not in a pipeline or $(…): in a subshell $! would not be the
# program's own PID.
spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "${nocap[@]}" "$@" >"$log" 2>&1 &
	pids+=($!)
}

tmp=$(mktemp -d "/tmp/$prog.XXXXXX")
pids=()
namespaces=()

cleanup() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	# Whatever is still inside the namespaces was started by this script
	# (a one-shot client of a loop cut short, a daemon's child).
	for ns in "${namespaces[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	for ns in "${namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -n "$keep" ]; then
		echo "$prog: logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
