#!/usr/bin/env bash
# Measures the decision to enter a running VM (everything up to the exec of
# limactl) beside one `limactl list --json NAME`, in one hyperfine run, as
# the same unprivileged user: vmhook-enter repeating vmhook's recorded
# decision, as the hook and vm-shell enter, and `vmhook shell` deciding
# afresh. limactl is replaced by /bin/true, which is measured alone too:
# what the decision costs is a row less the /bin/true row.
#
# Usage: bench/shell-decision.sh [VMHOOK_BINARY]   (vmhook-enter beside it)
# Needs hyperfine and a real limactl. Under root it re-runs itself as the
# test user (limactl refuses root). Writes bench/results/shell-decision.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
user=${VMHOOK_BENCH_USER:-vmhook-test}

if [ "$(id -u)" = 0 ]; then
	# The test user runs a copy in a directory of its own: opening up the
	# given binary's directory (/tmp, say) would open everything in it.
	given=${1:-}
	bin=$(mktemp -d /tmp/vhbench.XXXXXX)/vmhook
	if [ -z "$given" ]; then
		(cd "$repo" && go build -tags urfave_cli_no_docs -o "$(dirname "$bin")/" ./cmd/vmhook ./cmd/vmhook-enter)
	else
		cp "$given" "$given-enter" "$(dirname "$bin")/"
	fi
	chmod -R a+rX "$(dirname "$bin")"
	out=$(mktemp -d /tmp/vhbench-out.XXXXXX)
	chown "$user" "$out"
	runuser -u "$user" -- env VMHOOK_BENCH_OUT="$out" bash "$here/shell-decision.sh" "$bin"
	cp "$out/shell-decision.md" "$here/results/shell-decision.md"
	rm -rf "$out"
	rm -rf "$(dirname "$bin")"
	cat "$here/results/shell-decision.md"
	exit 0
fi

bin=${1:?usage: shell-decision.sh VMHOOK_BINARY}
command -v hyperfine >/dev/null || { echo "hyperfine not installed (apt-get install hyperfine)" >&2; exit 1; }
limactl=$(command -v limactl || echo /usr/local/bin/limactl)
[ -x "$limactl" ] || { echo "limactl not installed (scripts/install-lima.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/vhb.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home" LIMA_HOME="$work/lima" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
mkdir -p "$HOME" "$LIMA_HOME" "$work/proj"
printf 'cpus: 2\nports: [3000]\n' >"$work/proj/vmhook.yaml"
"$bin" config --project "$work/proj" >/dev/null
name=$("$bin" name --project "$work/proj")

# A VM that reads as Running: Lima's files, and pid files naming live
# processes with the command lines of Lima's host agent and QEMU.
inst="$LIMA_HOME/$name"
mkdir -p "$inst"
cp "$work/proj/.lima/config.yaml" "$inst/lima.yaml"
printf '%s\n' "$work/proj" >"$inst/vmhook-owner"
(exec -a "limactl hostagent" sleep 600) &
pids+=($!)
echo "${pids[-1]}" >"$inst/ha.pid"
(exec -a "qemu-system-x86_64" sleep 600) &
pids+=($!)
echo "${pids[-1]}" >"$inst/qemu.pid"
# The stand-ins take their command lines when they exec, which a busy
# machine may not have got to yet.
for _ in $(seq 50); do
	"$bin" status --project "$work/proj" | grep -q 'Running' && break
	sleep 0.1
done
"$bin" status --project "$work/proj" | grep -q 'Running' || { echo "setup: VM does not read as Running" >&2; exit 1; }

out=${VMHOOK_BENCH_OUT:-$here/results}
# limactl is replaced by /bin/true for vmhook only: its run ends at the exec.
export LIMACTL=/bin/true
# vmhook keeps limactl's version in its state directory, asked once per
# limactl binary. /bin/true cannot answer --version, so every run would ask
# it again: a process users do not pay. Record the real limactl's answer
# for /bin/true, as the first entry with the real one would have.
version=$("$limactl" --version | sed -n 's/^limactl version v\{0,1\}\([^ ]*\).*/\1/p')
mkdir -p "$XDG_STATE_HOME/vmhook"
printf '{"path":"/bin/true","size":%s,"modTime":%s,"version":"%s"}\n' \
	"$(stat -c %s /bin/true)" "$(stat -c %.9Y /bin/true | tr -d .)" "$version" \
	>"$XDG_STATE_HOME/vmhook/limactl-version.json"
# vmhook records a steady entry for vmhook-enter to repeat; the first
# entries after the set-up find its files too fresh to record (see
# recordEntry), so enter until the record is there.
record="$XDG_STATE_HOME/vmhook/enter/command/$(printf '%s' "$work/proj" | sed 's/%/%25/g; s|/|%2F|g')"
for _ in $(seq 50); do
	"$bin" shell --project "$work/proj" -- true
	[ -f "$record" ] && break
	sleep 0.1
done
[ -f "$record" ] || { echo "setup: vmhook recorded no entry" >&2; exit 1; }
# vmhook-enter's runs must be its own: one that missed would hand over to
# vmhook, which writes the record afresh.
before=$(stat -c %i.%Z "$record")
"$bin-enter" --project "$work/proj" -- true
[ "$(stat -c %i.%Z "$record")" = "$before" ] || { echo "setup: vmhook-enter did not repeat the recorded decision" >&2; exit 1; }
hyperfine --warmup 20 --runs 300 -N \
	--export-markdown "$out/shell-decision.md" \
	-n "vmhook-enter (recorded decision, exec true)" "$bin-enter --project $work/proj -- true" \
	-n "vmhook shell (decide, exec true)" "$bin shell --project $work/proj -- true" \
	-n "/bin/true alone" "/bin/true" \
	-n "limactl list --json NAME" "$limactl list --json $name"
