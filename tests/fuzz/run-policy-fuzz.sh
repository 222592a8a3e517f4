#!/bin/sh
# Builds the policy parser's libFuzzer target with ASan and UBSan (outside meson, in a
# temporary directory) and fuzzes it for SECONDS (default 600) from tests/fuzz/corpus/policy.
#
#   tests/fuzz/run-policy-fuzz.sh [SECONDS] [--merge]
#
# New inputs go to a temporary corpus; with --merge, those that reach new code are added to
# tests/fuzz/corpus/policy afterwards. Crashes are written to the temporary directory, which
# is kept (and named) when the run finds any; copy a reproducer into the corpus as
# regress-WHAT.json once it is fixed (the unit tests parse every corpus file).
#
# Environment: CC (default clang), JOBS (parallel fuzzing processes, default 1; with more
# than one, each writes its log to fuzz-N.log in the temporary directory).
set -eu

secs=600
merge=0
for arg in "$@"; do
	case "$arg" in
	--merge) merge=1 ;;
	*[!0-9]*|'') echo "usage: $0 [SECONDS] [--merge]" >&2; exit 2 ;;
	*) secs=$arg ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus="$here/corpus/policy"
cc=${CC:-clang}
jobs=${JOBS:-1}
parallel=
if [ "$jobs" -gt 1 ]; then
	parallel="-jobs=$jobs -workers=$jobs"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mxc-fuzz-policy.XXXXXX")

echo "building in $work"
$cc -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -D_GNU_SOURCE -std=gnu11 \
	-I"$root/policies" -I"$root/common" $(pkg-config --cflags json-c) \
	"$here/fuzz-policy.c" "$root"/policies/*.c \
	"$root/common/error.c" "$root/common/json.c" "$root/common/digest.c" \
	"$root/common/util.c" "$root/common/fs.c" \
	$(pkg-config --libs json-c libcrypto) -o "$work/fuzz-policy"

mkdir -p "$work/new" "$work/artifacts"
cd "$work" # -jobs writes fuzz-N.log into the working directory
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$work/fuzz-policy" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=8192 -dict="$here/policy.dict" -artifact_prefix="$work/artifacts/" \
	$parallel -print_final_stats=1 \
	"$work/new" "$corpus" 2>&1 | tee "$work/fuzz.log" | grep -v '^#[0-9]*.*\(NEW\|REDUCE\|pulse\)' || true
if ls "$work"/artifacts/* >/dev/null 2>&1; then
	echo "CRASHES FOUND: see $work/artifacts (log: $work/fuzz.log)" >&2
	status=1
fi
if [ -f "$work/fuzz-0.log" ]; then
	cat "$work"/fuzz-*.log >>"$work/fuzz.log"
fi

if [ "$merge" = 1 ] && [ "$status" = 0 ]; then
	# Adds only the new inputs that reach an edge the corpus does not (hit counts are not
	# compared), under libFuzzer's content-hash names: the corpus grows slowly and its
	# existing files stay put.
	"$work/fuzz-policy" -merge=1 -use_counters=0 -max_len=8192 "$corpus" "$work/new" \
		>"$work/merge.log" 2>&1
	grep 'MERGE-OUTER: .* new files' "$work/merge.log" || true
	echo "corpus: $(ls "$corpus" | wc -l) files"
fi

if [ "$status" = 0 ]; then
	rm -rf "$work"
fi
exit $status
