#!/usr/bin/env bash
# check-kvm.sh exits 0 when this machine can boot vmhook's end-to-end test VM, and otherwise prints one line
# saying why and exits 1. The test VM runs under QEMU's TCG emulator (cpuType qemu64 in lima-home.sh's
# override), so a usable /dev/kvm is not required: on the machines vmhook is tested on, /dev/kvm exists but
# is a paravirtual KVM that cannot run a guest CPU, and TCG boots the small image in about 35 s.
# What is required: QEMU (x86_64 system emulator that starts with TCG, qemu-img), the image toolchain
# (debootstrap, mkfs.ext4 with -d), ssh and the sftp-server that reverse-sshfs mounts use, limactl with its
# guest agent (LIMACTL overrides the limactl path) and enough free memory for a small guest.
set -uo pipefail

fail() {
	printf 'check-kvm: cannot boot the e2e VM: %s\n' "$*" >&2
	exit 1
}

for tool in qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 ssh; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool not found; apt-get install --no-install-recommends qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client"
done
[[ -x /usr/lib/openssh/sftp-server ]] ||
	fail "/usr/lib/openssh/sftp-server not found (reverse-sshfs mounts need it); apt-get install openssh-sftp-server"

# Start QEMU for real with the machine, accelerator and CPU the VM uses, paused, and quit at once.
if ! out=$(printf 'quit\n' | timeout 20 qemu-system-x86_64 -machine q35 -accel tcg -cpu qemu64 -m 64 \
	-nodefaults -display none -monitor stdio -S 2>&1); then
	fail "qemu-system-x86_64 does not start with TCG: $(printf '%s' "$out" | grep -v '^(qemu)\|^QEMU' | tail -n 1)"
fi

mke2fs_version=$(mkfs.ext4 -V 2>&1 | awk 'NR == 1 { print $2 }')
[[ $(printf '%s\n1.43\n' "$mke2fs_version" | sort -V | head -n 1) == 1.43 ]] ||
	fail "mkfs.ext4 $mke2fs_version cannot populate a filesystem (-d needs e2fsprogs >= 1.43)"

limactl=${LIMACTL:-$(command -v limactl)}
[[ -n $limactl && -x $limactl ]] || fail "limactl not found; run scripts/install-lima.sh both, or set LIMACTL"
# limactl refuses to run as root (v2 even for --version): ask it as the user that runs the VMs.
if [[ $(id -u) -eq 0 ]]; then
	user=${VMHOOK_E2E_USER:-vmhook-test}
	id -u "$user" >/dev/null 2>&1 || fail "user $user does not exist; run scripts/test-user.sh"
	version=$(runuser -u "$user" -- "$limactl" --version 2>&1) || fail "$limactl --version failed as $user: $version"
else
	version=$("$limactl" --version 2>&1) || fail "$limactl --version failed: $version"
fi
# limactl looks for the guest agent beside its own executable or in ../share/lima. LIMACTL may be a wrapper
# script, so the limactl found on PATH counts too.
ga_found=
for exe in "$limactl" "$(command -v limactl)"; do
	[[ -n $exe ]] || continue
	dir=$(dirname "$(readlink -f "$exe")")
	for a in "$dir/lima-guestagent.Linux-x86_64" "$dir/../share/lima/lima-guestagent.Linux-x86_64"; do
		[[ -f $a || -f $a.gz ]] && ga_found=1
	done
done
[[ -n $ga_found ]] ||
	fail "lima-guestagent.Linux-x86_64 not found beside $limactl or in its ../share/lima ($version)"

avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
((avail_kib >= 1536 * 1024)) || fail "only $((avail_kib / 1024)) MiB of memory available; the guest needs about 1.5 GiB"

exit 0
