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
#        use vm ... [--env NAME]...
#
# Prepares the Lima VM of the directory holding the .envrc: (re)generates
# .lima/config.yaml from vmhook.yaml, the user defaults and the flags, and
# exports VMHOOK_VM, VMHOOK_PROJECT, SYSINIT_VM_ENABLED and SYSINIT_VM_NAME.
# direnv reloads when vmhook.yaml or the user defaults change.
#
# It never starts or enters the VM (direnv captures an .envrc's output and
# would hang): the shell hook (`vmhook init`) enters it at the next prompt.
# Flags override vmhook.yaml for this directory; --env NAME passes a
# variable this .envrc sets on to the guest's shells. A project that asks for
# something of the host (a mount outside it, a host socket, the ssh agent,
# …) gets no VM until you run `vmhook allow`, which direnv then notices.
#
# Example:
#
#   # .envrc
#   use vm
#
#   # .envrc of a web app with a bigger VM
#   use vm --cpus 8 --memory 8GiB --port 5173
#
#   # .envrc whose variables the dev server in the guest needs too
#   dotenv_if_exists .env.local
#   use vm --env DATABASE_URL --env STRIPE_KEY
#
use_vm() {
  local bin exports key cache user_config state status _vmhook_deps=()
  user_config=${XDG_CONFIG_HOME:-$HOME/.config}/vmhook/config.yaml
  state=${XDG_STATE_HOME:-$HOME/.local/state}/vmhook
  # Watched first, so that fixing a broken vmhook.yaml reloads too; vmhook
  # allow and deny touch trust-changed, so consent given reloads as well.
  watch_file "$PWD/vmhook.yaml" "$user_config" "$state/trust-changed"
  _vmhook_bin || return 1
  bin=$REPLY
  # What only this shell knows of the question: which vmhook, where, with
  # which flags. vmhook's answer lists everything else it depends on.
  printf -v key '%q ' v2 "$bin" "$PWD" "$@"
  # The last answer lives in vmhook's state directory, one file per
  # directory, never in the project: a file there may come from anyone.
  _vmhook_cache_path "$state"
  cache=$REPLY
  if ! _vmhook_cached "$cache" "$key" "$bin"; then
    # Written so that set -e, which an .envrc may turn on, keeps the status.
    if exports=$("$bin" use "$@"); then status=0; else status=$?; fi
    if ((status != 0)); then
      # vmhook prints its own error line on stderr, which direnv shows; 3
      # means host access waits for `vmhook allow`, which that line says.
      ((status == 3)) || log_error "vmhook: use vm failed; no VM for this directory until the error above is fixed"
      return 1
    fi
    eval "$exports"
    # One write, read back only while nothing it depends on has changed.
    if [[ -n $cache ]]; then
      _vmhook_save "$cache" "$key" "$exports"
    fi
  fi
  if [[ -n ${VMHOOK_PROJECT-} && $VMHOOK_PROJECT != "$PWD" ]]; then
    watch_file "$VMHOOK_PROJECT/vmhook.yaml"
  fi
  log_status "vmhook: VM ${VMHOOK_VM-}"
}

# Usage: _vmhook_cache_path STATE_DIR
#
# Sets REPLY to the file holding the last answer of `vmhook use` for $PWD,
# in vmhook's state directory (vmhook use creates the use-vm directory): the
# path with % and / escaped. REPLY is empty when the name is longer than 240
# bytes; then vmhook runs every time. Builtins only; vmhook computes the
# same path (Env.UseCache).
_vmhook_cache_path() {
  local LC_ALL=C name=${PWD//\%/%25}
  name=${name//\//%2F}
  REPLY=
  if ((${#name} <= 240)); then
    REPLY=$1/use-vm/$name
  fi
}

# Usage: _vmhook_save CACHE KEY ANSWER
#
# Writes the answer of `vmhook use` to CACHE as a script that loads its
# exports only for the same KEY and while nothing the answer depends on
# changed: the answer's first line lists that (_vmhook_deps, see UseDeps in
# vmhook's source), _vmhook_fresh compares it. An answer without that line
# is not kept.
_vmhook_save() {
  local deps=${3%%$'\n'*} rest=${3#*$'\n'}
  [[ $deps == "_vmhook_deps=("* ]] || return 0
  # shellcheck disable=SC2016 # $1 and $2 are the cache's, when it is loaded
  printf '[[ ${2-} == %q ]] || return 1\n%s\n_vmhook_fresh "$1" || return 1\n%s\n' \
    "$2" "$deps" "$rest" >"$1" 2>/dev/null || true
}

# Usage: _vmhook_cached CACHE KEY BIN
#
# Loads the exports of the last `vmhook use` from CACHE (see _vmhook_save)
# when it was made with the same KEY by a BIN not newer than it, and nothing
# its answer depends on changed. Then vmhook would change nothing and print
# the same, and the .envrc load spawns no process for it. One read of the
# file, builtins only.
_vmhook_cached() {
  [[ -n $1 && -f $1 && ! $3 -nt $1 ]] || return 1
  # The cache is vmhook's own file, outside the project.
  # shellcheck disable=SC1090
  source "$1" "$1" "$2" 2>/dev/null
}

# Usage: _vmhook_fresh CACHE
#
# Succeeds when every entry of _vmhook_deps still holds, compared with
# CACHE's time: +PATH exists and is not newer ("not newer": file times are
# coarse, so the config vmhook just wrote often has the cache's very mtime),
# -PATH does not exist, =PATH exists, $NAME=VALUE is the variable's value.
_vmhook_fresh() {
  local dep name
  for dep in "${_vmhook_deps[@]}"; do
    case $dep in
    +*) [[ -e ${dep:1} && ! ${dep:1} -nt $1 ]] || return 1 ;;
    -*) [[ ! -e ${dep:1} && ! -L ${dep:1} ]] || return 1 ;;
    =*) [[ -e ${dep:1} ]] || return 1 ;;
    \$*)
      name=${dep%%=*}
      name=${name:1}
      [[ ${!name-} == "${dep#*=}" ]] || return 1
      ;;
    *) return 1 ;;
    esac
  done
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
