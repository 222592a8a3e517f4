#!/bin/bash
# The whole test suite: installs dependencies, builds, runs every unit and integration
# test (the real daemon, real Xvfb, real namespaces, run as root in private mount
# namespaces that leave the host untouched).
#
#   scripts/test.sh            the suite
#   scripts/test.sh --asan     the suite again under AddressSanitizer and UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "==> running the test suite"
meson test -C build --print-errorlogs --num-processes 2

if [ "${1:-}" = "--asan" ]; then
	echo "==> running the test suite under ASan and UBSan"
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Dsysconfdir=/etc -Db_sanitize=address,undefined \
			-Db_lundef=false >/dev/null
	fi
	ninja -C build-asan
	# Every process writes its sanitizer reports here, the daemons and CLIs the integration
	# tests start included: any report fails the run.
	logs=$(mktemp -d /tmp/mxc-asan-XXXXXX)
	trap 'rm -rf "$logs"' EXIT
	export ASAN_OPTIONS="detect_leaks=1:log_exe_name=1:log_path=$logs/asan"
	export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
	meson test -C build-asan --print-errorlogs --num-processes 2
	# (A log that only lists the suppressions used is not a report.)
	if grep -l -e "ERROR: " -e "runtime error" "$logs"/* >/dev/null 2>&1; then
		cat "$logs"/*
		echo "==> sanitizer reports above" >&2
		exit 1
	fi
fi
echo "==> all tests passed"
