package projectvm

import "context"

// EnterArgs returns the limactl arguments that open a shell (or run cmd) in
// p's running VM: ShellArgs with the guest's login shell, and, under Lima v2,
// --start=false. v2's `limactl shell` offers to start a stopped instance on a
// terminal; vmhook has just ensured the VM runs, so a VM stopped in between
// must fail like it does under v1 rather than ask a question the hook cannot
// answer. v1 does not know the flag.
func (m *Manager) EnterArgs(ctx context.Context, p *Project, cmd []string) []string {
	args := ShellArgs(p, cmd, GuestShell(m.Env.InstanceDir(p.Name)))
	if m.LimaVersion(ctx).AtLeast(2, 0) {
		args = append([]string{args[0], "--start=false"}, args[1:]...)
	}
	return args
}
