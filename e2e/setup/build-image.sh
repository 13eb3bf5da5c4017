#!/usr/bin/env bash
# build-image.sh [OUTDIR] builds the small Debian guest image that vmhook's end-to-end tests boot with Lima:
# a debootstrap minbase root filesystem on a bare ext4 disk (no partitions, no bootloader) plus the kernel and
# initrd that Lima hands to QEMU directly. The result is cached in
#   ${OUTDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmhook-e2e}/image-<hash>/{disk.qcow2,vmlinuz,initrd.img}
# where <hash> covers this script and everything it reads that shapes the image (the mirror, the suite), so
# the image is rebuilt only when the recipe changes. The image directory is printed on stdout; progress goes
# to stderr. Building needs root (debootstrap, chroot); a cached image is printed without it.
#
# Environment: VMHOOK_E2E_MIRROR overrides the Debian mirror, which is otherwise read from the machine's apt
# sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and *.sources).
set -euo pipefail

readonly SUITE=bookworm
readonly ARCH=amd64
readonly PACKAGES=(
	systemd systemd-sysv udev dbus libpam-systemd
	# The generic kernel: the cloud one has no 9p, the project mount vmhook asks Lima for under QEMU.
	linux-image-amd64 initramfs-tools
	# debootstrap cannot resolve the virtual package that cloud-init needs through python3-cryptography.
	cloud-init python3-cffi-backend
	openssh-server sudo
	# Lima's boot scripts apt-get install these when missing (rsync: Lima v2); the guest may have no network.
	sshfs fuse3 iptables rsync
	# Sessions (session: tmux) attach to a tmux session in the guest.
	tmux
	iproute2 procps kmod e2fsprogs netbase python3 netcat-openbsd ca-certificates less
)

log() { printf 'build-image: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# apt_mirror prints the first http(s)/ftp/file URI of an enabled "deb" source for $SUITE found in the
# machine's apt configuration, in deb822 (.sources) or one-line (.list) format, followed by a tab and the
# source's Signed-By keyring file when it names one.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no" && uri != "")
					{ print uri "\t" keyring; found = 1; exit }
				types = suites = uri = keyring = ""; enabled = "yes"
			}
			BEGIN { enabled = "yes" }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[^ \t]/ {
				key = tolower($1); sub(/:$/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = tolower(val)
				else if (key == "signed-by" && val ~ /^\//) keyring = val
				else if (key == "uris") { split(val, u, /[ \t]+/); uri = u[1] }
			}
			END { if (!found) flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk -v suite="$SUITE" '
			$1 != "deb" { next }
			{
				i = 2; keyring = ""
				if ($i ~ /^\[/) {
					while (i <= NF) {
						if ($i ~ /^\[?signed-by=/) { k = $i; sub(/^\[?signed-by=/, "", k); sub(/\]$/, "", k); keyring = k }
						if ($i ~ /\]$/) { i++; break }
						i++
					}
				}
				if ($(i + 1) == suite) { print $i "\t" keyring; exit }
			}
		' "$f"
	done
}

# world_searchable_or_warn warns when some directory above $1 keeps other users (the unprivileged user that
# runs limactl) from reaching it.
world_searchable_or_warn() {
	local d=$1 mode
	while [[ $d != / ]]; do
		mode=$(stat -c %A "$d")
		if [[ ${mode:9:1} != [xt] ]]; then
			log "note: $d is not searchable by other users, so lima-home.sh will link the image into LIMA_HOME"
			return 0
		fi
		d=$(dirname "$d")
	done
}

base=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/vmhook-e2e}
mkdir -p "$base"
base=$(cd "$base" && pwd -P)

source_line=${VMHOOK_E2E_MIRROR:-$(apt_mirror | head -n 1)}
mirror=${source_line%%$'\t'*}
keyring=
[[ $source_line == *$'\t'* ]] && keyring=${source_line#*$'\t'}
[[ -n $mirror ]] || die "no enabled 'deb' source for $SUITE in /etc/apt/sources.list{,.d/*}; set VMHOOK_E2E_MIRROR"
[[ $mirror =~ ^(https?|ftp|file):// ]] || die "unsupported apt source URI $mirror; set VMHOOK_E2E_MIRROR"

self=${BASH_SOURCE[0]}
hash=$( { cat "$self"; printf 'suite=%s\narch=%s\nmirror=%s\n' "$SUITE" "$ARCH" "$mirror"; } |
	sha256sum | cut -c1-16)
image="$base/image-$hash"

complete() { [[ -s $1/disk.qcow2 && -s $1/vmlinuz && -s $1/initrd.img && -s $1/recipe ]]; }

if complete "$image"; then
	printf '%s\n' "$image"
	exit 0
fi

[[ $(id -u) -eq 0 ]] || die "building the image needs root (debootstrap, chroot); run as root"
for tool in debootstrap chroot mkfs.ext4 qemu-img flock; do
	command -v "$tool" >/dev/null || die "$tool not found; apt-get install debootstrap e2fsprogs qemu-utils util-linux"
done

# One build at a time per cache: a second caller waits, then finds the finished image.
exec 9>"$base/.lock"
if ! flock -n 9; then
	log "waiting for another build in $base"
	flock 9
fi
if complete "$image"; then
	printf '%s\n' "$image"
	exit 0
fi

chmod 755 "$base"
mkdir -p "$base/debs"
work=$(mktemp -d "$base/build.XXXXXX")
root="$work/rootfs"

cleanup() {
	local m
	# debootstrap leaves /proc and friends mounted when it fails half-way.
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$SECONDS
log "debootstrap $SUITE from $mirror into $work (log: $work/debootstrap.log)"
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
args=(--variant=minbase --arch="$ARCH" --include="$include" --cache-dir="$base/debs")
[[ -n $keyring && -r $keyring ]] && args+=(--keyring="$keyring")
if ! debootstrap "${args[@]}" "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	[[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
	die "debootstrap failed"
fi
log "debootstrap done in $((SECONDS - start)) s"

# The generic kernel carries drivers for hardware this VM never has: those go. Input stays: the ACPI power
# button reaches systemd-logind as an input event, and without it Lima's stop waits out its timeout and kills
# QEMU. The initrd keeps only what mounts the root disk.
for kdir in "$root"/lib/modules/*/; do
	kver=$(basename "$kdir")
	rm -rf "$kdir"kernel/sound "$kdir"kernel/drivers/{gpu,media,infiniband,staging,isdn,bluetooth,iio,usb,video,hwmon,mmc,mtd,nfc,thunderbolt,w1,leds,comedi,fpga,spi,ata,firewire,pcmcia,target,edac,android,hv,xen}
	rm -rf "$kdir"kernel/drivers/net/{wireless,ethernet,usb,wwan,can,ieee802154,hamradio,ppp,slip,wan,fddi,arcnet,plip}
	rm -rf "$kdir"kernel/net/{bluetooth,wireless,mac80211,nfc,ieee802154,can,6lowpan,mac802154}
	chroot "$root" depmod -a "$kver"
done
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >"$root/etc/initramfs-tools/modules"
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$root/etc/initramfs-tools/conf.d/vmhook-e2e.conf"
chroot "$root" update-initramfs -u -k all >"$work/initramfs.log" 2>&1 || {
	tail -n 30 "$work/initramfs.log" >&2
	die "update-initramfs failed"
}

# Host-specific files debootstrap copies in.
printf 'localhost\n' >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' >"$root/etc/fstab"

# Lima's user-mode network answers DNS on this address; there is no systemd-resolved in the image.
rm -f "$root/etc/resolv.conf"
printf 'nameserver 192.168.5.3\n' >"$root/etc/resolv.conf"

cat >"$root/etc/cloud/cloud.cfg.d/90-vmhook-e2e.cfg" <<'EOF'
# Lima provides a NoCloud seed (the cidata ISO); do not probe for cloud metadata services.
datasource_list: [NoCloud, None]
# Lima changes the instance id on every boot, so per-instance modules re-run each time: keep the host keys
# and generate only ed25519 (RSA key generation costs seconds on an emulated CPU).
ssh_deletekeys: false
ssh_genkeytypes: [ed25519]
EOF

# Lima 1.0.7's boot script ends the user's login sessions (loginctl terminate-user) after it rewrites
# /etc/environment; an ssh login made by the host agent at that moment hangs for minutes. So sshd starts
# only once the boot script says it is past that point, with a timer as a fallback.
cat >"$root/etc/systemd/system/vmhook-ssh-gate.path" <<'EOF'
[Unit]
Description=Start sshd once Lima's boot script has set up the environment

[Path]
PathExists=/run/lima-ssh-ready
PathExists=/run/lima-boot-done
Unit=ssh.service

[Install]
WantedBy=multi-user.target
EOF
cat >"$root/etc/systemd/system/vmhook-ssh-fallback.timer" <<'EOF'
[Unit]
Description=Start sshd even if Lima's boot script never signals

[Timer]
OnBootSec=180
Unit=ssh.service

[Install]
WantedBy=timers.target
EOF

chroot "$root" systemctl -q disable ssh.service
chroot "$root" systemctl -q enable systemd-networkd.service vmhook-ssh-gate.path vmhook-ssh-fallback.timer
# Nothing in the test guest should run apt in the background.
chroot "$root" systemctl -q disable apt-daily.timer apt-daily-upgrade.timer 2>/dev/null || true

# systemd creates a fresh machine id on first boot when the file is empty.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*

mkdir -p "$work/out"
kernels=("$root"/boot/vmlinuz-*)
initrds=("$root"/boot/initrd.img-*)
((${#kernels[@]} == 1 && ${#initrds[@]} == 1)) || die "expected one kernel and one initrd in $root/boot"
[[ -f ${kernels[0]} && -f ${initrds[0]} ]] || die "no kernel or initrd in $root/boot"
cp "${kernels[0]}" "$work/out/vmlinuz"
cp "${initrds[0]}" "$work/out/initrd.img"
# QEMU loads the kernel and initrd from outside the disk.
rm -f "$root"/boot/initrd.img-* "$root"/boot/vmlinuz-*

rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
	"$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
	"$root"/var/lib/dpkg/*-old "$root"/var/log/*.log "$root"/var/log/apt/* "$root/debootstrap"

if awk -v r="$root/" 'index($2, r) == 1 { bad = 1 } END { exit !bad }' /proc/mounts; then
	die "something is still mounted under $root"
fi

log "making the disk"
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
size_mib=$((used_mib * 3 / 2 + 64))
((size_mib >= 1024)) || size_mib=1024
truncate -s "${size_mib}M" "$work/root.raw"
mkfs.ext4 -q -F -L lima-root -d "$root" "$work/root.raw"
qemu-img convert -c -O qcow2 "$work/root.raw" "$work/out/disk.qcow2"
rm -f "$work/root.raw"

{
	printf 'suite=%s\narch=%s\nmirror=%s\nhash=%s\nbuilt=%s\n' "$SUITE" "$ARCH" "$mirror" "$hash" "$(date -u +%FT%TZ)"
	printf 'packages=%s\n' "$include"
} >"$work/out/recipe"

chmod 755 "$work/out"
chmod 644 "$work/out"/*
rm -rf "$image"
mv "$work/out" "$image"
log "image ready in $((SECONDS - start)) s: $(du -sh "$image/disk.qcow2" | cut -f1) disk"
world_searchable_or_warn "$image"
printf '%s\n' "$image"
