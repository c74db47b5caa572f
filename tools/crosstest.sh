#!/bin/sh
# make test BOARD=aarch64|armhf|mipsel: cross-build the static binary and the
# musl unit tests for the board, run every unit test under qemu-user
# (Debian's qemu-user-static), then a short SMTP round trip with the
# cross-built binary (tests/cross/test_roundtrip.py). Ends with
# "N passed, M failed".
# Usage: tools/crosstest.sh BOARD [units|roundtrip]   (default: both)
set -u
cd "$(dirname "$0")/.." || exit 1
BOARD=${1:?usage: tools/crosstest.sh BOARD [units|roundtrip]}
WHAT=${2:-all}
CONF=board/$BOARD/board.conf
[ -f "$CONF" ] || { echo "crosstest.sh: no $CONF" >&2; exit 64; }
. "./$CONF"
[ -n "$QEMU_USER" ] || { echo "crosstest.sh: $BOARD is the native board" >&2; exit 64; }
command -v "$QEMU_USER" >/dev/null ||
	{ echo "crosstest.sh: $QEMU_USER missing (tools/testdeps.sh installs qemu-user-static)" >&2; exit 1; }
J=$(nproc 2>/dev/null || echo 2)
B=build/$BOARD
tp=0 tf=0

make -s -j"$J" BOARD="$BOARD" all cross-unit || { echo "0 passed, 1 failed"; exit 1; }

# Static binaries of another architecture run as ./prog only through
# binfmt_misc: register Debian's qemu-user-static handler (root only) so
# that the daemon can re-execute itself for its roles. Without it, the
# round trip runs only `sendmail -bs` under an explicit qemu.
binfmt() {
	a=${QEMU_USER#qemu-}
	a=${a%-static}
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$a" ] && return 0
	[ "$(id -u)" = 0 ] || return 1
	mountpoint -q /proc/sys/fs/binfmt_misc ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 1
	[ -f "/usr/lib/binfmt.d/qemu-$a.conf" ] || return 1
	cat "/usr/lib/binfmt.d/qemu-$a.conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$a" ]
}

if [ "$WHAT" != roundtrip ]; then
	start=$(date +%s)
	for t in "$B"/unit/test_*; do
		[ -x "$t" ] || continue
		out=$(timeout 300 "$QEMU_USER" "$t" 2>&1)
		rc=$?
		line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		[ -n "$p" ] || p=0
		[ -n "$f" ] || f=0
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
		[ "$f" != 0 ] && echo "$out" | tail -n 30
		echo "$BOARD $(basename "$t"): $p passed, $f failed"
		tp=$((tp + p)) tf=$((tf + f))
	done
	echo "$BOARD unit tests under $QEMU_USER: $(($(date +%s) - start)) s"
fi

if [ "$WHAT" != units ]; then
	if binfmt; then CROSS_BINFMT=1; else CROSS_BINFMT=0; fi
	export CROSS_BINFMT
	out=$(TINYMTA="$B/tinymta" QEMU_USER="$QEMU_USER" timeout 300 \
		python3 tests/cross/test_roundtrip.py 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	tp=$((tp + p)) tf=$((tf + f))
fi

echo "$BOARD: stripped binary $(stat -c %s "$B/tinymta") bytes"
echo "$tp passed, $tf failed"
[ "$tf" = 0 ]
