#!/usr/bin/env bash
# Runs vmhook's end-to-end tests on this machine, setting it up first, each
# step skipped when already done: the host packages, real Lima v1 and v2 built
# from the Go module proxy, the unprivileged test user, and the cached guest
# image. The full flows run under Lima v2, a shorter smoke under v1.
# Timings go to bench/results/e2e.md. Run as root (Lima itself then runs as
# the test user).
#
# Usage: e2e/run.sh [go test flags…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

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
export VMHOOK_E2E_RESULTS=$PWD/bench/results/e2e.md
go test -count=1 -timeout 30m -run 'TestE2E|TestSmoke' -v "$@" ./e2e/
