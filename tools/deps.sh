#!/bin/sh
# Build musl 1.2.3, BearSSL and tinycdb from Debian's source packages into
# build/deps/<musl-triple>/ (prefix with bin/musl-gcc, lib/, include/).
# Usage: tools/deps.sh [GNU_TRIPLE]   (default: x86_64-linux-gnu)
# Idempotent: a stamp file per target makes a second run a no-op.
# Sources are fetched with a private apt configuration (no change to
# /etc/apt); nothing third-party is committed to the repository.
set -eu
# A parent make (make O=…) must not leak its variables into these builds
# (BearSSL uses $(O) itself).
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL

GNU=${1:-x86_64-linux-gnu}
case "$GNU" in
x86_64-linux-gnu) T=x86_64-linux-musl ;;
aarch64-linux-gnu) T=aarch64-linux-musl ;;
arm-linux-gnueabihf) T=arm-linux-musleabihf ;;
mipsel-linux-gnu) T=mipsel-linux-musl ;;
*) echo "deps.sh: unsupported triple '$GNU'" >&2; exit 64 ;;
esac

TOP=$(cd "$(dirname "$0")/.." && pwd)
D=$TOP/build/deps
P=$D/$T
STAMP=$P/.stamp-v1
[ -f "$STAMP" ] && exit 0

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dpkg-source || ! need "$GNU-gcc" || ! need make; then
	if [ "$(id -u)" = 0 ]; then
		apt-get -qq update
		pkgs="dpkg-dev make xz-utils"
		[ "$GNU" = x86_64-linux-gnu ] && pkgs="$pkgs gcc" || pkgs="$pkgs gcc-$GNU"
		DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends $pkgs
	else
		echo "deps.sh: need dpkg-source and $GNU-gcc (run as root to install)" >&2
		exit 1
	fi
fi

SRC=$D/src
if [ ! -f "$SRC/.fetched" ]; then
	A=$D/apt
	mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc/apt.conf.d" \
		"$A/etc/preferences.d" "$A/etc/sources.list.d" "$SRC"
	# Same archive the machine uses for binary packages.
	URI=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
		grep -v security | head -n1)
	[ -n "$URI" ] || URI=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$URI" ] || { echo "deps.sh: cannot find the Debian archive URI in /etc/apt" >&2; exit 1; }
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $URI bookworm main" \
		>"$A/etc/sources.list"
	APT="-o Dir::Etc=$A/etc -o Dir::Etc::SourceList=$A/etc/sources.list
	     -o Dir::Etc::SourceParts=$A/etc/sources.list.d -o Dir::State::Lists=$A/lists
	     -o Dir::Cache=$A/cache -o Dir::Etc::Trusted=/etc/apt/trusted.gpg
	     -o Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d -o Debug::NoLocking=1
	     -o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	apt-get $APT -qq update
	cd "$SRC"
	# shellcheck disable=SC2086
	apt-get $APT -qq --download-only source bearssl tinycdb musl
	for dsc in bearssl_*.dsc tinycdb_*.dsc musl_*.dsc; do
		dpkg-source --no-check -x "$dsc" >/dev/null
	done
	echo "deps.sh: sources fetched:" $(ls ./*.dsc)
	# Known-good checksums (2026-11-29); a mismatch is a warning only: a
	# point release may replace a package.
	cat >sums.txt <<'SUMS'
102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004  bearssl_0.6+dfsg.1.orig.tar.xz
051264300dffd810e7ea08f8210d3f9f61773dcd322086c0cbd02bee8d1f73df  bearssl_0.6+dfsg.1-3.debian.tar.xz
0aa39e0004bf890f429ceed597c781ba47bb603245a2737210b99f1772798079  tinycdb_0.78.tar.gz
7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4  musl_1.2.3.orig.tar.gz
8f12cc808dbec030179a25ce2645a4c0b622ee8011c2afcec53b87ec5867a8cc  musl_1.2.3-1.debian.tar.xz
SUMS
	sha256sum -c --quiet sums.txt 2>/dev/null ||
		echo "deps.sh: warning: source checksums differ from the ones last verified (new Debian revision?)" >&2
	touch .fetched
fi

MUSL=$(ls -d "$SRC"/musl-*/ | head -n1)
BEARSSL=$(ls -d "$SRC"/bearssl-*/ | head -n1)
CDB=$(ls -d "$SRC"/tinycdb-*/ | head -n1)
J=$(nproc 2>/dev/null || echo 2)

echo "deps.sh: building musl for $T"
B=$D/build-musl-$T
rm -rf "$B" && mkdir -p "$B" && cd "$B"
"$MUSL/configure" --target="$T" --prefix="$P" --syslibdir="$P/lib" --disable-shared \
	--enable-wrapper=gcc \
	CROSS_COMPILE="$GNU-" CC="$GNU-gcc" CFLAGS=-Os >/dev/null
make -s -j"$J" >/dev/null
make -s install >/dev/null
MCC=$P/bin/musl-gcc

echo "deps.sh: building BearSSL for $T"
make -s -C "$BEARSSL" -j"$J" BUILD="build-$T" CC="$MCC" LD="$MCC" LDDLL="$MCC" \
	AR="$GNU-ar" CFLAGS='-Os -ffunction-sections -fdata-sections' lib >/dev/null
cp "$BEARSSL/build-$T/libbearssl.a" "$P/lib/"
cp "$BEARSSL"/inc/*.h "$P/include/"

echo "deps.sh: building tinycdb for $T"
rm -rf "$D/build-cdb-$T" && cp -r "$CDB" "$D/build-cdb-$T"
make -s -C "$D/build-cdb-$T" CC="$MCC" AR="$GNU-ar" RANLIB="$GNU-ranlib" \
	CFLAGS='-Os -ffunction-sections -fdata-sections' libcdb.a >/dev/null
cp "$D/build-cdb-$T/libcdb.a" "$P/lib/"
cp "$D/build-cdb-$T/cdb.h" "$P/include/"

echo "deps.sh: $T ready: musl $(basename "$MUSL"), $(basename "$BEARSSL"), $(basename "$CDB")"
touch "$STAMP"
