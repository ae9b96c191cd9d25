#!/usr/bin/env bash
# Install ntp-monitor (ntp-collector, ntp-worker, the systemd unit, an example
# settings file, the service user and its directories). Safe to run again:
# binaries and the unit are replaced, an existing settings file is kept.
#
#   scripts/install.sh                  build and install
#   scripts/install.sh --no-build       install bin/* as already built
#   scripts/install.sh --uninstall      remove binaries and unit; keep the
#                                       database, logs, settings and user
#   scripts/install.sh --uninstall --purge
#                                       remove those as well
#
# Environment:
#   DESTDIR  stage into this directory instead of / (packaging, tests); no
#            user is created and systemctl is not called
#   PREFIX   binaries go to $PREFIX/bin (default /usr/local)
#   BINDIR   where the built binaries are (default <repo>/bin)
#
# Works without a running systemd (containers, chroots): files are installed
# and the script says how to start the collector.
set -euo pipefail

PROG=${0##*/}
REPO=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$REPO/bin}
SERVICE_USER=ntp-monitor
UNIT=ntp-collector.service

bin_dir=$DESTDIR$PREFIX/bin
unit_dir=$DESTDIR/etc/systemd/system
conf_dir=$DESTDIR/etc/ntp-monitor
state_dir=$DESTDIR/var/lib/ntp-monitor
log_dir=$DESTDIR/var/log/ntp-monitor
run_dir=$DESTDIR/run/ntp-monitor

mode=install build=1 purge=0
for arg in "$@"; do
	case $arg in
	--uninstall) mode=uninstall ;;
	--purge) purge=1 ;;
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	*)
		echo "$PROG: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done
if [[ $purge == 1 && $mode != uninstall ]]; then
	echo "$PROG: --purge only goes with --uninstall" >&2
	exit 2
fi

say() { echo "$PROG: $*"; }

# Touch the real system (user, ownership, systemctl) only when installing
# into / as root.
live=0
if [[ -z $DESTDIR ]]; then
	if [[ $(id -u) != 0 ]]; then
		echo "$PROG: installing into / needs root (or set DESTDIR to stage elsewhere)" >&2
		exit 1
	fi
	live=1
fi
systemd_running=0
if [[ $live == 1 && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
	systemd_running=1
fi

# install_file SRC DST MODE: copy to a temporary name and rename over DST, so
# a running process keeps its old executable instead of failing with "text
# file busy", and DST is never seen half-written.
install_file() {
	local src=$1 dst=$2 mode=$3
	mkdir -p "$(dirname "$dst")"
	cp "$src" "$dst.new.$$"
	chmod "$mode" "$dst.new.$$"
	mv -f "$dst.new.$$" "$dst"
}

do_install() {
	if [[ $build == 1 ]]; then
		say "building"
		make -C "$REPO" build
	fi
	for b in ntp-collector ntp-worker; do
		[[ -x $BINDIR/$b ]] || {
			echo "$PROG: $BINDIR/$b not found; run make build" >&2
			exit 1
		}
	done

	for b in ntp-collector ntp-worker; do
		install_file "$BINDIR/$b" "$bin_dir/$b" 0755
		say "installed $bin_dir/$b"
	done

	# The unit names /usr/local/bin; follow PREFIX.
	mkdir -p "$unit_dir"
	sed "s#/usr/local/bin/#$PREFIX/bin/#g" "$REPO/scripts/$UNIT" >"$unit_dir/$UNIT.new.$$"
	chmod 0644 "$unit_dir/$UNIT.new.$$"
	mv -f "$unit_dir/$UNIT.new.$$" "$unit_dir/$UNIT"
	say "installed $unit_dir/$UNIT"

	mkdir -p "$conf_dir"
	if [[ -e $conf_dir/ntp-collector.env ]]; then
		say "kept existing $conf_dir/ntp-collector.env"
	else
		# 0600: it may hold the token. systemd reads it as root.
		install_file "$REPO/scripts/ntp-collector.env" "$conf_dir/ntp-collector.env" 0600
		say "installed $conf_dir/ntp-collector.env (edit it: token, listen addresses)"
	fi

	if [[ $live == 1 ]]; then
		if ! getent passwd "$SERVICE_USER" >/dev/null; then
			useradd --system --user-group --home-dir /var/lib/ntp-monitor --no-create-home \
				--shell /usr/sbin/nologin --comment "ntp-monitor collector" "$SERVICE_USER"
			say "created system user $SERVICE_USER"
		fi
	fi
	# systemd creates these for the service; they are made here too so the
	# collector can run under the service user without systemd.
	for d in "$state_dir" "$log_dir" "$run_dir"; do
		mkdir -p "$d"
		chmod 0750 "$d"
		if [[ $live == 1 ]]; then chown "$SERVICE_USER:$SERVICE_USER" "$d"; fi
	done

	if [[ $systemd_running == 1 ]]; then
		systemctl daemon-reload
		say "systemd unit loaded. Start it with:  systemctl enable --now ntp-collector"
		if systemctl is-active --quiet ntp-collector; then
			say "ntp-collector is running the old binaries: systemctl restart ntp-collector"
		fi
	elif [[ $live == 1 ]]; then
		cat <<EOF
$PROG: systemd is not running here; the unit is installed for when it is.
  To run the collector now, as the service user with the capture capabilities
  its workers need:
    setpriv --reuid=$SERVICE_USER --regid=$SERVICE_USER --init-groups \\
      --inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin \\
      $PREFIX/bin/ntp-collector serve --db /var/lib/ntp-monitor/ntp_clients.db \\
      --pid-dir /run/ntp-monitor --log-dir /var/log/ntp-monitor
EOF
	else
		say "staged under $DESTDIR"
	fi
}

do_uninstall() {
	if [[ $systemd_running == 1 ]]; then
		systemctl disable --now ntp-collector 2>/dev/null || true
	fi
	rm -f "$bin_dir/ntp-collector" "$bin_dir/ntp-worker" "$unit_dir/$UNIT"
	say "removed binaries and unit"
	if [[ $systemd_running == 1 ]]; then systemctl daemon-reload; fi
	rm -rf "$run_dir"
	if [[ $purge == 1 ]]; then
		rm -rf "$conf_dir" "$state_dir" "$log_dir"
		say "purged $conf_dir, $state_dir (the database), $log_dir"
		if [[ $live == 1 ]] && getent passwd "$SERVICE_USER" >/dev/null; then
			userdel "$SERVICE_USER" 2>/dev/null || say "could not remove user $SERVICE_USER"
			say "removed user $SERVICE_USER"
		fi
	else
		say "kept $state_dir (database), $log_dir, $conf_dir and user $SERVICE_USER; --uninstall --purge removes them"
	fi
}

"do_$mode"
