#!/usr/bin/env bash
# Measures what vmhook's prompt hook costs per prompt on its steady path
# (nothing changed since the last prompt), in bash and zsh, beside direnv's
# own prompt hook in the same run. Each shell times N calls of the prompt
# function with its own clock ($EPOCHREALTIME), so no process start is
# counted.
#
# Usage: bench/hook/prompt.sh        (N=200000 vmhook calls, M=300 direnv calls)
set -euo pipefail
# shellcheck source=bench/hook/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need bash zsh
setup_world
export N=${N:-200000} M=${M:-300}

# Each script prints: CASE NANOSECONDS-PER-CALL, for the empty loop, the
# hook in the project after entering, the hook outside any project, and
# direnv's hook in the project.

# shellcheck disable=SC2016 # expanded by the benchmarked bash
bash_script='
eval "$(direnv hook bash)"
eval "$("$VMHOOK" init bash)"
per_call() { # FUNCTION COUNT
  local i start end
  start=${EPOCHREALTIME/./}
  for ((i = 0; i < $2; i++)); do "$1"; done
  end=${EPOCHREALTIME/./}
  echo $(((end - start) * 1000 / $2))
}
noop() { :; }
cd "$PROJECT" 2>/dev/null
_direnv_hook 2>/dev/null
_vmhook_last=$VMHOOK_VM # the project was entered at an earlier prompt
echo "loop $(per_call noop "$N")"
echo "vmhook-in-project $(per_call _vmhook_hook "$N")"
echo "direnv-in-project $(per_call _direnv_hook "$M")"
cd / 2>/dev/null
_direnv_hook 2>/dev/null
_vmhook_hook
echo "vmhook-outside $(per_call _vmhook_hook "$N")"
'

# shellcheck disable=SC2016 # expanded by the benchmarked zsh
zsh_script='
zmodload zsh/datetime
eval "$(direnv hook zsh)"
eval "$("$VMHOOK" init zsh)"
per_call() { # FUNCTION COUNT
  local i
  local -a start end
  start=($epochtime)
  for ((i = 0; i < $2; i++)); do "$1"; done
  end=($epochtime)
  echo $(( ((end[1] - start[1]) * 1000000000 + end[2] - start[2]) / $2 ))
}
noop() { : }
cd "$PROJECT" 2>/dev/null
_direnv_hook 2>/dev/null
_vmhook_last=$VMHOOK_VM # the project was entered at an earlier prompt
echo "loop $(per_call noop "$N")"
echo "vmhook-in-project $(per_call _vmhook_hook "$N")"
echo "direnv-in-project $(per_call _direnv_hook "$M")"
cd / 2>/dev/null
_direnv_hook 2>/dev/null
_vmhook_hook
echo "vmhook-outside $(per_call _vmhook_hook "$N")"
'

report() { # SHELL, then CASE NS lines on stdin
  awk -v shell="$1" '
    { ns[$1] = $2 }
    END {
      printf "%-5s  empty loop         %8.2f µs/call\n", shell, ns["loop"] / 1000
      printf "%-5s  vmhook, project    %8.2f µs/prompt\n", shell, ns["vmhook-in-project"] / 1000
      printf "%-5s  vmhook, no project %8.2f µs/prompt\n", shell, ns["vmhook-outside"] / 1000
      printf "%-5s  direnv, project    %8.0f µs/prompt\n", shell, ns["direnv-in-project"] / 1000
      printf "%-5s  vmhook / direnv    %8.3f %%\n", shell, 100 * ns["vmhook-in-project"] / ns["direnv-in-project"]
    }'
}

echo "$("$VMHOOK" version 2>/dev/null | head -1), direnv $(direnv version), N=$N, M=$M"
bash --norc --noprofile -c "$bash_script" | report bash
zsh -f -c "$zsh_script" | report zsh
