package shelltest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellKind is what differs between the shells under test.
type shellKind struct {
	name string
	// rcFile is where the shell reads its interactive configuration.
	rcFile func(w *world) string
	// prelude sets a plain prompt.
	prelude string
	// direnvHook and vmhookHook load the hooks, one line each.
	direnvHook, vmhookHook string
	// seenHook is a prompt hook, registered after vmhook's, that records
	// the $? it is given in $_seen.
	seenHook string
	// args start the interactive shell.
	args []string
	// status expands to the last command's exit status.
	status string
}

var shells = []shellKind{
	{
		name:       "bash",
		rcFile:     func(w *world) string { return filepath.Join(w.home, ".bashrc") },
		prelude:    "PS1='$ '\n",
		direnvHook: `eval "$(direnv hook bash)"`,
		vmhookHook: `eval "$("$VMHOOK_TEST_BIN" init bash)"`,
		seenHook:   "PROMPT_COMMAND+=$'\\n''_seen=$?'\n",
		args:       []string{"bash", "--noprofile", "-i"},
		status:     "$?",
	},
	{
		name:       "zsh",
		rcFile:     func(w *world) string { return filepath.Join(w.home, ".zshrc") },
		prelude:    "PROMPT='%% '\nRPROMPT=\n",
		direnvHook: `eval "$(direnv hook zsh)"`,
		vmhookHook: `eval "$("$VMHOOK_TEST_BIN" init zsh)"`,
		seenHook:   "_seen_hook() { _seen=$? }\nprecmd_functions+=(_seen_hook)\n",
		args:       []string{"zsh", "-i"},
		status:     "$?",
	},
	{
		name:   "fish",
		rcFile: func(w *world) string { return filepath.Join(w.home, ".config", "fish", "config.fish") },
		prelude: "set -g fish_greeting\nset -g fish_autosuggestion_enabled 0\n" +
			"function fish_prompt; printf '> '; end\n",
		direnvHook: "direnv hook fish | source",
		vmhookHook: "$VMHOOK_TEST_BIN init fish | source",
		seenHook:   "function _seen_hook --on-event fish_prompt; set -g _seen $status; end\n",
		args:       []string{"fish", "-i"},
		status:     "$status",
	},
}

// rc is the shell's configuration: a plain prompt, extra, direnv's and
// vmhook's hooks in the order asked for, and the $?-recording hook.
func (sh shellKind) rc(vmhookFirst bool, extra string) string {
	hooks := sh.direnvHook + "\n" + sh.vmhookHook + "\n"
	if vmhookFirst {
		hooks = sh.vmhookHook + "\n" + sh.direnvHook + "\n"
	}
	return sh.prelude + extra + hooks + sh.seenHook
}

// forEachShell runs f as a parallel subtest for each installed shell.
func forEachShell(t *testing.T, f func(t *testing.T, sh shellKind)) {
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			need(t, sh.name)
			f(t, sh)
		})
	}
}

// term is an interactive shell in its own tmux server.
type term struct {
	t    *testing.T
	w    *world
	sh   shellKind
	sock string
	n    int
}

type termOpts struct {
	// dir is where the shell starts (default: the world's root).
	dir string
	// vmhookFirst loads vmhook's hook before direnv's.
	vmhookFirst bool
	// rcExtra goes into the rc file before the hooks.
	rcExtra string
}

// startShell writes the shell's rc file and starts it in tmux, with the
// world's environment (the tmux server is started with it, so panes get it).
func (w *world) startShell(sh shellKind, o termOpts) *term {
	t := w.t
	t.Helper()
	need(t, "tmux")
	w.write(sh.rcFile(w), sh.rc(o.vmhookFirst, o.rcExtra))
	if o.dir == "" {
		o.dir = w.root
	}
	tm := &term{t: t, w: w, sh: sh, sock: filepath.Join(w.root, "tmux.sock")}
	args := append([]string{"new-session", "-d", "-s", "t", "-x", "200", "-y", "50", "-c", o.dir,
		"env", "SHELL=" + mustLook(t, sh.name)}, sh.args...)
	tm.tmux(args...)
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	return tm
}

func mustLook(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", tm.sock, "-f", "/dev/null"}, args...)...)
	cmd.Env = tm.w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// typeLine types text and presses Enter.
func (tm *term) typeLine(text string) {
	tm.t.Helper()
	if text != "" {
		tm.tmux("send-keys", "-t", "t", "-l", "--", text)
	}
	tm.tmux("send-keys", "-t", "t", "Enter")
}

// key presses a key by its tmux name, such as C-c.
func (tm *term) key(name string) {
	tm.t.Helper()
	tm.tmux("send-keys", "-t", "t", name)
}

// screen is the pane's whole history, wrapped lines joined.
func (tm *term) screen() string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-", "-E", "-")
}

func (tm *term) lines() []string {
	var out []string
	for _, l := range strings.Split(tm.screen(), "\n") {
		out = append(out, strings.TrimRight(l, " "))
	}
	return out
}

// report is what a failing test shows: the screen and the limactl calls.
func (tm *term) report() string {
	return fmt.Sprintf("--- screen (%s) ---\n%s\n--- limactl calls ---\n%s", tm.sh.name,
		strings.TrimRight(tm.screen(), "\n"), strings.Join(tm.w.calls(), "\n"))
}

// hasLine reports whether some line of the screen holds s. Output is
// matched within lines, not as whole lines: keys typed ahead are echoed by
// the terminal and may start the line a program prints next. Tests expect
// outputs that their typed commands never contain (echo "x=$VAR" prints
// x=value).
func (tm *term) hasLine(s string) bool {
	return tm.countLines(func(l string) bool { return strings.Contains(l, s) }) > 0
}

func (tm *term) countLines(match func(string) bool) int {
	n := 0
	for _, l := range tm.lines() {
		if match(l) {
			n++
		}
	}
	return n
}

// waitLine waits for a line holding s.
func (tm *term) waitLine(s string) {
	tm.t.Helper()
	waitFor(tm.t, fmt.Sprintf("line %q", s), func() bool { return tm.hasLine(s) }, tm.report)
}

// waitCalls waits until limactl sub was called n times for the VM.
func (tm *term) waitCalls(sub string, n int) {
	tm.t.Helper()
	waitFor(tm.t, fmt.Sprintf("%d calls of limactl %s", n, sub), func() bool { return tm.w.count(sub) >= n }, tm.report)
}

// sync runs a command and waits for its output, so that everything typed
// before it, and every prompt hook in between, has run.
func (tm *term) sync() {
	tm.t.Helper()
	tm.n++
	// The typed line shows the quotes, the output does not.
	tm.typeLine(fmt.Sprintf(`echo sy""nc%d.`, tm.n))
	tm.waitLine(fmt.Sprintf("sync%d.", tm.n))
}

// prompts presses Enter n times, then syncs.
func (tm *term) prompts(n int) {
	tm.t.Helper()
	for i := 0; i < n; i++ {
		tm.typeLine("")
	}
	tm.sync()
}

// expectCalls checks the number of calls of each limactl subcommand.
func (tm *term) expectCalls(want map[string]int) {
	tm.t.Helper()
	for sub, n := range want {
		if got := tm.w.count(sub); got != n {
			tm.t.Errorf("limactl %s called %d times, want %d\n%s", sub, got, n, tm.report())
		}
	}
}

// vmhookLines counts the lines vmhook printed that contain s, leaving out
// the lines direnv prints for use vm ("direnv: vmhook: …").
func (tm *term) vmhookLines(s string) int {
	return tm.countLines(func(l string) bool { return isVMHookLine(l, s) })
}

func isVMHookLine(l, s string) bool {
	for i := 0; ; {
		j := strings.Index(l[i:], "vmhook: ")
		if j < 0 {
			return false
		}
		i += j
		if !strings.HasSuffix(l[:i], "direnv: ") && strings.Contains(l[i:], s) {
			return true
		}
		i += len("vmhook: ")
	}
}

// vmhookLinesAfter counts the lines vmhook printed after the first line
// holding marker.
func (tm *term) vmhookLinesAfter(marker string) int {
	n, seen := 0, false
	for _, l := range tm.lines() {
		if !seen {
			seen = strings.Contains(l, marker)
		} else if isVMHookLine(l, "") {
			n++
		}
	}
	return n
}
