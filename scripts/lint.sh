#!/usr/bin/env bash
# vmhook's lint, the one definition that `just lint` and .ci/run both run:
# gofmt and go vet on the Go code, shellcheck on every shell file in the
# tree, and the zsh and fish hooks parsed by their shells (when installed).
# The shell code vmhook prints is checked the same way by
# shelltest/lint_test.go, as rendered.
#
# Usage: scripts/lint.sh        (from anywhere in the checkout)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
fail() {
	echo "lint: $*" >&2
	status=1
}

mapfile -t go_files < <(find . -name .git -prune -o -path '*/testdata' -prune -o -name '*.go' -print | sort)
unformatted=$(gofmt -l "${go_files[@]}")
if [[ -n $unformatted ]]; then
	fail "not gofmt-formatted (run gofmt -w):"$'\n'"$unformatted"
fi

go vet ./... || fail "go vet found problems (above)"

mapfile -t shell_files < <(find . -name .git -prune -o -type f \( -name '*.sh' -o -name '*.bash' \) -print | sort)
shell_files+=(.ci/run)
shellcheck "${shell_files[@]}" || fail "shellcheck found problems (above)"

if command -v zsh >/dev/null; then
	zsh -n hook/hook.zsh || fail "zsh cannot parse hook/hook.zsh"
fi
if command -v fish >/dev/null; then
	fish --no-execute hook/hook.fish || fail "fish cannot parse hook/hook.fish"
fi
exit "$status"
