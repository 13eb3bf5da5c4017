#!/usr/bin/env bash
# Usage: scripts/install-lima.sh [PREFIX]
#
# Builds Lima (limactl and the Linux guest agent) from the version pinned in
# tools/lima/go.mod and installs it under PREFIX (default /usr/local):
#   PREFIX/bin/limactl
#   PREFIX/share/lima/lima-guestagent.Linux-x86_64
# Lima is built from source through the Go module proxy because release
# tarballs may not be reachable. Running it again is cheap: it does nothing
# when the installed limactl already reports the pinned version.
#
# Example: scripts/install-lima.sh "$HOME/.local"
set -euo pipefail

prefix=${1:-/usr/local}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/tools/lima"

version=$(cd "$tools" && go list -m -f '{{.Version}}' github.com/lima-vm/lima)
want=${version#v}

limactl="$prefix/bin/limactl"
agent="$prefix/share/lima/lima-guestagent.Linux-x86_64"

if [[ -x "$limactl" && -f "$agent" ]]; then
	have=$("$limactl" --version 2>/dev/null || true)
	# "limactl version 1.0.7"
	if [[ "$have" == "limactl version $want" ]]; then
		echo "install-lima: limactl $want already installed in $prefix"
		exit 0
	fi
fi

echo "install-lima: building Lima $version into $prefix"
start=$SECONDS

ldflags="-s -w -X github.com/lima-vm/lima/pkg/version.Version=$version"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(
	cd "$tools"
	export GOFLAGS=-mod=mod
	go build -trimpath -ldflags "$ldflags" -o "$tmp/limactl" github.com/lima-vm/lima/cmd/limactl
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
		go build -trimpath -ldflags "$ldflags" -o "$tmp/lima-guestagent.Linux-x86_64" \
		github.com/lima-vm/lima/cmd/lima-guestagent
)

install -d "$prefix/bin" "$prefix/share/lima"
install -m 0755 "$tmp/lima-guestagent.Linux-x86_64" "$agent"
# limactl last: its presence with the right version is what marks success.
install -m 0755 "$tmp/limactl" "$limactl"

echo "install-lima: $("$limactl" --version) installed in $((SECONDS - start))s"
