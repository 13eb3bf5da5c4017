// Package shelltest holds vmhook's tests of its shell integration in real
// shells: bash, zsh and fish run in tmux with direnv's hook and vmhook's
// hook loaded, driven with keystrokes as a person would, against the fake
// limactl. It also checks `use vm` under the real direnv and lints the shell
// code vmhook ships.
//
// Each test has its own HOME, XDG directories, short LIMA_HOME and tmux
// server, so the tests run in parallel. A test whose tool (tmux, direnv, a
// shell, a linter) is missing is skipped with the reason.
package shelltest
