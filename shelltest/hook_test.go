package shelltest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestEnterLeaveReenter is the everyday flow: cd into an allowed project
// enters its VM once; leaving the VM shell does not re-enter on the next
// prompts; cd out and back in enters again. Along the way: $? survives the
// hook, the vm-* functions act on the project, and doctor sees the hook.
func TestEnterLeaveReenter(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()

		// test that the first cd enters once, after create and start
		tm.typeLine("cd " + w.project)
		tm.waitCalls("shell", 1)
		order := strings.Join(firstWords(w.calls(), "create", "start", "shell"), " ")
		if order != "create start shell" {
			t.Errorf("limactl calls in order %q, want create, start, shell\n%s", order, tm.report())
		}
		if !tm.hasLine(fmt.Sprintf("fake-limactl shell %s workdir=%s cmd=%s", w.vm, w.project, guestCmd(w.vm))) {
			t.Errorf("limactl shell did not open the login shell at the project\n%s", tm.report())
		}

		// test that leaving the VM does not re-enter on the next prompts
		tm.prompts(3)
		tm.expectCalls(map[string]int{"create": 1, "start": 1, "shell": 1})

		// test that $? survives the hook, on the steady path, for the
		// command line and for prompt hooks that run after it
		tm.typeLine("false")
		tm.typeLine(`echo "st1=` + sh.status + `:$_seen"`)
		tm.waitLine("st1=1:1")

		// test that cd out and back in enters again, and that $? survives
		// the hook on the entering path too
		tm.typeLine("cd ..")
		tm.sync()
		tm.typeLine("cd " + w.project + " && false")
		tm.waitCalls("shell", 2)
		tm.typeLine(`echo "st2=` + sh.status + `:$_seen"`)
		tm.waitLine("st2=1:1")
		tm.expectCalls(map[string]int{"create": 1, "start": 1, "shell": 2})

		// test that leaving and coming back on one command line, where
		// direnv sees no change between two prompts, enters again; and that
		// a cd within the project does not
		tm.typeLine("cd ..; cd " + w.project)
		tm.waitCalls("shell", 3)
		tm.typeLine("mkdir -p sub && cd sub && cd ..")
		tm.prompts(2)
		tm.expectCalls(map[string]int{"create": 1, "start": 1, "shell": 3})

		// test that vm-status and vm-stop act on the project
		tm.typeLine("vm-status")
		waitFor(t, "vm-status output", func() bool {
			return tm.countLines(regexp.MustCompile(`status:\s+Running`).MatchString) == 1
		}, tm.report)
		tm.typeLine("vm-stop")
		tm.waitCalls("stop", 1)
		tm.sync()
		tm.expectCalls(map[string]int{"shell": 3})

		// test that doctor, run from this shell, sees the hook
		tm.typeLine(`"$VMHOOK_TEST_BIN" doctor`)
		waitFor(t, "doctor's hook line", func() bool {
			return tm.countLines(regexp.MustCompile(`ok\s+hook\s+`+sh.name+` hook loaded in this shell`).MatchString) == 1
		}, tm.report)
	})
}

// guestCmd is the command vmhook passes to limactl shell, as the fake
// prints it: none, for the fake's guest (like Debian's) has the nesting
// guard in its login environment, so the entry is bare `limactl shell`,
// one login shell.
func guestCmd(string) string {
	return `[]`
}

// firstWords returns the first word of each call that is one of subs.
func firstWords(calls []string, subs ...string) []string {
	var out []string
	for _, c := range calls {
		f := strings.Fields(c)
		if len(f) > 0 && contains(subs, f[0]) {
			out = append(out, f[0])
		}
	}
	return out
}

// TestAllowAtPrompt proves the hook runs after direnv's at the same prompt:
// after `direnv allow`, no cd happens, so only direnv's prompt hook loads
// the project, and the VM must be entered at that very prompt.
func TestAllowAtPrompt(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		tm := w.startShell(sh, termOpts{})
		tm.typeLine("cd " + w.project)
		tm.sync()
		tm.expectCalls(map[string]int{"shell": 0})
		// test that the prompt after direnv allow enters, with no key pressed
		tm.typeLine("direnv allow")
		tm.waitCalls("shell", 1)
	})
}

// TestStartInProject opens a new terminal in an allowed project: its first
// prompt enters the VM, whichever hook the rc file loads first.
func TestStartInProject(t *testing.T) {
	for _, first := range []bool{false, true} {
		name := "direnv first"
		if first {
			name = "vmhook first"
		}
		t.Run(name, func(t *testing.T) {
			forEachShell(t, func(t *testing.T, sh shellKind) {
				w := newWorld(t)
				w.allow()
				tm := w.startShell(sh, termOpts{dir: w.project, vmhookFirst: first})
				// test that the first prompt enters, with no key pressed
				tm.waitCalls("shell", 1)
				tm.prompts(2)
				tm.expectCalls(map[string]int{"shell": 1})
			})
		})
	}
}

// TestFishModes covers direnv's fish modes: with disable_arrow, direnv loads
// the project only in its fish_prompt handler, so vmhook's must come after
// it; with eval_after_arrow, it defers cd's export to the next command.
func TestFishModes(t *testing.T) {
	need(t, "fish")
	for _, mode := range []string{"eval_on_arrow", "eval_after_arrow", "disable_arrow"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.allow()
			tm := w.startShell(shells[2], termOpts{rcExtra: "set -g direnv_fish_mode " + mode + "\n"})
			tm.sync()
			tm.typeLine("cd " + w.project)
			tm.waitCalls("shell", 1)
			tm.prompts(2)
			tm.expectCalls(map[string]int{"shell": 1})
		})
	}
}

// TestNoAutoEntry: with SYSINIT_NO_AUTO_VM, cd into the project prints one
// hint per visit and starts nothing; vm-shell still enters.
func TestNoAutoEntry(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, "SYSINIT_NO_AUTO_VM=1")
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		hint := "vmhook: auto-entry off (SYSINIT_NO_AUTO_VM); run vm-shell to enter " + w.vm
		// test that entering prints the hint once and starts nothing
		tm.typeLine("cd " + w.project)
		tm.waitLine(hint)
		tm.prompts(3)
		if n := tm.countLines(func(l string) bool { return strings.Contains(l, hint) }); n != 1 {
			t.Errorf("hint printed %d times, want once\n%s", n, tm.report())
		}
		w.noVMCalls()
		// test that the next visit prints it again
		tm.typeLine("cd ..")
		tm.typeLine("cd " + w.project)
		tm.sync()
		if n := tm.countLines(func(l string) bool { return strings.Contains(l, hint) }); n != 2 {
			t.Errorf("hint printed %d times after re-entering, want twice\n%s", n, tm.report())
		}
		// test that vm-shell enters by hand
		tm.typeLine("vm-shell")
		tm.waitCalls("shell", 1)
	})
}

// TestInsideVM: with SYSINIT_IN_VM set (as in the guest), cd into the
// project loads it but never tries to enter.
func TestInsideVM(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, "SYSINIT_IN_VM=1")
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.typeLine(`echo "vm=$VMHOOK_VM"`)
		tm.waitLine("vm=" + w.vm)
		tm.prompts(2)
		w.noVMCalls()
		// vmhook would refuse with a line of its own if it had been run.
		if n := tm.vmhookLines(""); n != 0 {
			t.Errorf("vmhook printed %d lines, want none\n%s", n, tm.report())
		}
	})
}

// TestFailedEntry: a start that fails prints one error line, gives the
// prompt back, and is not retried until the project is entered again.
func TestFailedEntry(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, "FAKE_LIMACTL_FAIL=start")
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("start", 1)
		// test that the prompt comes back
		tm.sync()
		tm.prompts(3)
		tm.expectCalls(map[string]int{"start": 1, "shell": 0})
		if n := tm.vmhookLines("fake failure of start"); n != 1 {
			t.Errorf("%d error lines name the failure, want 1\n%s", n, tm.report())
		}
		// test that entering again retries
		tm.typeLine("cd ..")
		tm.typeLine("cd " + w.project)
		tm.waitCalls("start", 2)
		tm.sync()
		tm.expectCalls(map[string]int{"shell": 0})
	})
}

// TestInterrupt: Ctrl-C during a slow start gives the prompt back, and the
// hook does not retry on the next prompts.
func TestInterrupt(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, "FAKE_LIMACTL_START_SLEEP=120s")
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("start", 1)
		tm.key("C-c")
		// test that the prompt comes back long before the start would end
		tm.sync()
		tm.prompts(2)
		tm.expectCalls(map[string]int{"start": 1, "shell": 0})
		// test that $? is still the hook's caller's, and the shell works
		tm.typeLine("false")
		tm.typeLine("echo st=" + sh.status)
		tm.waitLine("st=1")
	})
}

// TestGuestShell enters an interactive "guest" (the same shell with the same
// rc, as a VM sharing dotfiles would run): there SYSINIT_IN_VM is set, so cd
// into the project does not enter again; exiting lands back on the host,
// which does not re-enter on its next prompts.
func TestGuestShell(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t, `FAKE_LIMACTL_SHELL_CMD=exec "$SHELL" -i`)
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine("cd " + w.project)
		tm.waitCalls("shell", 1)
		// test that we are in the guest, at the project
		tm.typeLine(`echo "g1=$SYSINIT_IN_VM:$PWD"`)
		tm.waitLine("g1=1:" + w.project)
		// test that cd out and back in, inside the guest, does not enter
		tm.typeLine("cd ..")
		tm.typeLine("cd " + w.project)
		tm.prompts(2)
		tm.typeLine(`echo "g2=$SYSINIT_IN_VM:$VMHOOK_VM"`)
		tm.waitLine("g2=1:" + w.vm)
		tm.expectCalls(map[string]int{"shell": 1})
		if n := tm.vmhookLinesAfter("g1=1:" + w.project); n != 0 {
			t.Errorf("vmhook printed %d lines in the guest, want none\n%s", n, tm.report())
		}
		// test that exit lands on the host, which stays there
		tm.typeLine("exit")
		tm.typeLine(`echo "h1=$SYSINIT_IN_VM:$PWD"`)
		tm.waitLine("h1=:" + w.project)
		tm.prompts(3)
		tm.expectCalls(map[string]int{"shell": 1})
	})
}

// TestPipedShell runs an interactive shell whose stdout is a pipe, inside a
// terminal: its prompts run the hook, which must not enter. vmhook shell
// would refuse with a line of its own, so no vmhook line may appear.
func TestPipedShell(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh shellKind) {
		w := newWorld(t)
		w.allow()
		tm := w.startShell(sh, termOpts{})
		tm.sync()
		tm.typeLine(`"$SHELL" -i | cat`)
		tm.typeLine("cd " + w.project)
		tm.typeLine(`echo "in=$VMHOOK_VM"`)
		tm.waitLine("in=" + w.vm)
		tm.typeLine("exit")
		tm.sync()
		w.noVMCalls()
		if n := tm.vmhookLines(""); n != 0 {
			t.Errorf("vmhook printed %d lines, want none\n%s", n, tm.report())
		}
		// test that the outer shell, on the terminal, still enters
		tm.typeLine("cd " + w.project)
		tm.waitCalls("shell", 1)
	})
}
