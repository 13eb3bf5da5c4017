#!/usr/bin/env bash
# Usage: scripts/test-user.sh
#
# Creates the unprivileged user vmhook-test (home /home/vmhook-test, shell
# /bin/bash) that tests use to run limactl when they run as root: limactl
# refuses to run as root. The user joins the kvm group when there is one, so
# end-to-end tests can boot VMs with QEMU. Safe to run again.
set -euo pipefail

user=vmhook-test

if ! id -u "$user" >/dev/null 2>&1; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "test-user: must run as root to create $user" >&2
		exit 1
	fi
	useradd --create-home --home-dir "/home/$user" --shell /bin/bash --user-group "$user"
	echo "test-user: created $user"
else
	echo "test-user: $user already exists"
fi

if getent group kvm >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx kvm; then
	usermod -a -G kvm "$user"
	echo "test-user: added $user to group kvm"
fi
