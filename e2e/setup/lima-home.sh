#!/usr/bin/env bash
# lima-home.sh IMAGE_DIR LIMA_HOME prepares a LIMA_HOME in which an unchanged vmhook-generated Lima config
# boots on this kind of machine, offline: Lima merges $LIMA_HOME/_config/override.yaml into every instance,
# and the override below puts the local image from build-image.sh ahead of the config's remote images, forces
# TCG (cpuType qemu64: this machine's /dev/kvm cannot run a guest), boots with legacy BIOS (no OVMF, no
# bootloader: QEMU loads the kernel and initrd).
# Lima v1 reads cpuType at the top level and switches to TCG for qemu64; Lima v2 reads vmOpts.qemu.cpuType
# and chooses KVM whenever /dev/kvm exists, so under v2 the accelerator is switched by qemu-tcg.sh (the
# harness points QEMU_SYSTEM_X86_64 at it). Both keys are written: each version ignores the other's.
#
# Run as root, LIMA_HOME is created for and owned by the unprivileged user that runs limactl
# (VMHOOK_E2E_USER, default vmhook-test); run as that user, it is created as is. When the user cannot read
# IMAGE_DIR (e.g. it is under root's home), the image is hard-linked (or copied) into LIMA_HOME/_image.
# LIMA_HOME is printed on stdout.
set -euo pipefail

log() { printf 'lima-home: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

(($# == 2)) || die "usage: lima-home.sh IMAGE_DIR LIMA_HOME"
image=$1
home=$2
user=${VMHOOK_E2E_USER:-vmhook-test}

for f in disk.qcow2 vmlinuz initrd.img; do
	[[ -s $image/$f ]] || die "$image/$f missing; run build-image.sh first"
done
image=$(cd "$image" && pwd -P)

[[ $home == /* ]] || die "LIMA_HOME must be an absolute path, got $home"
[[ $home != *[\"\\[:cntrl:]]* && $image != *[\"\\[:cntrl:]]* ]] || die "paths with quotes or backslashes are not supported"
home=${home%/}
# Lima puts ssh's ControlPath at $LIMA_HOME/NAME/ssh.sock.<16 random digits>, and a UNIX socket path must be
# shorter than 108 bytes on Linux (104 on macOS, the budget vmhook itself checks).
sock_suffix=/ssh.sock.1234567890123456
name_budget=$((104 - 1 - ${#home} - 1 - ${#sock_suffix}))
((name_budget >= 20)) ||
	die "LIMA_HOME $home is too long: instance names could only be $name_budget characters; use e.g. /tmp/vmh-e2e"

run_as_user() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

if [[ $(id -u) -eq 0 ]]; then
	id -u "$user" >/dev/null 2>&1 || die "user $user does not exist; run scripts/test-user.sh"
	mkdir -p "$home/_config"
	chown "$user:" "$home" "$home/_config"
else
	[[ $(id -un) == "$user" ]] || die "run as root or as $user (VMHOOK_E2E_USER)"
	mkdir -p "$home/_config"
fi
chmod 700 "$home"
run_as_user test -w "$home/_config" || die "$user cannot write $home/_config (is a parent directory private?)"

if ! run_as_user test -r "$image/disk.qcow2" -a -r "$image/vmlinuz" -a -r "$image/initrd.img"; then
	[[ $(id -u) -eq 0 ]] || die "$user cannot read $image"
	log "$user cannot read $image; linking it into $home/_image"
	mkdir -p "$home/_image"
	for f in disk.qcow2 vmlinuz initrd.img; do
		ln -f "$image/$f" "$home/_image/$f" 2>/dev/null || cp -f "$image/$f" "$home/_image/$f"
		chmod a+r "$home/_image/$f"
	done
	chown "$user:" "$home/_image"
	image=$home/_image
	run_as_user test -r "$image/disk.qcow2" || die "$user still cannot read $image"
fi

tmp=$(mktemp "$home/_config/.override.XXXXXX")
cat >"$tmp" <<EOF
# Written by vmhook's e2e/setup/lima-home.sh. Lima merges this into every instance in this LIMA_HOME:
# these images are tried before the instance's own, and cpuType and firmware win.
cpuType:
  x86_64: qemu64
vmOpts:
  qemu:
    cpuType:
      x86_64: qemu64
firmware:
  legacyBIOS: true
images:
- location: "$image/disk.qcow2"
  arch: x86_64
  kernel:
    location: "$image/vmlinuz"
    arch: x86_64
    cmdline: "root=/dev/vda rw console=ttyS0 net.ifnames=0"
  initrd:
    location: "$image/initrd.img"
    arch: x86_64
EOF
chmod 644 "$tmp"
[[ $(id -u) -eq 0 ]] && chown "$user:" "$tmp"
mv -f "$tmp" "$home/_config/override.yaml"

log "LIMA_HOME=$home for $user; instance names up to $name_budget characters fit the socket-path budget"
printf '%s\n' "$home"
