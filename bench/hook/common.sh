# shellcheck shell=bash
# Shared setup of vmhook's shell-integration benchmarks: a throwaway home
# with direnv's data, the vmhook direnv extension installed, and an allowed
# project whose .envrc says `use vm`. Sourced by the other scripts.
#
# Environment:
#   VMHOOK   vmhook binary to measure (default: built from this checkout)

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench_dir/../.." && pwd)

# need TOOL... exits with a message when a tool is missing.
need() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "$0: $tool is not installed" >&2
      exit 1
    fi
  done
}

# setup_world creates the world under $world and exports its environment.
setup_world() {
  need direnv go
  # Short: Lima's socket paths under LIMA_HOME must stay under 104 bytes.
  world=$(mktemp -d /tmp/vhbench.XXXXXX)
  trap 'rm -rf "$world"' EXIT
  if [[ -z ${VMHOOK-} ]]; then
    VMHOOK=$world/bin/vmhook
    (cd "$repo" && go build -tags urfave_cli_no_docs -o "$VMHOOK" ./cmd/vmhook)
  fi
  export VMHOOK
  export HOME=$world/home
  export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share
  export XDG_STATE_HOME=$HOME/.local/state XDG_CACHE_HOME=$HOME/.cache
  export LIMA_HOME=$world/lima
  unset VMHOOK_VM VMHOOK_PROJECT SYSINIT_IN_VM SYSINIT_NO_AUTO_VM DIRENV_DIR DIRENV_DIFF DIRENV_WATCHES DIRENV_FILE
  mkdir -p "$XDG_CONFIG_HOME/direnv/lib"
  "$VMHOOK" stdlib >"$XDG_CONFIG_HOME/direnv/lib/vmhook.sh"

  # PROJECT's .envrc says use vm; PLAIN's only exports a variable; WATCH's
  # watches the files use vm watches, and nothing else.
  export PROJECT=$world/p/myapp PLAIN=$world/p/plain WATCH=$world/p/watch
  mkdir -p "$PROJECT" "$PLAIN" "$WATCH"
  echo 'use vm' >"$PROJECT/.envrc"
  echo 'export VMHOOK_BENCH=1' >"$PLAIN/.envrc"
  # shellcheck disable=SC2016 # expanded when direnv loads it
  echo 'watch_file "$PWD/vmhook.yaml" "$XDG_CONFIG_HOME/vmhook/config.yaml"' >"$WATCH/.envrc"
  local dir
  for dir in "$PROJECT" "$PLAIN" "$WATCH"; do
    direnv allow "$dir" 2>/dev/null
  done
  # Generate the project's config once: later loads are the steady case.
  (cd "$PROJECT" && direnv exec . true 2>/dev/null)
}
