#!/bin/sh
# make image BOARD=...: assemble the appliance image of a board under
# build/BOARD/ (docs/image.md):
#   rootfs.squashfs  read-only root: BusyBox (Debian's busybox-static),
#                    tinymta and its applet links, conf/ as defaults under
#                    /usr/share/tinymta/conf, the rootfs/ skeleton
#   spool.img        the writable partition, ext4 label "spool", empty:
#                    the first boot provisions it
#   vmlinuz, initrd.gz  Debian's kernel for the board and a small
#                    initramfs (BusyBox, the modules, tools/initramfs-init)
# Usage: tools/image.sh BOARD BINARY
# Packages come from the machine's Debian archive through a private apt
# configuration (build/dl/apt-ARCH); they are downloaded and extracted
# with dpkg-deb, never installed. Host tools: mksquashfs
# (squashfs-tools), depmod/modprobe (kmod), cpio, mkfs.ext4 (e2fsprogs).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BOARD=${1:?usage: tools/image.sh BOARD BINARY}
BIN=${2:?usage: tools/image.sh BOARD BINARY}
. "./board/$BOARD/board.conf"
OUT=$TOP/build/$BOARD
DL=$TOP/build/dl/$DEB_ARCH
mkdir -p "$OUT" "$DL"
for t in mksquashfs depmod modprobe cpio mkfs.ext4 dpkg-deb; do
	command -v "$t" >/dev/null ||
		{ echo "image.sh: $t missing (tools/testdeps.sh installs it)" >&2; exit 1; }
done
# Reproducible timestamps: the last commit's date.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

# ---- Debian packages for DEB_ARCH: busybox-static and the kernel --------
A=$TOP/build/dl/apt-$DEB_ARCH
APT="-o Dir::Etc=$A/etc -o Dir::Etc::SourceList=$A/etc/sources.list
     -o Dir::Etc::SourceParts=$A/etc/sources.list.d -o Dir::State::Lists=$A/lists
     -o Dir::State::status=$A/status -o Dir::Cache=$A/cache
     -o Dir::Etc::Trusted=/etc/apt/trusted.gpg -o Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d
     -o Debug::NoLocking=1 -o APT::Sandbox::User=root
     -o APT::Architecture=$DEB_ARCH -o APT::Architectures=$DEB_ARCH"
if [ ! -f "$A/.updated" ]; then
	mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc/apt.conf.d" \
		"$A/etc/preferences.d" "$A/etc/sources.list.d"
	: >"$A/status"
	URI=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
		grep -v security | head -n1)
	[ -n "$URI" ] || URI=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$URI" ] || { echo "image.sh: no Debian archive URI in /etc/apt" >&2; exit 1; }
	echo "deb [arch=$DEB_ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $URI bookworm main" \
		>"$A/etc/sources.list"
	# shellcheck disable=SC2086
	apt-get $APT -qq update
	touch "$A/.updated"
fi
# The metapackage's versioned dependency is the real kernel package.
# shellcheck disable=SC2086
KPKG=$(apt-cache $APT depends "$KERNEL_META" | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$KPKG" ] || { echo "image.sh: cannot resolve $KERNEL_META" >&2; exit 1; }
cd "$DL"
for p in busybox-static "$KPKG"; do
	# shellcheck disable=SC2086
	ls "${p}"_*.deb >/dev/null 2>&1 || apt-get $APT -qq download "$p"
done
cd "$TOP"
BBDEB=$(ls "$DL"/busybox-static_*.deb | tail -n1)
KDEB=$(ls "$DL/${KPKG}"_*.deb | tail -n1)
echo "image.sh: $BOARD: $(basename "$BBDEB"), $(basename "$KDEB")"

W=$OUT/work
rm -rf "$W" && mkdir -p "$W"
dpkg-deb -x "$BBDEB" "$W/bb"
BUSYBOX=$W/bb/bin/busybox
dpkg-deb -x "$KDEB" "$W/k"
KVER=$(ls "$W/k/lib/modules" | head -n1)
cp "$W/k/boot/$KERNEL_FILE-$KVER" "$OUT/vmlinuz"

# The applet list of this BusyBox (run under qemu-user on a cross board).
# shellcheck disable=SC2086
$QEMU_USER "$BUSYBOX" --list-full >"$W/bb.list"

# ---- initramfs: BusyBox, the modules, /init -----------------------------
I=$W/initramfs
mkdir -p "$I/bin" "$I/dev" "$I/proc" "$I/sys" "$I/newroot" "$I/lib/modules"
cp "$BUSYBOX" "$I/bin/busybox"
for a in sh mount umount mkdir insmod switch_root sleep cat head ls echo blkid; do
	ln -s busybox "$I/bin/$a"
done
depmod -b "$W/k" "$KVER"
: >"$I/lib/modules/load"
for m in $MODULES; do
	modprobe -d "$W/k" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	n=$(basename "$ko")
	case "$ko" in
	*.xz) xz -dc "$ko" >"$I/lib/modules/${n%.xz}"; n=${n%.xz} ;;
	*) cp "$ko" "$I/lib/modules/$n" ;;
	esac
	echo "$n" >>"$I/lib/modules/load"
done
cp tools/initramfs-init "$I/init"
chmod 755 "$I/init"
find "$I" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --owner=0:0 --quiet) |
	gzip -9n >"$OUT/initrd.gz"

# ---- root filesystem ------------------------------------------------------
R=$W/rootfs
mkdir -p "$R"
# The skeleton from the repository (rootfs/), without its README.
(cd rootfs && find . -path ./README.md -prune -o -print | cpio -pdm --quiet "$R")
for d in bin sbin usr/bin usr/sbin usr/lib usr/share/tinymta dev proc sys tmp run data mnt root var; do
	mkdir -p "$R/$d"
done
cp "$BUSYBOX" "$R/bin/busybox"
# tinymta and its applet links where scripts look for them.
install -m 755 "$BIN" "$R/usr/sbin/tinymta"
for a in $(grep -o '^APPLET.[a-z0-9_]*' src/applets.def | cut -c8-) mail; do
	case "$a" in
	tinymta) continue ;;
	mailq | newaliases | mail) ln -sf ../sbin/tinymta "$R/usr/bin/$a" ;;
	*) ln -sf tinymta "$R/usr/sbin/$a" ;;
	esac
done
ln -sf ../sbin/sendmail "$R/usr/lib/sendmail"
# BusyBox links for every applet whose name is still free.
while read -r p; do
	[ -e "$R/$p" ] || [ -L "$R/$p" ] && continue
	mkdir -p "$R/$(dirname "$p")"
	ln -s /bin/busybox "$R/$p"
done <"$W/bb.list"
# Defaults that the first boot copies to the writable partition.
mkdir -p "$R/usr/share/tinymta/conf"
cp conf/main.cf conf/master.cf conf/aliases conf/virtual "$R/usr/share/tinymta/conf/"
echo "$(cat VERSION 2>/dev/null || echo 0.1.0) $(git rev-parse --short HEAD 2>/dev/null)" \
	>"$R/usr/share/tinymta/version"
# Writable places: links into the spool partition (/data) and /tmp.
ln -sfn /data/etc/tinymta "$R/etc/tinymta"
ln -sfn /data/etc/tinymta/aliases "$R/etc/aliases"
ln -sfn /tmp/resolv.conf "$R/etc/resolv.conf"
ln -sfn /proc/mounts "$R/etc/mtab"
mkdir -p "$R/var/spool"
ln -sfn /data/mail "$R/var/mail"
ln -sfn /data/spool/tinymta "$R/var/spool/tinymta"
ln -sfn /tmp "$R/var/tmp"
ln -sfn /run "$R/var/run"
ln -sfn /tmp/log "$R/var/log"
chmod 1777 "$R/tmp"
chmod 700 "$R/root"
chmod 600 "$R/etc/shadow"
chmod 755 "$R/etc/init.d/"*
rm -f "$OUT/rootfs.squashfs"
mksquashfs "$R" "$OUT/rootfs.squashfs" -comp xz -noappend -all-root -quiet >/dev/null

# ---- the writable partition, empty: the first boot provisions it ---------
rm -f "$OUT/spool.img"
mkfs.ext4 -q -F -L spool -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 \
	"$OUT/spool.img" "$SPOOL_SIZE" >/dev/null

rm -rf "$W"
printf 'image.sh: %s: rootfs.squashfs %s B, spool.img %s, vmlinuz %s B, initrd.gz %s B, tinymta %s B\n' \
	"$BOARD" "$(stat -c %s "$OUT/rootfs.squashfs")" "$SPOOL_SIZE" \
	"$(stat -c %s "$OUT/vmlinuz")" "$(stat -c %s "$OUT/initrd.gz")" "$(stat -c %s "$BIN")"
