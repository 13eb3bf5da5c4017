#!/usr/bin/env bash
# qemu-tcg.sh stands in for qemu-system-x86_64 when QEMU_SYSTEM_X86_64 names it, and runs the real one
# under TCG. Lima v2 chooses KVM whenever /dev/kvm exists (`-machine q35,accel=kvm`, and `-cpu host` unless
# vmOpts.qemu.cpuType says otherwise); on the machines vmhook is tested on, /dev/kvm is a paravirtual KVM
# that cannot run a guest ("failed to initialize kvm"). This rewrites exactly those arguments to the ones
# Lima v1 uses for TCG and passes everything else through unchanged. Lima v1 never asks for KVM here
# (cpuType qemu64 selects TCG), so under v1 it changes nothing.
#
# Usage: QEMU_SYSTEM_X86_64=/path/to/qemu-tcg.sh limactl start NAME
set -euo pipefail

args=()
tcg=
while (($#)); do
	case $1 in
	-machine | -M)
		if [[ ${2-} == *accel=* ]]; then
			# q35,accel=kvm → q35; the accelerator is given separately below.
			machine=$(printf '%s' "$2" | sed -E 's/(^|,)accel=[^,]*//; s/^,//')
			args+=("$1" "$machine")
			tcg=1
			shift 2
			continue
		fi
		;;
	-accel)
		[[ ${2-} == kvm* ]] && {
			tcg=1
			shift 2
			continue
		}
		;;
	-enable-kvm)
		tcg=1
		shift
		continue
		;;
	-cpu)
		if [[ ${2-} == host* ]]; then
			args+=(-cpu qemu64)
			shift 2
			continue
		fi
		;;
	esac
	args+=("$1")
	shift
done
[[ -z $tcg ]] || args+=(-accel "tcg,thread=multi,tb-size=512")
exec qemu-system-x86_64 "${args[@]}"
