#!/bin/sh
# Install what `make test` needs from Debian's packages (idempotent; root only).
# Postfix is installed with "No configuration" so that it never starts on its
# own: its smtp-source/smtp-sink and a private instance serve the tests and
# `make bench`.
set -eu
PKGS="clang llvm libclang-rt-14-dev cppcheck clang-format libbearssl-dev libcdb-dev
      dpkg-dev make xz-utils python3 file swaks postfix socat faketime strace
      dnsmasq-base iproute2 openssl python3-aiosmtpd
      qemu-user-static gcc-aarch64-linux-gnu qemu-system-x86 squashfs-tools kmod
      cpio e2fsprogs fetchmail chromium python3-websocket"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "testdeps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "testdeps.sh: installing$missing"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get -qq update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends $missing >/dev/null
