#!/usr/bin/env bash
# smoke.sh LIMA_HOME boots one VM from a hand-written, vmhook-shaped Lima config in a LIMA_HOME prepared by
# lima-home.sh and checks, timing each step, what vmhook's end-to-end tests rely on: first start, a command
# at the project dir with the guest environment, a file written in the guest showing up on the host, a guest
# port forwarded to the host, stop, restart with data kept, warm `limactl shell`, delete. The instance is
# deleted and its QEMU and host agent processes are killed on any exit.
#
# Run as root (limactl then runs as VMHOOK_E2E_USER, default vmhook-test) or as that user.
# Environment: VMHOOK_E2E_PROJECT (default /tmp/vmh-proj/demo), VMHOOK_E2E_NAME (default demo),
# VMHOOK_E2E_HOST_PORT (default 18000), LIMACTL (default limactl).
set -euo pipefail

(($# == 1)) || {
	echo "usage: smoke.sh LIMA_HOME" >&2
	exit 2
}
home=$1
user=${VMHOOK_E2E_USER:-vmhook-test}
project=${VMHOOK_E2E_PROJECT:-/tmp/vmh-proj/demo}
name=${VMHOOK_E2E_NAME:-demo}
host_port=${VMHOOK_E2E_HOST_PORT:-18000}
limactl=${LIMACTL:-$(command -v limactl)}

log() { printf 'smoke: %s\n' "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

as_user() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}
# Lima v2 would pick this machine's unusable KVM: QEMU runs through qemu-tcg.sh (a no-op under v1).
tcg=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/qemu-tcg.sh
lima() { as_user env LIMA_HOME="$home" QEMU_SYSTEM_X86_64="$tcg" "$limactl" "$@"; }

[[ -f $home/_config/override.yaml ]] || die "$home/_config/override.yaml missing; run lima-home.sh first"
[[ ! -e $home/$name ]] || die "instance $name already exists in $home"

cleanup() {
	local rc=$? f pid
	trap - EXIT
	lima delete -f "$name" >/dev/null 2>&1 || true
	# Whatever limactl left behind: only the processes this instance's pid files name.
	for f in "$home/$name/qemu.pid" "$home/$name/ha.pid"; do
		[[ -f $f ]] || continue
		pid=$(<"$f")
		if [[ $pid =~ ^[0-9]+$ ]] && grep -qa -- "$home/$name" "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	[[ ! -e $home/$name ]] || rm -rf --one-file-system "${home:?}/$name"
	exit "$rc"
}
trap cleanup EXIT

if [[ $(id -u) -eq 0 ]]; then
	mkdir -p "$project"
	chown "$user:" "$project" "$(dirname "$project")"
else
	mkdir -p "$project"
fi
rm -f "$project/from-vm.txt"
config=$project/.lima/config.yaml
as_user mkdir -p "$project/.lima"
# The shape vmhook generates (templates/lima.yaml.tmpl); the override replaces images, cpuType and mountType.
as_user tee "$config" >/dev/null <<EOF
vmType: "qemu"
arch: "x86_64"
cpus: 2
memory: "2GiB"
disk: "10GiB"
images:
- location: "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img"
  arch: "x86_64"
- location: "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-arm64.img"
  arch: "aarch64"
mountType: "9p"
mounts:
- location: "$project"
  mountPoint: "$project"
  writable: true
ssh:
  localPort: 0
  loadDotSSHPubKeys: false
  forwardAgent: false
containerd:
  system: false
  user: false
env:
  "SYSINIT_IN_VM": "1"
portForwards:
- guestPort: 8000
  hostPort: $host_port
  hostIP: "127.0.0.1"
- guestIP: "0.0.0.0"
  guestIPMustBeZero: false
  guestPortRange: [1, 65535]
  ignore: true
EOF

t=$(now)
lima start --name "$name" --tty=false "$config" >"$home/smoke-start.log" 2>&1 ||
	{ tail -n 20 "$home/smoke-start.log" >&2; die "first start"; }
log "first start (create + boot): $(since "$t") s"

t=$(now)
# shellcheck disable=SC2016 # expanded in the guest
out=$(lima shell --workdir "$project" "$name" -- sh -c 'hostname; pwd; echo $SYSINIT_IN_VM; echo hi > from-vm.txt')
log "shell at project dir: $(since "$t") s: $(printf '%s' "$out" | tr '\n' ' ')"
[[ $(sed -n 2p <<<"$out") == "$project" ]] || die "workdir is not $project"
[[ $(sed -n 3p <<<"$out") == 1 ]] || die "SYSINIT_IN_VM not set in the guest"
[[ $(cat "$project/from-vm.txt" 2>/dev/null) == hi ]] || die "file written in the guest is not on the host (mount missing?)"
log "guest write visible on the host: ok"

lima shell --workdir / "$name" -- sh -c 'nohup python3 -m http.server 8000 >/dev/null 2>&1 &'
lima shell --workdir / "$name" -- sh -c 'until nc -z 127.0.0.1 8000; do sleep 0.1; done'
t=$(now)
for _ in $(seq 1 300); do
	curl -fsS -o /dev/null "http://127.0.0.1:$host_port/" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$host_port/" || die "guest port 8000 not reachable on 127.0.0.1:$host_port"
log "port forward live $(since "$t") s after the guest listened"

# shellcheck disable=SC2016 # expanded in the guest
lima shell --workdir / "$name" -- sh -c 'echo kept > "$HOME/persist.txt"'
for i in 1 2 3 4 5; do
	t=$(now)
	lima shell --workdir / "$name" -- true
	log "warm shell -- true #$i: $(since "$t") s"
done

t=$(now)
lima stop "$name" >/dev/null 2>&1 || die "stop"
log "stop: $(since "$t") s"

t=$(now)
lima start --tty=false "$name" >"$home/smoke-restart.log" 2>&1 ||
	{ tail -n 20 "$home/smoke-restart.log" >&2; die "restart"; }
log "restart of the stopped instance: $(since "$t") s"
# shellcheck disable=SC2016 # expanded in the guest
[[ $(lima shell --workdir / "$name" -- sh -c 'cat "$HOME/persist.txt"') == kept ]] || die "guest data lost across restart"
[[ $(lima shell --workdir "$project" "$name" -- cat from-vm.txt) == hi ]] || die "project mount missing after restart"
log "guest data and project mount survive a restart: ok"

t=$(now)
lima delete -f "$name" >/dev/null 2>&1 || die "delete"
log "delete -f: $(since "$t") s"
[[ ! -e $home/$name ]] || die "instance directory left after delete"
log "PASS"
