#!/bin/bash
# The broker's throughput, side by side with what it replaces:
#   - a 1 MiB clipboard text, agent to human (`mxc clipboard pull -o`) and human to agent
#     (`mxc clipboard push -i`), against reading the same text straight off an X display with
#     `xclip -o` (what a user of a shared or forwarded display does, with no policy between);
#   - a 100 MiB document, agent to human (`mxc handoff send` inside the session, then
#     `mxc handoff accept`), against `cp` of the same file and `sha256sum` of it (the broker
#     copies and hashes it once on the way in and once on the way out).
#
#   bench/broker.sh [RUNS]        (as root, after building into ./build)
#
# Runs the real daemon in a private mount namespace with an overlay over /etc and temporary
# directories, like the test suite: nothing on the host is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
build=$PWD/build
[ -x "$build/sessiond/mxc-sessiond" ] || { echo "build first: scripts/setup.sh" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mxc-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{up,work,state,run,conf,out}

unshare -m --propagation private bash -s "$build" "$tmp" "$runs" <<'INNER'
set -euo pipefail
build=$1 tmp=$2 runs=$3
mount -t overlay overlay -o lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work /etc
mkdir -p /tmp/.X11-unix && mount -t tmpfs tmpfs /tmp/.X11-unix
export MXC_SOCKET=$tmp/run/sessiond.sock
mxc=$build/cli/mxc
"$build/sessiond/mxc-sessiond" --socket "$MXC_SOCKET" --state-dir "$tmp/state" \
	--runtime-dir "$tmp/run" --config-dir "$tmp/conf" --libexec-dir "$build/sessiond" \
	--log-level warning 2>"$tmp/daemon.log" &
daemon=$!
xvfb=
trap 'kill $daemon $xvfb 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do $mxc version >/dev/null 2>&1 && break; sleep 0.05; done

cat >"$tmp/policy.json" <<'JSON'
{"version": "mxc/1",
 "ui": {"allowWindows": true, "allowInputInjection": true, "clipboard": "all"},
 "session": {
  "clipboard": [
   {"direction": "agent-to-human", "mime": ["text/plain"], "maxBytes": 16777216, "action": "allow"},
   {"direction": "human-to-agent", "mime": ["text/plain"], "maxBytes": 16777216, "action": "allow"}],
  "handoff": [
   {"direction": "agent-to-human", "mime": ["application/octet-stream"], "maxBytes": 1073741824,
    "action": "allow"}]}}
JSON
$mxc agent add bench >/dev/null
id=$($mxc session start bench --policy "$tmp/policy.json")
home=$($mxc agent show bench --json | sed -n 's/.*"home": *"\([^"]*\)".*/\1/p')
install -o "$(stat -c %u "$home")" -m 0755 "$mxc" "$home/mxc"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
timed() { local out=$1; shift; local t0; t0=$(now); "$@" >/dev/null; echo $(( $(now) - t0 )) >>"$out"; }

# 1 MiB of text, on the agent's clipboard and on a plain X display of our own.
head -c 786432 /dev/urandom | base64 -w 0 | head -c 1048576 >"$tmp/text"
# (mxc exec passes its standard input on: this script is being read from it.)
$mxc exec "$id" -- sh -c "head -c 786432 /dev/urandom | base64 -w 0 | head -c 1048576 |
	xclip -selection clipboard -i >/dev/null 2>&1" </dev/null
Xvfb :78 -nolisten tcp -screen 0 640x480x24 2>/dev/null &
xvfb=$!
sleep 0.5
xclip -selection clipboard -i -display :78 <"$tmp/text" >/dev/null 2>&1

: >"$tmp/pull.ns"; : >"$tmp/push.ns"; : >"$tmp/xclip.ns"
for _ in $(seq "$runs"); do
	timed "$tmp/pull.ns" $mxc clipboard pull "$id" -o "$tmp/out/pulled"
	timed "$tmp/push.ns" $mxc clipboard push "$id" -i "$tmp/text" </dev/null
	timed "$tmp/xclip.ns" sh -c "xclip -o -selection clipboard -display :78 >$tmp/out/xclip"
done
[ "$(stat -c %s "$tmp/out/pulled")" = 1048576 ] || { echo "pull: wrong size" >&2; exit 1; }

# 100 MiB: the agent's file, handed over and accepted; cp and sha256sum for scale.
$mxc exec "$id" -- sh -c 'head -c 104857600 /dev/urandom >~/big.bin' </dev/null
head -c 104857600 /dev/urandom >"$tmp/big.bin"
: >"$tmp/send.ns"; : >"$tmp/accept.ns"; : >"$tmp/cp.ns"; : >"$tmp/sha.ns"
for i in $(seq "$runs"); do
	t0=$(now)
	rid=$($mxc exec "$id" -- "$home/mxc" --json handoff send "$home/big.bin" </dev/null |
		sed -n 's/.*"request": *"\([0-9a-f]*\)".*/\1/p')
	echo $(( $(now) - t0 )) >>"$tmp/send.ns"
	mkdir -p "$tmp/out/$i"
	timed "$tmp/accept.ns" $mxc handoff accept "$rid" -o "$tmp/out/$i"
	rm -rf "$tmp/out/$i"
	timed "$tmp/cp.ns" cp "$tmp/big.bin" "$tmp/out/copy"
	rm -f "$tmp/out/copy"
	timed "$tmp/sha.ns" sha256sum "$tmp/big.bin"
done

pull=$(median <"$tmp/pull.ns"); push=$(median <"$tmp/push.ns"); xc=$(median <"$tmp/xclip.ns")
send=$(median <"$tmp/send.ns"); acc=$(median <"$tmp/accept.ns")
cpm=$(median <"$tmp/cp.ns"); sha=$(median <"$tmp/sha.ns")
echo "runs: $runs (medians, ms)"
echo "clipboard 1 MiB: mxc pull $pull, mxc push $push, xclip -o (no broker) $xc; pull/xclip $(ratio "$pull" "$xc")"
echo "document 100 MiB: mxc handoff send $send (through mxc exec), accept $acc; cp $cpm, sha256sum $sha; (send+accept)/(cp+sha256sum) $(ratio "$(awk -v a="$send" -v b="$acc" 'BEGIN{print a+b}')" "$(awk -v a="$cpm" -v b="$sha" 'BEGIN{print a+b}')")"
INNER
