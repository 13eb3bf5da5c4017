#!/usr/bin/env bash
# Measures what `use vm` adds to loading an .envrc when nothing changed:
# `direnv exec` in a project whose .envrc says `use vm`, beside one whose
# .envrc only exports a variable, timed with hyperfine in the same run. To
# show where the difference goes, it also times an .envrc that only watches
# the files use vm watches (direnv's watch_file runs direnv once more), and
# `vmhook use` alone.
#
# Usage: bench/hook/envrc.sh        (RUNS=100)
set -euo pipefail
# shellcheck source=bench/hook/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need hyperfine
setup_world
runs=${RUNS:-100}
csv=$world/envrc.csv

hyperfine --shell=none --warmup 10 --runs "$runs" --export-csv "$csv" --style basic \
  --command-name 'plain .envrc' "direnv exec $PLAIN true" \
  --command-name 'use vm' "direnv exec $PROJECT true" \
  --command-name 'watch_file' "direnv exec $WATCH true" \
  --command-name 'vmhook use' "$VMHOOK use --project $PROJECT" >&2

# The minimum is the least disturbed by other load on the machine.
awk -F, '
  NR > 1 { mean[$1] = $2 * 1000; sd[$1] = $3 * 1000; min[$1] = $7 * 1000 }
  END {
    printf "%-13s %8s %8s %8s\n", "", "mean ms", "± ms", "min ms"
    n = split("plain .envrc,use vm,watch_file,vmhook use", names, ",")
    for (i = 1; i <= n; i++) {
      k = names[i]
      printf "%-13s %8.2f %8.2f %8.2f\n", k, mean[k], sd[k], min[k]
    }
    printf "added by use vm:     %5.2f ms mean, %5.2f ms min (target < 5 ms)\n",
      mean["use vm"] - mean["plain .envrc"], min["use vm"] - min["plain .envrc"]
    printf "  of which watch_file: %5.2f ms mean, %5.2f ms min\n",
      mean["watch_file"] - mean["plain .envrc"], min["watch_file"] - min["plain .envrc"]
  }' "$csv"
