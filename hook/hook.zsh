# vmhook's zsh hook, printed by `vmhook init zsh`. Load it in ~/.zshrc, after
# direnv's hook:
#
#   eval "$(direnv hook zsh)"
#   eval "$(vmhook init zsh)"
#
# At each prompt, once direnv has loaded the project's environment, it enters
# the project's VM when VMHOOK_VM (exported by `use vm`) names a project other
# than the last one this shell handled. It runs shell builtins only while
# nothing changes, so a prompt costs microseconds.

# _vmhook_bin runs the vmhook that printed this hook.
_vmhook_bin() { '@VMHOOK_BIN@' "$@" }

# _vmhook_shell enters a project's VM: vmhook-enter, which repeats vmhook's
# last decision for the project while nothing it depends on has changed,
# when it was installed beside vmhook, otherwise `vmhook shell`.
_vmhook_shell() { '@VMHOOK_ENTER@' "$@" }

# _vmhook_run runs `vmhook CMD ARGS…` for the project direnv loaded, if any.
_vmhook_run() {
  emulate -L zsh
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

vm-shell() { _vmhook_run shell "$@" }
vm-start() { _vmhook_run start "$@" }
vm-stop() { _vmhook_run stop "$@" }
vm-status() { _vmhook_run status "$@" }
vm-destroy() { _vmhook_run destroy "$@" }

# _vmhook_enter is called once per visit to a project.
_vmhook_enter() {
  # localtraps (part of emulate -L) restores the user's INT trap on return.
  emulate -L zsh
  # Inside the VM, cd into the project must not try to enter it again.
  [[ -z ${SYSINIT_IN_VM-} ]] || return 0
  if [[ -n ${SYSINIT_NO_AUTO_VM-} ]]; then
    print -ru2 -- "vmhook: auto-entry off (SYSINIT_NO_AUTO_VM); run vm-shell to enter $VMHOOK_VM"
    return 0
  fi
  # Scripts, pipes and IDEs resolving the environment get no VM.
  [[ -t 0 && -t 1 ]] || return 0
  # Ctrl-C reaches vmhook, which stops cleanly and returns; the shell ignores
  # it meanwhile so that the remaining precmd functions still run.
  trap -- '' INT
  _vmhook_run shell
}

# _vmhook_hook runs at every prompt, after direnv's hook; zsh keeps $? for
# the prompt by itself. The last project is remembered before entering, so a
# failed entry, or leaving the VM, never retries on the next prompt; leaving
# the project forgets it, so coming back enters again.
# _vmhook_chpwd forgets the project as soon as the shell leaves its
# directory, so that leaving and coming back on one command line
# (`cd ..; cd app`), which direnv's variables do not show, enters again.
_vmhook_chpwd() {
  # direnv's zsh hook also runs on chpwd, before this one, and may already
  # have unloaded the project.
  if [[ -n ${_vmhook_last-} && ( -z ${VMHOOK_PROJECT-} || $PWD/ != "$VMHOOK_PROJECT"/* ) ]]; then
    _vmhook_last=
  fi
}

_vmhook_hook() {
  if [[ -z ${VMHOOK_VM-} ]]; then
    _vmhook_last=
  elif [[ $VMHOOK_VM != "${_vmhook_last-}" ]]; then
    _vmhook_last=$VMHOOK_VM
    _vmhook_enter
  fi
}

# Declared here so that warn_create_global stays quiet; a value kept from an
# earlier evaluation of this file survives.
typeset -g _vmhook_last

# vmhook doctor reads this to tell whether the shell running it has the hook.
export VMHOOK_HOOK="zsh $$"

# direnv puts its hook first in precmd_functions; this one goes last, once,
# however often this file is evaluated (it is moved, not added again).
typeset -ag precmd_functions
precmd_functions=(${precmd_functions:#_vmhook_hook} _vmhook_hook)
typeset -ag chpwd_functions
chpwd_functions=(${chpwd_functions:#_vmhook_chpwd} _vmhook_chpwd)
