#!/bin/sh
# make test: build, sanitizer build, lint, unit, golden, integration and fuzz
# tests. Every step's output goes to build/test-logs/; a step that prints
# "N passed, M failed" adds its counts, any other step counts as one test.
# Ends with the total line "N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
LOGS=build/test-logs
mkdir -p "$LOGS"
PASS=0
FAIL=0
J=$(nproc 2>/dev/null || echo 2)

step() {
	name=$1
	shift
	log=$LOGS/$name.log
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	elif [ "$rc" = 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	echo "[$name] $p passed, $f failed ($(($(date +%s) - start)) s)"
	if [ "$f" != 0 ]; then
		echo "---- $log (last 40 lines) ----"
		tail -n 40 "$log"
		echo "----"
	fi
}

run_units() {
	dir=$1
	tp=0 tf=0
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		rc=$?
		echo "$out"
		line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		[ -n "$p" ] || p=0
		[ -n "$f" ] || f=0
		[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
		echo "$t: $p passed, $f failed"
		tp=$((tp + p)) tf=$((tf + f))
	done
	echo "$tp passed, $tf failed"
	[ "$tf" = 0 ]
}

step build make -j"$J" all
step build-asan make -j"$J" asan
step lint make lint
step unit-build make -j"$J" unit
step unit-asan run_units build/asan/unit
step unit-musl run_units build/unit
step integ-static env TINYMTA=build/tinymta tests/integ/run.sh
step integ-asan env TINYMTA=build/asan/tinymta tests/integ/run.sh
step fuzz make -j"$J" fuzz FUZZTIME=5
# One cross board: unit tests and an SMTP round trip under qemu-user.
step cross-aarch64 tools/crosstest.sh aarch64
# The x86_64 appliance image: boot and power-cut tests under QEMU (TCG
# when KVM is not usable; tests/image/test_image.py).
step image make -j"$J" image BOARD=x86_64
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	step image-test python3 tests/image/test_image.py
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
