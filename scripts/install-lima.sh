#!/usr/bin/env bash
# Usage: scripts/install-lima.sh v1|v2 [PREFIX]
#        scripts/install-lima.sh both
#
# Builds one Lima release (limactl and the Linux guest agent) from the version
# pinned in tools/lima-v1/go.mod or tools/lima-v2/go.mod and installs it under
# PREFIX (default /opt/lima/VERSION, e.g. /opt/lima/v2.2.0), so that both
# releases live side by side:
#   PREFIX/bin/limactl
#   PREFIX/share/lima/lima-guestagent.Linux-x86_64
# limactl finds its guest agent through ../share/lima, also through a symlink
# to PREFIX/bin/limactl. Lima is built from source through the Go module proxy
# because release tarballs may not be reachable. Running it again is cheap: it
# does nothing when the installed limactl already reports the pinned version.
# The last line on stdout is the installed limactl's path.
#
# "both" installs v1 and v2 into their default prefixes, links
# /usr/local/bin/limactl to v2 (what users install today) and prints the two
# limactl paths as one colon-separated line, the form VMHOOK_LIMACTLS takes
# (tests that ask the real limactl run once per version listed there).
#
# Example: scripts/install-lima.sh v2 "$HOME/.local/lima-v2"
set -euo pipefail

log() { printf 'install-lima: %s\n' "$*" >&2; }

if [[ ${1-} == both ]]; then
	self=${BASH_SOURCE[0]}
	v1=$("$self" v1 | tail -n 1)
	v2=$("$self" v2 | tail -n 1)
	ln -sfn "$v2" /usr/local/bin/limactl
	log "limactl on PATH is $v2"
	printf '%s:%s\n' "$v1" "$v2"
	exit 0
fi

case ${1-} in
v1)
	module=github.com/lima-vm/lima
	;;
v2)
	module=github.com/lima-vm/lima/v2
	;;
*)
	log "usage: install-lima.sh v1|v2 [PREFIX], or install-lima.sh both"
	exit 2
	;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/tools/lima-$1"

version=$(cd "$tools" && go list -m -f '{{.Version}}' "$module")
prefix=${2:-/opt/lima/$version}

limactl="$prefix/bin/limactl"
agent="$prefix/share/lima/lima-guestagent.Linux-x86_64"

# built_version prints the Lima module version a limactl binary was built from. It reads the binary's
# build information rather than running it: limactl refuses to run as root, even for --version.
built_version() {
	go version -m "$1" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }'
}

if [[ -x "$limactl" && -f "$agent" && $(built_version "$limactl") == "$version" ]]; then
	log "Lima $version already installed in $prefix"
	printf '%s\n' "$limactl"
	exit 0
fi

log "building Lima $version into $prefix"
start=$SECONDS

ldflags="-s -w -X $module/pkg/version.Version=$version"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(
	cd "$tools"
	export GOFLAGS=-mod=mod
	go build -trimpath -ldflags "$ldflags" -o "$tmp/limactl" "$module/cmd/limactl"
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
		go build -trimpath -ldflags "$ldflags" -o "$tmp/lima-guestagent.Linux-x86_64" \
		"$module/cmd/lima-guestagent"
) >&2

install -d "$prefix/bin" "$prefix/share/lima"
install -m 0755 "$tmp/lima-guestagent.Linux-x86_64" "$agent"
# limactl last: its presence with the right version is what marks success.
install -m 0755 "$tmp/limactl" "$limactl"

log "Lima $(built_version "$limactl") installed in $prefix in $((SECONDS - start))s"
printf '%s\n' "$limactl"
