#!/bin/bash
# Computer use, measured side by side with what agent runtimes otherwise run per action, on
# the same session's Xvfb showing the same desktop (the display library benchmark's):
#   1. a full-screen PNG screenshot: mxc over a persistent connection against `scrot -o FILE`
#      and ImageMagick's `import -window root FILE` (and the mxc CLI, a process per shot);
#      plus raw capture from the display library benchmark;
#   2. a click at x,y until an X client on the display reads the ButtonPress: mxc against
#      `xdotool mousemove X Y click 1`;
#   3. typing 50 characters (ASCII, and a mixed text with accents, Cyrillic, CJK and emoji)
#      until the client has read the last one, and whether it read the right text: mxc
#      against `xdotool type` (default options, and --delay 0);
#   4. N sessions (default 20) driven at once, one client each looping screenshot + click:
#      latency p50/p99, throughput, the daemon's CPU and memory.
#
#   bench/computer-use.sh [--quick] [--shots N] [--clicks N] [--types N] [--tool-types N]
#                         [--sessions N] [--seconds N]
#
# As root, after building into ./build (scripts/setup.sh; $MXC_BUILD_DIR names another
# build directory). Installs the Debian packages scrot, imagemagick and xdotool with apt-get
# when they are missing (and nothing else). --quick is a smoke run (small counts, 4
# sessions), not for figures. Runs the real daemon in a
# private mount namespace with an overlay over /etc and temporary directories, like
# bench/session-start.sh and the tests: nothing on the host is changed, and every session,
# the daemon and the temporary files are gone when it ends, also on failure or Ctrl-C.
#
# How the other tools reach the session's display: they run on the host, as root, with
# DISPLAY=:0 and the session's cookie, in a mount namespace of their own where the session's
# X socket directory is bind-mounted on /tmp/.X11-unix, so they talk to the session's Xvfb
# exactly as a process inside the session does. The script checks that this does not favour
# mxc: it also times scrot and xdotool run inside the session as the agent (mxc exec).
set -euo pipefail
cd "$(dirname "$0")/.."

shots=100 clicks=200 types=30 tool_types=10 sessions=20 seconds=20
cmdline="bench/computer-use.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) shots=15 clicks=20 types=5 tool_types=3 sessions=4 seconds=3 ;;
	--shots) shots=$2; shift ;;
	--clicks) clicks=$2; shift ;;
	--types) types=$2; shift ;;
	--tool-types) tool_types=$2; shift ;;
	--sessions) sessions=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	*) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
	shift
done
for v in "$shots" "$clicks" "$types" "$tool_types" "$sessions" "$seconds"; do
	case $v in '' | *[!0-9]* | 0) echo "computer-use.sh: '$v' is not a count" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] ||
	{ echo "computer-use.sh: run as root (namespaces, agent accounts)" >&2; exit 1; }
build=${MXC_BUILD_DIR:-$PWD/build}
bench=$build/bench/bench-computer-use
[ -x "$build/sessiond/mxc-sessiond" ] && [ -x "$bench" ] ||
	{ echo "computer-use.sh: build first: scripts/setup.sh" >&2; exit 1; }

# The tools compared against, from Debian, installed only when missing.
missing=()
[ -x /usr/bin/scrot ] || missing+=(scrot)
[ -x /usr/bin/import ] || missing+=(imagemagick)
[ -x /usr/bin/xdotool ] || missing+=(xdotool)
if [ ${#missing[@]} -gt 0 ]; then
	echo "==> installing ${missing[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tmp=$(mktemp -d /tmp/mxc-bench-cu-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{up,work,state,run,conf,out}

# In the background and waited for, so that Ctrl-C or a TERM reaches this shell at once; it
# hands a TERM to the inner one, which stops what it started before it exits.
unshare -m --propagation private bash -s "$build" "$tmp" "$cmdline" \
	"$shots" "$clicks" "$types" "$tool_types" "$sessions" "$seconds" <<'INNER' &
set -euo pipefail
build=$1 tmp=$2 cmdline=$3 shots=$4 clicks=$5 types=$6 tool_types=$7 sessions=$8 seconds=$9
bench=$build/bench/bench-computer-use
mount -t overlay overlay -o lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work /etc
export MXC_SOCKET=$tmp/run/sessiond.sock
mxc=$build/cli/mxc

# This script is read from standard input: commands that could read it get /dev/null.
# Every session started is listed with its pid 1, so that it ends even if the daemon is gone.
: >"$tmp/sessions"
daemon= child=
cleanup() {
	set +e
	[ -z "$child" ] || { kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; }
	if [ -n "$daemon" ]; then
		while read -r id leader; do
			$mxc session stop "$id" >/dev/null 2>&1 ||
				kill -KILL "$leader" 2>/dev/null
		done <"$tmp/sessions"
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Runs a long command in the background and waits, so that a TERM is handled at once.
run() {
	"$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=
	return "$rc"
}

"$build/sessiond/mxc-sessiond" --socket "$MXC_SOCKET" --state-dir "$tmp/state" \
	--runtime-dir "$tmp/run" --config-dir "$tmp/conf" --libexec-dir "$build/sessiond" \
	--log-level warning 2>"$tmp/daemon.log" &
daemon=$!
for _ in $(seq 100); do $mxc version >/dev/null 2>&1 && break; sleep 0.05; done
$mxc agent add bench >/dev/null

# Starts a session; prints the --session argument of bench-computer-use for it.
start_session() {
	local id leader
	id=$($mxc session start bench)
	leader=$($mxc session show "$id" | awk '$1 == "leader_pid" {print $2}')
	echo "$id $leader" >>"$tmp/sessions"
	# The session's cookie, read inside it as the agent (it lives in its private tmpfs).
	$mxc exec "$id" -- sh -c 'cat "$XAUTHORITY"' </dev/null >"$tmp/xauth-$id"
	echo "$id:$tmp/run/sessions/$id/x11/X0:$tmp/xauth-$id:$leader"
}

echo "mxc computer-use benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "command:     $cmdline"
echo "machine:     $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))," \
	"$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:       $(dpkg-query -W -f='${Package} ${Version}  ' scrot imagemagick xdotool \
	2>/dev/null)"
echo "session:     1280x800x24 Xvfb (mxc's flags), the display benchmark's desktop drawn on it"

first=$(start_session)
id=${first%%:*}

# Raw capture, from the display library's own benchmark (its own Xvfb, same desktop).
capture=$build/tests/unit/display/bench-capture
if [ -x "$capture" ]; then
	run "$capture" --runs 100 --no-scrot >"$tmp/capture.txt"
	echo
	echo "0. Display library (build/tests/unit/display/bench-capture --runs 100 --no-scrot)"
	printf '  %-50s %5s %10s %10s\n' "" runs "median ms" "p95 ms"
	awk '/^raw capture, MIT-SHM|^PNG encode|^screenshot \(capture/ {
		n = split($0, f, /  +/); printf "  %-50s %5s %10s %10s\n", f[1], 100, f[2], f[3] }' \
		"$tmp/capture.txt"
	awk '/^raw capture, MIT-SHM/ { split($0, f, /  +/);
		printf "  %-50s %10s ms  (target < 3 ms: %s)\n", "raw capture median", f[2],
			f[2] + 0 < 3 ? "met" : "NOT met" }' "$tmp/capture.txt"
else
	echo "(no build/tests/unit/display/bench-capture: tests not built, raw capture not measured)"
fi

run "$bench" single --socket "$MXC_SOCKET" --session "$first" --out "$tmp/out" \
	--tools-x11-dir "$tmp/run/sessions/$id/x11" --mxc-cli "$mxc" \
	--shots "$shots" --clicks "$clicks" --types "$types" --tool-types "$tool_types"

# Fairness check: the same tools run inside the session, as the agent, against the same
# display, timed by the same program (copied into the agent's home: the build directory is
# not visible inside sessions). Spawn to exit; host and session alternate in batches of 10.
home=$tmp/state/home/bench
install -o bench -g bench -m 0755 "$bench" "$home/bench-computer-use"
host_spawn() {
	unshare -m --propagation private sh -c 'mount --bind "$1" /tmp/.X11-unix && shift &&
		DISPLAY=:0 XAUTHORITY="$1" && export DISPLAY XAUTHORITY && shift && exec "$@"' \
		sh "$tmp/run/sessions/$id/x11" "$tmp/xauth-$id" "$bench" spawn --raw --runs 10 -- "$@"
}
in_session() {
	$mxc exec "$id" -- ./bench-computer-use spawn --raw --runs 10 -- "$@" </dev/null
}
# Nanoseconds, one a line -> "runs median p99" in milliseconds.
summary() {
	sort -n | awk '{a[NR] = $1} END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		r = int(NR * 0.99); if (r < NR * 0.99) r++; if (r < 1) r = 1
		printf "%5d %10.2f %10.2f", NR, m / 1e6, a[r] / 1e6 }'
}
for _ in 1 2; do
	host_spawn /usr/bin/scrot -o "$tmp/out/spawn.png" >>"$tmp/scrot-host.ns"
	in_session /usr/bin/scrot -o /tmp/spawn.png >>"$tmp/scrot-session.ns"   # its own /tmp
	host_spawn /usr/bin/xdotool mousemove 400 300 click 1 >>"$tmp/xdotool-host.ns"
	in_session /usr/bin/xdotool mousemove 400 300 click 1 >>"$tmp/xdotool-session.ns"
done
rm -f "$home/bench-computer-use"
echo
echo "   Where the tools run: on the host with DISPLAY=:0 (bind mount; as measured above) or"
echo "   inside the session as the agent (mxc exec); spawn to exit, host and session alternating"
printf '  %-50s %5s %10s %10s\n' "" runs "median ms" "p99 ms"
printf '  %-50s %s\n' "scrot -o FILE, on the host" "$(summary <"$tmp/scrot-host.ns")"
printf '  %-50s %s\n' "scrot -o FILE, inside the session" "$(summary <"$tmp/scrot-session.ns")"
printf '  %-50s %s\n' "xdotool mousemove X Y click 1, on the host" \
	"$(summary <"$tmp/xdotool-host.ns")"
printf '  %-50s %s\n' "xdotool mousemove X Y click 1, inside the session" \
	"$(summary <"$tmp/xdotool-session.ns")"

# Many sessions at once.
targets=(--session "$first")
for _ in $(seq 2 "$sessions"); do targets+=(--session "$(start_session)"); done
run "$bench" load --socket "$MXC_SOCKET" --seconds "$seconds" --daemon-pid "$daemon" "${targets[@]}"

echo
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
while read -r sid _; do $mxc session stop "$sid" >/dev/null; done <"$tmp/sessions"
: >"$tmp/sessions"
INNER
inner=$!
trap 'kill -TERM "$inner" 2>/dev/null; wait "$inner"; exit 130' INT TERM
wait "$inner"
