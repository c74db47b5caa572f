#!/bin/sh
# Integration tests: run every tests/integ/test_*.py against the binary named
# by $TINYMTA (default build/tinymta). Each prints "N passed, M failed";
# the sum is printed last.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${TINYMTA:=build/tinymta}"
export TINYMTA
# As root (CI), the unprivileged mail_owner user must exist.
if [ "$(id -u)" = 0 ] && ! id tinymta >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin tinymta || exit 1
fi
# Sanitizer reports from any process (daemon children included) land in
# files; each one found afterwards is a failure.
SANLOG=$(mktemp -d /tmp/tinymta-san.XXXXXX)
chmod 1777 "$SANLOG"
export ASAN_OPTIONS="log_path=$SANLOG/asan:detect_leaks=0"
export UBSAN_OPTIONS="log_path=$SANLOG/ubsan:print_stacktrace=1:halt_on_error=1"
tp=0 tf=0
for t in tests/integ/test_*.py; do
	[ -f "$t" ] || continue
	out=$(timeout 600 python3 -u "$t" 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	echo "== $t: $p passed, $f failed"
	tp=$((tp + p)) tf=$((tf + f))
done
for f in "$SANLOG"/*; do
	[ -f "$f" ] || continue
	echo "FAIL sanitizer report $f:"
	head -40 "$f"
	tf=$((tf + 1))
done
rm -rf "$SANLOG"
echo "$tp passed, $tf failed"
[ "$tf" = 0 ]
