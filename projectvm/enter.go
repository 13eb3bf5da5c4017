package projectvm

import (
	"context"
	"os"
	"strings"
)

// EnterArgs returns the limactl arguments that open a shell (or run cmd) in
// p's running VM.
//
// The nesting guard (SYSINIT_IN_VM=1, and VMHOOK_VM naming the VM) must hold
// in every guest shell. The generated config puts both in the guest's env:,
// which Lima writes to /etc/environment; where PAM reads that file (Debian,
// Ubuntu, Fedora…) every login already has them, and an interactive entry is
// then exactly what bare `limactl shell NAME` does: one login shell. Where
// it does not (NixOS), or where the guest's environment was changed, vmhook
// passes them as leading words, which makes limactl run the guest's login
// shell with -c to start the interactive one: a second shell start, the
// price of a guard that holds. Which case holds is asked of the guest once
// per boot (GuardInGuest). Commands (`vmhook shell -- CMD`) and sessions
// always carry the guard on the command line: limactl runs them through
// the login shell either way, so it costs them nothing.
//
// Under Lima v2, --start=false: v2's `limactl shell` offers to start a
// stopped instance on a terminal; vmhook has just ensured the VM runs, so a
// VM stopped in between must fail as under v1 rather than ask a question the
// hook cannot answer. v1 does not know the flag.
func (m *Manager) EnterArgs(ctx context.Context, p *Project, cmd []string) []string {
	v2 := m.LimaVersion(ctx).AtLeast(2, 0)
	var args []string
	if len(cmd) == 0 && p.Settings.Session == "" && m.guardInGuest(ctx, p.Name, v2) {
		args = shellPrefix(p)
	} else {
		args = ShellArgs(p, cmd, GuestShell(m.Env.InstanceDir(p.Name)))
	}
	if v2 {
		args = append([]string{args[0], "--start=false"}, args[1:]...)
	}
	return args
}

// guardProbe prints the guard variables as a login shell in the guest sees
// them; limactl runs it through that login shell.
const guardProbe = `printf '%s|%s' "${SYSINIT_IN_VM-}" "${VMHOOK_VM-}"`

// GuardInGuest reports whether a login shell in the running VM name already
// has SYSINIT_IN_VM=1 and VMHOOK_VM=name from the guest's own environment.
// The answer is kept in the instance directory for the current boot (keyed
// by the host agent's pid), so the guest is asked once per boot: right after
// vmhook starts the VM, where the boot hides the cost, or at the first entry
// into a VM started otherwise. Any doubt (no host agent, a failed probe, an
// unexpected answer) is a no, which costs only the second shell.
func (m *Manager) GuardInGuest(ctx context.Context, name string) bool {
	return m.guardInGuest(ctx, name, m.LimaVersion(ctx).AtLeast(2, 0))
}

func (m *Manager) guardInGuest(ctx context.Context, name string, v2 bool) bool {
	pid, err := os.ReadFile(m.Env.instanceFile(name, hostAgentPid))
	if err != nil {
		return false
	}
	boot := strings.TrimSpace(string(pid))
	if boot == "" {
		return false
	}
	record := m.Env.instanceFile(name, guestGuardFile)
	if data, err := os.ReadFile(record); err == nil {
		if k, answer, ok := strings.Cut(strings.TrimSpace(string(data)), " "); ok && k == boot {
			return answer == "yes"
		}
	}
	args := []string{"shell"}
	if v2 {
		args = append(args, "--start=false")
	}
	args = append(args, "--workdir", "/", name, "sh", "-c", guardProbe)
	out, err := m.Lima.Output(ctx, args...)
	if err != nil {
		// Not recorded: a guest that could not answer now (still booting,
		// ssh not up) may answer at the next entry.
		return false
	}
	yes := strings.TrimSpace(string(out)) == "1|"+name
	answer := "no"
	if yes {
		answer = "yes"
	}
	// Only a cache: failing to keep it costs one more probe next time.
	_ = writeFileAtomic(record, []byte(boot+" "+answer+"\n"), 0o644)
	return yes
}
