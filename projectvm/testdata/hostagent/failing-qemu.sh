#!/bin/sh
# Stands in for qemu-system-x86_64: answers Lima's capability probes with the
# real QEMU, then fails to start a VM the way QEMU does when /dev/kvm cannot
# be used.
for a in "$@"; do
	case $a in
	-drive | -kernel | -qmp)
		echo "qemu-system-x86_64: failed to initialize kvm: Permission denied" >&2
		# Lima copies QEMU's stderr into its log from a reader of its own; on
		# a busy machine a QEMU that exits at once can be reaped before that
		# line is logged, and then there is no cause to find.
		sleep 1
		exit 1
		;;
	esac
done
exec qemu-system-x86_64 "$@"
