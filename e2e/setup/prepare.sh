#!/usr/bin/env bash
# prepare.sh sets this machine up for booting real VMs, each step skipped when already done: the host
# packages, real Lima v1 and v2 built from the Go module proxy, the unprivileged test user and the cached
# guest image. It is sourced (by e2e/run.sh and bench/vm.sh, as root) and exports VMHOOK_LIMACTLS and
# VMHOOK_E2E_IMAGE for the tests.
#
# Usage: source e2e/setup/prepare.sh   (from the repository's root)
packages=(direnv zsh fish tmux qemu-system-x86 qemu-utils openssh-client openssh-sftp-server
	debootstrap debian-archive-keyring e2fsprogs procps)
missing=()
for p in "${packages[@]}"; do
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
VMHOOK_LIMACTLS=$(scripts/install-lima.sh both | tail -n 1)
export VMHOOK_LIMACTLS
scripts/test-user.sh
bash e2e/setup/check-kvm.sh
VMHOOK_E2E_IMAGE=$(bash e2e/setup/build-image.sh)
export VMHOOK_E2E_IMAGE
