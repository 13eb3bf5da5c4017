#!/usr/bin/env bash
# Runs vmhook's end-to-end tests on this machine, setting it up first (e2e/setup/prepare.sh). The full flows
# run under Lima v2, a shorter smoke under v1. Timings go to bench/results/e2e.md. Run as root (Lima itself
# then runs as the test user).
#
# Usage: e2e/run.sh [go test flags…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=e2e/setup/prepare.sh
source e2e/setup/prepare.sh
export VMHOOK_E2E_RESULTS=$PWD/bench/results/e2e.md
go test -count=1 -timeout 60m -run 'TestE2E|TestSmoke' -v "$@" ./e2e/
