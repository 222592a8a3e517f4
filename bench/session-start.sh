#!/bin/bash
# Session start, measured side by side with what it wraps:
#   - a bare Xvfb start, until it reports readiness through -displayfd;
#   - `mxc session start` until the session has answered a screenshot.
# Then the daemon's memory with 10 sessions running.
#
#   bench/session-start.sh [RUNS]        (as root, after building into ./build)
#
# Runs the real daemon in a private mount namespace with an overlay over /etc and
# temporary directories, like the test suite: nothing on the host is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
build=$PWD/build
[ -x "$build/sessiond/mxc-sessiond" ] || { echo "build first: scripts/setup.sh" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mxc-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{up,work,state,run,conf}

unshare -m --propagation private bash -s "$build" "$tmp" "$runs" <<'INNER'
set -euo pipefail
build=$1 tmp=$2 runs=$3
mount -t overlay overlay -o lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work /etc
mount -t tmpfs tmpfs /tmp/.X11-unix 2>/dev/null || { mkdir -p /tmp/.X11-unix; mount -t tmpfs tmpfs /tmp/.X11-unix; }
export MXC_SOCKET=$tmp/run/sessiond.sock
mxc=$build/cli/mxc
"$build/sessiond/mxc-sessiond" --socket "$MXC_SOCKET" --state-dir "$tmp/state" \
	--runtime-dir "$tmp/run" --config-dir "$tmp/conf" --libexec-dir "$build/sessiond" \
	--log-level warning 2>"$tmp/daemon.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do $mxc version >/dev/null 2>&1 && break; sleep 0.05; done
$mxc agent add bench >/dev/null

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9+0.5); if(i<1)i=1; printf "%.1f", a[i]/1e6}'; }

mkfifo "$tmp/ready"
# A bare Xvfb started by hand, as users otherwise would; then with mxc's own flags.
bare() {
	local out=$1; shift
	: >"$out"
	for _ in $(seq "$runs"); do
		t0=$(now)
		Xvfb :77 -displayfd 4 -nolisten tcp "$@" -screen 0 1280x800x24 4>"$tmp/ready" 2>/dev/null &
		xpid=$!
		read -r _ <"$tmp/ready"   # the display number: ready
		echo $(( $(now) - t0 )) >>"$out"
		kill "$xpid"
		wait "$xpid" 2>/dev/null || true
	done
}
bare "$tmp/xvfb.ns"
bare "$tmp/xvfb-flags.ns" -nolisten local -noreset -iglx -extension GLX

: >"$tmp/mxc.ns"
for _ in $(seq "$runs"); do
	t0=$(now)
	id=$($mxc session start bench)
	$mxc screenshot "$id" >/dev/null
	echo $(( $(now) - t0 )) >>"$tmp/mxc.ns"
	$mxc session stop "$id" >/dev/null
done

x=$(median <"$tmp/xvfb.ns"); f=$(median <"$tmp/xvfb-flags.ns"); m=$(median <"$tmp/mxc.ns")
printf '\nsession start, %s runs, 1280x800x24 (milliseconds)\n' "$runs"
printf '%-58s %8s %8s\n' "" median p90
printf '%-58s %8s %8s\n' "bare Xvfb (default flags), until ready" "$x" "$(p90 <"$tmp/xvfb.ns")"
printf '%-58s %8s %8s\n' "bare Xvfb with mxc's flags (no GLX), until ready" "$f" "$(p90 <"$tmp/xvfb-flags.ns")"
printf '%-58s %8s %8s\n' "mxc session start, until a screenshot is answered" "$m" "$(p90 <"$tmp/mxc.ns")"
awk -v a="$m" -v b="$x" 'BEGIN {printf "%-58s %8.2fx\n", "ratio mxc / bare Xvfb (default flags)", a/b}'
awk -v a="$m" -v b="$f" 'BEGIN {printf "%-58s %8.2fx\n", "ratio mxc / bare Xvfb (same flags)", a/b}'

ids=()
for _ in $(seq 10); do ids+=("$($mxc session start bench)"); done
for id in "${ids[@]}"; do $mxc screenshot "$id" >/dev/null; done
rss=$(awk '/VmRSS/ {print $2}' /proc/$daemon/status)
# What the sessions' own processes (mxc-init, Xvfb, helper) cost: proportional set size,
# so that library pages shared between sessions are counted once.
pss=0
for p in $(pgrep -u bench); do
	k=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)
	pss=$((pss + k))
done
printf '\nwith 10 sessions running (each has answered a screenshot)\n'
printf '%-58s %8s KiB\n' "mxc-sessiond RSS" "$rss"
printf '%-58s %8s KiB\n' "session processes (mxc-init, Xvfb, helper), PSS sum" "$pss"
printf '%-58s %8s KiB\n' "  per session" "$((pss / 10))"
for id in "${ids[@]}"; do $mxc session stop "$id" >/dev/null; done
INNER
