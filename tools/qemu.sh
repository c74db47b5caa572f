#!/bin/sh
# make qemu BOARD=...: boot the board's appliance image (make image) under
# QEMU with the serial console on stdio (Ctrl-A X quits; `poweroff` on the
# console shuts down cleanly) and DESIGN.md's port forwards on 127.0.0.1:
#   2525->25 smtp, 2587->587 submission, 2465->465 smtps,
#   2110->110 pop3, 2995->995 pop3s, 2080->80 web UI
# The spool partition is a working copy, build/BOARD/spool-run.img, made
# from the fresh spool.img when missing: it keeps queue, mailboxes and
# configuration across runs and across new images (rm it to start over).
# Environment (the image tests use it):
#   SPOOL=FILE      the spool image to use instead of spool-run.img
#   PORTS="H:G …"   host:guest TCP forwards instead of the list above
#   QEMU_EXTRA=…    more QEMU arguments
# The script execs QEMU: its pid is QEMU's (the power-cut test kills it).
set -eu
cd "$(dirname "$0")/.."
BOARD=${1:?usage: tools/qemu.sh BOARD}
. "./board/$BOARD/board.conf"
OUT=build/$BOARD
for f in rootfs.squashfs spool.img vmlinuz initrd.gz; do
	[ -f "$OUT/$f" ] || { echo "qemu.sh: $OUT/$f missing: make image BOARD=$BOARD" >&2; exit 1; }
done
command -v "$QEMU_SYSTEM" >/dev/null ||
	{ echo "qemu.sh: $QEMU_SYSTEM missing (tools/testdeps.sh installs it)" >&2; exit 1; }
if [ -z "${SPOOL:-}" ]; then
	SPOOL=$OUT/spool-run.img
	[ -f "$SPOOL" ] || cp "$OUT/spool.img" "$SPOOL"
fi
PORTS=${PORTS:-"2525:25 2587:587 2465:465 2110:110 2995:995 2080:80"}
fwd=
for p in $PORTS; do
	fwd="$fwd,hostfwd=tcp:127.0.0.1:${p%%:*}-:${p#*:}"
done
# KVM when the CPU and /dev/kvm allow it, else TCG (these build machines'
# /dev/kvm is not usable: NOTES-toolchain.md).
accel=tcg
if [ "$QEMU_KVM" = yes ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
	accel=kvm
fi
# shellcheck disable=SC2086
exec "$QEMU_SYSTEM" $QEMU_MACHINE -accel "$accel" -nographic -no-reboot \
	-kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.gz" \
	-append "console=$CONSOLE panic=-1 quiet" \
	-drive "file=$OUT/rootfs.squashfs,if=none,id=root,format=raw,readonly=on" \
	-device "$QEMU_DISK,drive=root" \
	-drive "file=$SPOOL,if=none,id=spool,format=raw" \
	-device "$QEMU_DISK,drive=spool" \
	-netdev "user,id=n0$fwd" -device "$QEMU_NET,netdev=n0" \
	-device "$QEMU_RNG" ${QEMU_EXTRA:-}
