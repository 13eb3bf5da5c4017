#!/usr/bin/env bash
# Usage: scripts/test-user.sh
#
# Creates the unprivileged user vmhook-test (home /home/vmhook-test, shell
# /bin/bash) that tests use to run limactl when they run as root: limactl
# refuses to run as root. Does nothing when the user already exists.
set -euo pipefail

user=vmhook-test

if id -u "$user" >/dev/null 2>&1; then
	echo "test-user: $user already exists"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "test-user: must run as root to create $user" >&2
	exit 1
fi

useradd --create-home --home-dir "/home/$user" --shell /bin/bash --user-group "$user"
echo "test-user: created $user"
