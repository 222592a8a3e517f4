#!/bin/bash
# The end-to-end demo: installs dependencies, builds and installs mxc, starts
# mxc-sessiond, and runs a real agent session: a dedicated account, an isolated desktop,
# a command inside it, a screenshot, the audit trail. Everything it starts is ended again
# (the agent account removed, the daemon stopped) unless --keep is given; the screenshot
# and the audit log (in /var/lib/mxc) stay.
#
#   scripts/demo.sh          run the demo
#   scripts/demo.sh --keep   leave the daemon and the agent 'coder' for you to play with
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/setup.sh
echo "==> installing mxc into /usr/local"
meson install -C build --quiet
export PATH=/usr/local/sbin:/usr/local/bin:$PATH

out="$PWD/demo-out"
mkdir -p "$out"
log=/var/log/mxc-sessiond.log
daemon=""
cleanup() {
	if ! $keep; then
		mxc agent remove coder >/dev/null 2>&1 || true
		[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	fi
}
trap cleanup EXIT

if [ -S /run/mxc/sessiond.sock ] && mxc version >/dev/null 2>&1; then
	echo "==> using the mxc-sessiond already running"
else
	echo "==> starting mxc-sessiond (log: $log)"
	mxc-sessiond >>"$log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do mxc version >/dev/null 2>&1 && break; sleep 0.1; done
fi

run() {
	echo
	echo "\$ $*"
	"$@"
}

echo "==> the demo"
mxc agent show coder >/dev/null 2>&1 || run mxc agent add coder
# A policy that lets the agent hand a text document to its owner.
cat >"$out/policy.json" <<'JSON'
{"version": "mxc/1",
 "ui": {"allowWindows": true, "clipboard": "none", "allowInputInjection": true},
 "session": {"handoff": [{"direction": "agent-to-human", "mime": ["text/plain"],
                          "maxBytes": 1048576, "action": "allow"}]}}
JSON
echo
echo "\$ mxc session start coder --policy $out/policy.json -- xterm ..."
id=$(mxc session start coder --policy "$out/policy.json" -- xterm -geometry 90x20+40+40 -e sh -c \
	'echo "Hello from agent $USER, session $MXC_SESSION, display $DISPLAY"; echo; id; echo; ls -la ~; exec sleep infinity')
echo "$id"
run mxc exec "$id" -- id -u
run mxc exec "$id" -- sh -c 'ls /home /root 2>&1; echo "host homes: not visible"'
sleep 1 # let xterm draw
run mxc screenshot "$id" -o "$out/shot.png"
# The agent hands a document over from inside its session; its owner accepts it.
run mxc exec "$id" -- sh -c 'echo "what the agent found" >~/report.txt &&
	mxc handoff send ~/report.txt --note "the report"'
rid=$(mxc handoff list --json | sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)
rm -f "$out/report.txt"
run mxc handoff accept "$rid" -o "$out"
run cat "$out/report.txt"
run mxc session list
run mxc session stop "$id"
run mxc audit --session "$id"
run mxc audit --verify

echo
echo "==> screenshot of the agent's desktop: $out/shot.png"
if $keep; then
	echo "==> kept: mxc-sessiond (pid ${daemon:-already running}) and agent 'coder'; try: mxc session start coder"
	trap - EXIT
fi
