#!/bin/sh
# go test -toolexec wrapper for the long fuzz run (make fuzz): coverage
# guidance from the package under test (FUZZ_PKG, its import path) and the
# standard library's text parsers it hands the fuzzer's bytes to; every
# other package is compiled plain.
#
# go test -fuzz instruments every package the test binary links, and each
# execution walks all of their coverage counters. A target that links
# modernc.org/sqlite, net/http and gin (every parser in httpapi does) spends
# nearly all its time in that walk: on two workers and the same corpus,
# FuzzParseStep ran 4,000–5,000 executions/s instrumented in full, about
# 17,000 with only this module's packages instrumented and 18,600 (10 M in
# 8 min 58 s) like this. Inputs still run through every package; only the
# branches that guide the fuzzer are fewer, and those are the target's.
#
# The go command caches a build by its tool's -V=full answer and its flags
# as given, not as this script changes them: the answer carries a tag and
# FUZZ_PKG, so builds for each target are cached apart. Change the tag when
# the rule changes.
tool=$1
shift
case ${tool##*/} in
compile) ;;
*) exec "$tool" "$@" ;;
esac
if [ "$1" = "-V=full" ]; then
	echo "$("$tool" "$@") ntp-monitor-fuzz-3 ${FUZZ_PKG:-}"
	exit
fi
pkg=
prev=
for a in "$@"; do
	[ "$prev" = "-p" ] && pkg=$a
	prev=$a
done
case $pkg in
main | "${FUZZ_PKG:-}" | bytes | encoding/json | net/netip | net/url | strconv | strings | time | unicode/utf8)
	exec "$tool" "$@"
	;;
esac
for a in "$@"; do
	shift
	[ "$a" = "-d=libfuzzer" ] || set -- "$@" "$a"
done
exec "$tool" "$@"
