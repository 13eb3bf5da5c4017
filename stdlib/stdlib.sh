# shellcheck shell=bash
# vmhook's direnv extension, printed by `vmhook stdlib`. Install it with
#
#   mkdir -p ~/.config/direnv/lib
#   vmhook stdlib > ~/.config/direnv/lib/vmhook.sh
#
# direnv sources every file in that directory before it evaluates an .envrc.
# It calls the vmhook that printed it; when that binary is gone it falls back
# to vmhook on PATH, and $VMHOOK_BIN overrides both.

# Usage: use vm [--cpus N] [--memory SIZE] [--disk SIZE] [--image PATH|URL]
#               [--port PORT]... [--session tmux|zellij]
#
# Prepares the Lima VM of the directory holding the .envrc: (re)generates
# .lima/config.yaml from vmhook.yaml, the user defaults and the flags, and
# exports VMHOOK_VM, VMHOOK_PROJECT, SYSINIT_VM_ENABLED and SYSINIT_VM_NAME.
# direnv reloads when vmhook.yaml or the user defaults change.
#
# It never starts or enters the VM (direnv captures an .envrc's output and
# would hang): the shell hook (`vmhook init`) enters it at the next prompt.
# Flags override vmhook.yaml for this directory.
#
# Example:
#
#   # .envrc
#   use vm
#
#   # .envrc of a web app with a bigger VM
#   use vm --cpus 8 --memory 8GiB --port 5173
#
use_vm() {
  local bin exports key cache user_config
  user_config=${XDG_CONFIG_HOME:-$HOME/.config}/vmhook/config.yaml
  # Watched first, so that fixing a broken vmhook.yaml reloads too.
  watch_file "$PWD/vmhook.yaml" "$user_config"
  _vmhook_bin || return 1
  bin=$REPLY
  # Everything vmhook's answer depends on besides the files checked below.
  printf -v key '%q ' v1 "$bin" "$PWD" "${HOME-}" "${LIMA_HOME-}" "${XDG_CONFIG_HOME-}" \
    "${XDG_STATE_HOME-}" "${VM_CPUS-}" "${VM_MEMORY-}" "${VM_DISK-}" "${VM_PORTS-}" "${VM_IMAGE-}" "$@"
  cache=$PWD/.lima/use-vm.cache
  if ! _vmhook_cached "$cache" "$key" "$user_config" "$bin"; then
    # vmhook prints its own error line on stderr, which direnv shows.
    if ! exports=$("$bin" use "$@"); then
      log_error "vmhook: use vm failed; no VM for this directory until the error above is fixed"
      return 1
    fi
    eval "$exports"
    # One write, read back only while nothing it depends on has changed.
    printf '# %s\n%s\n' "$key" "$exports" >"$cache" 2>/dev/null || true
  fi
  if [[ -n ${VMHOOK_PROJECT-} && $VMHOOK_PROJECT != "$PWD" ]]; then
    watch_file "$VMHOOK_PROJECT/vmhook.yaml"
  fi
  log_status "vmhook: VM ${VMHOOK_VM-}"
}

# Usage: _vmhook_cached CACHE KEY USER_CONFIG BIN
#
# Loads the exports of the last `vmhook use` from CACHE when it was made with
# the same KEY and none of vmhook.yaml, the user defaults, the generated
# config and the vmhook binary is newer: then vmhook would change nothing and print
# the same, and the .envrc load spawns no process for it. Builtins only.
_vmhook_cached() {
  local first
  [[ -f $1 && -f $PWD/.lima/config.yaml ]] || return 1
  # "Not newer than the cache": file times are coarse (a few ms), so the
  # config vmhook just wrote often has the cache's very mtime.
  [[ ! $PWD/vmhook.yaml -nt $1 && ! $3 -nt $1 && ! $PWD/.lima/config.yaml -nt $1 && ! $4 -nt $1 ]] || return 1
  IFS= read -r first <"$1" || return 1
  [[ $first == "# $2" ]] || return 1
  # shellcheck disable=SC1090
  source "$1"
}

# Usage: _vmhook_bin
#
# Sets REPLY to the vmhook binary to run: $VMHOOK_BIN, else the one that
# printed this file, else vmhook on PATH. Logs an error and returns 1 when
# there is none. REPLY, not stdout, keeps use vm free of a subshell.
_vmhook_bin() {
  if [[ -n ${VMHOOK_BIN-} ]]; then
    REPLY=$VMHOOK_BIN
    if [[ ! -x $REPLY ]]; then
      log_error "vmhook: VMHOOK_BIN=$REPLY is not an executable; fix or unset it"
      return 1
    fi
    return 0
  fi
  # The path is literal, whatever characters it holds.
  # shellcheck disable=SC2016
  local installed='@VMHOOK_BIN@'
  if [[ -x $installed ]]; then
    REPLY=$installed
    return 0
  fi
  if REPLY=$(type -P vmhook); then
    return 0
  fi
  log_error "vmhook: not found at $installed nor on PATH; install vmhook or set VMHOOK_BIN"
  return 1
}
