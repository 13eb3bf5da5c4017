#!/usr/bin/env bash
# Measures entry into a real VM against bare Lima, alternating in one run (e2e/benchvm_test.go): bare
# `limactl shell NAME`, `vm-shell` and `cd` into a vm-minimal project, each to the guest's prompt;
# `vmhook shell -- true` against `limactl shell NAME -- true`; cold `vmhook up` against a bare
# `limactl start` of the same generated config. Sets the machine up as the end-to-end tests do
# (e2e/setup/prepare.sh) and writes bench/results/vm.md. Run as root.
#
# Usage: bench/vm.sh [ROUNDS [COLD_ROUNDS]]   (defaults 10 and 1; each cold round boots two VMs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=e2e/setup/prepare.sh
source e2e/setup/prepare.sh
export VMHOOK_BENCH_VM=1 VMHOOK_BENCH_VM_ROUNDS=${1:-10} VMHOOK_BENCH_VM_COLD=${2:-1}
export VMHOOK_BENCH_VM_RESULTS=$PWD/bench/results/vm.md
go test -count=1 -timeout 60m -run TestBenchVM -v ./e2e/
cat "$VMHOOK_BENCH_VM_RESULTS"
