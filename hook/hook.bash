# shellcheck shell=bash
# vmhook's bash hook, printed by `vmhook init bash`. Load it in ~/.bashrc,
# after direnv's hook:
#
#   eval "$(direnv hook bash)"
#   eval "$(vmhook init bash)"
#
# At each prompt, once direnv has loaded the project's environment, it enters
# the project's VM when VMHOOK_VM (exported by `use vm`) names a project other
# than the last one this shell handled. It runs shell builtins only while
# nothing changes, so a prompt costs microseconds.

# _vmhook_bin runs the vmhook that printed this hook. Its path is literal,
# whatever characters it holds.
# shellcheck disable=SC2016
_vmhook_bin() { '@VMHOOK_BIN@' "$@"; }

# _vmhook_shell enters a project's VM: vmhook-enter, which repeats vmhook's
# last decision for the project while nothing it depends on has changed,
# when it was installed beside vmhook, otherwise `vmhook shell`.
# shellcheck disable=SC2016
_vmhook_shell() { '@VMHOOK_ENTER@' "$@"; }

# _vmhook_run runs `vmhook CMD ARGS…` for the project direnv loaded, if any.
_vmhook_run() {
  local cmd=$1
  shift
  if [[ $cmd == shell && -n ${VMHOOK_PROJECT-} ]]; then
    _vmhook_shell --project "$VMHOOK_PROJECT" "$@"
  elif [[ -n ${VMHOOK_PROJECT-} ]]; then
    _vmhook_bin "$cmd" --project "$VMHOOK_PROJECT" "$@"
  else
    _vmhook_bin "$cmd" "$@"
  fi
}

vm-shell() { _vmhook_run shell "$@"; }
vm-start() { _vmhook_run start "$@"; }
vm-stop() { _vmhook_run stop "$@"; }
vm-status() { _vmhook_run status "$@"; }
vm-destroy() { _vmhook_run destroy "$@"; }

# _vmhook_enter is called once per visit to a project.
_vmhook_enter() {
  # Inside the VM, cd into the project must not try to enter it again.
  [[ -z ${SYSINIT_IN_VM-} ]] || return 0
  if [[ -n ${SYSINIT_NO_AUTO_VM-} ]]; then
    printf 'vmhook: auto-entry off (SYSINIT_NO_AUTO_VM); run vm-shell to enter %s\n' "$VMHOOK_VM" >&2
    return 0
  fi
  # Scripts, pipes and IDEs resolving the environment get no VM.
  [[ -t 0 && -t 1 ]] || return 0
  # Ctrl-C reaches vmhook, which stops cleanly and returns; the shell ignores
  # it meanwhile so that the rest of the prompt hooks still run and $? is
  # restored. The user's own INT trap, if any, comes back afterwards.
  local int_trap
  int_trap=$(trap -p INT)
  trap -- '' INT
  _vmhook_run shell
  trap - INT
  eval "$int_trap"
}

# _vmhook_chpwd forgets the project as soon as the shell leaves its
# directory, so that leaving and coming back on one command line
# (`cd ..; cd app`), which direnv's variables do not show, enters again.
_vmhook_chpwd() {
  if [[ -n ${_vmhook_last-} && ( -z ${VMHOOK_PROJECT-} || $PWD/ != "$VMHOOK_PROJECT"/* ) ]]; then
    _vmhook_last=
  fi
  return 0
}

# bash has no hook for a change of directory: these wrappers are one, unless
# the user has their own cd (then coming back is noticed only at a prompt
# outside the project). They return cd's own status.
if ! declare -F cd >/dev/null; then
  cd() { builtin cd "$@" && _vmhook_chpwd; }
fi
if ! declare -F pushd >/dev/null; then
  pushd() { builtin pushd "$@" && _vmhook_chpwd; }
fi
if ! declare -F popd >/dev/null; then
  popd() { builtin popd "$@" && _vmhook_chpwd; }
fi

# _vmhook_hook runs at every prompt, after direnv's hook. The last project is
# remembered before entering, so a failed entry, or leaving the VM, never
# retries on the next prompt; leaving the project forgets it, so coming back
# enters again.
_vmhook_hook() {
  local _vmhook_status=$?
  if [[ -z ${VMHOOK_VM-} ]]; then
    _vmhook_last=
  elif [[ $VMHOOK_VM != "${_vmhook_last-}" ]]; then
    _vmhook_last=$VMHOOK_VM
    _vmhook_enter
  fi
  return "$_vmhook_status"
}

# vmhook doctor reads this to tell whether the shell running it has the hook.
export VMHOOK_HOOK="bash $$"

# direnv puts its hook first in PROMPT_COMMAND; this one goes last, once,
# however often this file is evaluated.
if [[ ";${PROMPT_COMMAND[*]-};" != *_vmhook_hook* ]]; then
  if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
    PROMPT_COMMAND+=(_vmhook_hook)
  else
    # A newline, not ';', so that a PROMPT_COMMAND ending in ';' stays valid.
    # It is a plain string here; the array case is handled above.
    # shellcheck disable=SC2128,SC2178
    PROMPT_COMMAND=${PROMPT_COMMAND:+$PROMPT_COMMAND$'\n'}_vmhook_hook
  fi
fi
