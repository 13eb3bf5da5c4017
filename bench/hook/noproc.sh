#!/usr/bin/env bash
# Proves that vmhook's prompt hook spawns no process on its steady path, in
# bash, zsh and fish. It traces the shell itself (not its children) with
# strace and counts its process-creating system calls (fork, vfork, clone,
# clone3, execve) in a run that calls the prompt function 0 times and in one
# that calls it N times. Setup spawns the same processes in both, so the
# difference is what N prompts spawned: none for vmhook's hook, one per
# prompt for direnv's (the command substitution in which direnv runs).
#
# Usage: bench/hook/noproc.sh        (N=1000)
set -euo pipefail
# shellcheck source=bench/hook/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need strace bash
setup_world
export N=${N:-1000}

# The scripts loop "$CALLS" times over "$FN" once in the project, entered.
# shellcheck disable=SC2016 # expanded by the traced bash
bash_script='
eval "$(direnv hook bash)"
eval "$("$VMHOOK" init bash)"
cd "$PROJECT"
_direnv_hook 2>/dev/null
_vmhook_last=$VMHOOK_VM
for ((i = 0; i < CALLS; i++)); do "$FN"; done
'
# shellcheck disable=SC2016 # expanded by the traced zsh
zsh_script='
eval "$(direnv hook zsh)"
eval "$("$VMHOOK" init zsh)"
cd "$PROJECT" 2>/dev/null
_direnv_hook 2>/dev/null
_vmhook_last=$VMHOOK_VM
for ((i = 0; i < CALLS; i++)); do "$FN"; done
'
# In fish the prompt handlers are the functions to call.
# shellcheck disable=SC2016 # expanded by the traced fish
fish_script='
direnv hook fish | source
$VMHOOK init fish | source
cd $PROJECT 2>/dev/null
__direnv_export_eval 2>/dev/null
set -g __vmhook_last $VMHOOK_VM
set -l i 0
while test $i -lt $CALLS
    $FN
    set i (math $i + 1)
end
'

# spawns SHELL FN CALLS prints how many processes the shell itself started.
spawns() {
  local trace=$world/trace script
  case $1 in
    bash) script=(bash --norc --noprofile -c "$bash_script") ;;
    zsh) script=(zsh -f -c "$zsh_script") ;;
    fish) script=(fish --no-config -c "$fish_script") ;;
  esac
  FN=$2 CALLS=$3 strace -qq -o "$trace" -e trace=fork,vfork,clone,clone3,execve "${script[@]}" 2>/dev/null
  # The first line is the exec of the shell by strace.
  grep -cE '^(fork|vfork|clone|clone3|execve)\(' "$trace" | awk '{ print $1 - 1 }'
}

printf '%-5s %-20s %6s %12s %12s %12s\n' shell hook calls "spawned (0)" "spawned (n)" "per prompt"
for shell in bash zsh fish; do
  hooks=(_vmhook_hook _direnv_hook)
  [[ $shell == fish ]] && hooks=(__vmhook_prompt __direnv_export_eval)
  if ! command -v "$shell" >/dev/null; then
    echo "$shell: not installed, skipped"
    continue
  fi
  for fn in "${hooks[@]}"; do
    calls=$N
    # direnv's hook takes milliseconds; fewer calls say as much.
    [[ $fn == *direnv* ]] && calls=$((N / 10))
    base=$(spawns "$shell" "$fn" 0)
    with=$(spawns "$shell" "$fn" "$calls")
    printf '%-5s %-20s %6d %12d %12d %12s\n' "$shell" "$fn" "$calls" "$base" "$with" \
      "$(awk -v a="$base" -v b="$with" -v n="$calls" 'BEGIN { printf "%.2f", (b - a) / n }')"
  done
done
