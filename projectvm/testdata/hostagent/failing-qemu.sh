#!/bin/sh
# Stands in for qemu-system-x86_64: answers Lima's capability probes with the
# real QEMU, then fails to start a VM the way QEMU does when /dev/kvm cannot
# be used.
for a in "$@"; do
	case $a in
	-drive | -kernel | -qmp)
		echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2
		exit 1
		;;
	esac
done
exec qemu-system-x86_64 "$@"
