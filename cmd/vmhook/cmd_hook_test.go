package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/hook"
	"github.com/vmhook/vmhook/stdlib"
)

// runMain runs vmhook in-process with exactly env as its environment.
func runMain(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = Main(append([]string{"vmhook"}, args...), strings.NewReader(""), &out, &errb, env)
	return code, out.String(), errb.String()
}

func testExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestInitPrintsHook(t *testing.T) {
	exe := testExecutable(t)
	for _, shell := range hook.Shells {
		t.Run(shell, func(t *testing.T) {
			code, stdout, stderr := runMain(t, []string{"HOME=/nonexistent"}, "init", shell)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			want, _ := hook.Render(shell, exe, enterPath(exe))
			if stdout != want {
				t.Errorf("vmhook init %s does not print the hook rendered for %s", shell, exe)
			}
		})
	}
}

func TestShellUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "name one shell: vmhook init bash|zsh|fish"},
		{[]string{"init", "bash", "zsh"}, "name one shell"},
		{[]string{"init", "tcsh"}, `unknown shell "tcsh"; vmhook init supports bash, zsh, fish`},
		{[]string{"completion", "pwsh"}, `unknown shell "pwsh"; vmhook completion supports bash, zsh, fish`},
		{[]string{"stdlib", "bash"}, "vmhook stdlib takes no arguments"},
		{[]string{"doctor", "now"}, "vmhook doctor takes no arguments"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, []string{"HOME=/nonexistent"}, tt.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, "vmhook: "+tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestStdlibPrintsExtension(t *testing.T) {
	code, stdout, stderr := runMain(t, []string{"HOME=/nonexistent"}, "stdlib")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != stdlib.Render(testExecutable(t)) {
		t.Errorf("vmhook stdlib does not print the extension rendered for this binary:\n%s", stdout)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string][]string{
		"bash": {"complete -o bashdefault -o default -F _vmhook_complete vmhook", "--generate-bash-completion"},
		"zsh":  {"#compdef vmhook", "compdef _vmhook vmhook"},
		// Generated from the command definitions.
		"fish": {"complete -c vmhook", "-a 'init'", "-a 'doctor'"},
	} {
		code, stdout, stderr := runMain(t, []string{"HOME=/nonexistent"}, "completion", shell)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", shell, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s completion lacks %q", shell, w)
			}
		}
	}
}

// TestSelfPathPrefersLink: the hook calls vmhook by the path it was run by
// when that leads to the same binary, so that a package manager's stable
// link is used rather than a versioned location.
func TestSelfPathPrefersLink(t *testing.T) {
	exe := testExecutable(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "bin", "vmhook")
	other := filepath.Join(dir, "other", "vmhook")
	for _, d := range []string{filepath.Dir(link), filepath.Dir(other)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, arg0, path, want string
	}{
		{"found on PATH", "vmhook", filepath.Dir(link), link},
		{"run by path", link, "", link},
		{"PATH leads elsewhere", "vmhook", filepath.Dir(other), exe},
		{"not on PATH", "vmhook", "", exe},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &rt{args: []string{tt.arg0, "init", "bash"}, environ: []string{"PATH=" + tt.path}}
			if got := r.selfPath(); got != tt.want {
				t.Errorf("selfPath() = %q, want %q", got, tt.want)
			}
		})
	}
}

// doctorWorld is a home with a working limactl and direnv (stand-ins), the
// direnv extension installed and the hook marker of the calling shell.
func doctorWorld(t *testing.T) (env []string, home string) {
	t.Helper()
	home = t.TempDir()
	bin := filepath.Join(home, "bin")
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "limactl"), "#!/bin/sh\necho 'limactl version 1.0.7'\n", 0o755)
	write(filepath.Join(bin, "direnv"), "#!/bin/sh\necho 2.32.1\n", 0o755)
	write(filepath.Join(home, ".config", "direnv", "lib", "vmhook.sh"), stdlib.Render(testExecutable(t)), 0o644)
	env = []string{
		"HOME=" + home,
		"PATH=" + bin + ":/usr/bin:/bin",
		"LIMACTL=" + filepath.Join(bin, "limactl"),
		"LIMA_HOME=" + filepath.Join(home, "lima"),
		"SHELL=/bin/zsh",
		// Main runs in this process, so the shell that "ran" it is our parent.
		"VMHOOK_HOOK=zsh " + strconv.Itoa(os.Getppid()),
	}
	return env, home
}

// doctorLines maps each check to its line.
func doctorLines(stdout string) map[string]string {
	lines := map[string]string{}
	re := regexp.MustCompile(`^(ok|warn|FAIL)\s+(\S+(?: home)?)\s+(.*)$`)
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			lines[m[2]] = m[1] + " " + m[3]
		}
	}
	return lines
}

func TestDoctorAllGood(t *testing.T) {
	env, home := doctorWorld(t)
	code, stdout, stderr := runMain(t, env, "doctor")
	lines := doctorLines(stdout)
	want := map[string]string{
		"limactl":   "ok " + filepath.Join(home, "bin", "limactl") + " (limactl version 1.0.7)",
		"lima home": "ok LIMA_HOME " + filepath.Join(home, "lima") + " (socket paths for vm-00000000-dev fit)",
		"hook":      "ok zsh hook loaded in this shell (pid " + strconv.Itoa(os.Getppid()) + ")",
		"stdlib":    "ok " + filepath.Join(home, ".config", "direnv", "lib", "vmhook.sh"),
		"direnv":    "ok " + filepath.Join(home, "bin", "direnv") + " (2.32.1)",
		"locks":     "ok " + filepath.Join(home, ".local", "state", "vmhook", "locks") + " is writable",
		"user":      "ok not root",
		"enter":     "warn no vmhook-enter beside " + testExecutable(t) + ": the hook enters through vmhook shell, a few milliseconds slower; install both with go install ./cmd/...",
	}
	wantCode := 0
	if os.Geteuid() == 0 {
		want["user"] = "FAIL running as root, which Lima refuses; run vmhook as your own user"
		wantCode = 1
	}
	for k, v := range want {
		if lines[k] != v {
			t.Errorf("%s: got %q, want %q", k, lines[k], v)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("got %d check lines, want %d:\n%s", len(lines), len(want), stdout)
	}
	if code != wantCode {
		t.Errorf("exit %d, want %d; stderr %q", code, wantCode, stderr)
	}
}

func TestDoctorFailures(t *testing.T) {
	env, home := doctorWorld(t)
	blocker := filepath.Join(home, "state-is-a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(home, ".config", "direnv", "lib", "vmhook.sh")); err != nil {
		t.Fatal(err)
	}
	env = append(env,
		"LIMACTL="+filepath.Join(home, "nonexistent"),
		"LIMA_HOME="+filepath.Join(home, strings.Repeat("x", 90)),
		"PATH=/nonexistent",
		"VMHOOK_HOOK=bash 1",
		"SHELL=/usr/bin/bash",
		"XDG_STATE_HOME="+blocker,
	)
	code, stdout, stderr := runMain(t, env, "doctor")
	lines := doctorLines(stdout)
	for check, want := range map[string][]string{
		"limactl":   {"FAIL ", "LIMACTL=", "fix LIMACTL or unset it"},
		"lima home": {"FAIL ", "set LIMA_HOME to a shorter directory"},
		"hook":      {"FAIL ", "loaded in another bash (pid 1)", `add ` + "`" + `eval "$(vmhook init bash)"` + "`" + ` to ~/.bashrc`},
		"stdlib":    {"FAIL ", "use vm is not installed", "vmhook stdlib > "},
		"direnv":    {"FAIL ", "direnv not found on PATH"},
		"locks":     {"FAIL ", "cannot create", "set XDG_STATE_HOME"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[check], w) {
				t.Errorf("%s: got %q, want it to contain %q", check, lines[check], w)
			}
		}
	}
	if code != 1 || !regexp.MustCompile(`^vmhook: [67] of 8 checks failed\n$`).MatchString(stderr) {
		t.Errorf("exit %d, stderr %q; want exit 1 and a count of failed checks", code, stderr)
	}
}

// TestDoctorLimaConfig: Lima's own instance-wide config files can add mounts
// to every VM, vmhook's included; doctor says which and when Lima merges them.
func TestDoctorLimaConfig(t *testing.T) {
	env, home := doctorWorld(t)
	cfg := filepath.Join(home, "lima", "_config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"base.yaml":     "mounts:\n- location: \"~\"\n  writable: true\n",
		"override.yaml": "cpus: 2\n",
		"default.yaml":  "mounts: [{location: /srv}]\n",
	} {
		if err := os.WriteFile(filepath.Join(cfg, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stdout, _ := runMain(t, env, "doctor")
	got := doctorLines(stdout)["lima home"]
	for _, want := range []string{
		"warn ",
		filepath.Join(cfg, "base.yaml") + " mounts ~ in every VM, vmhook's included (embedded into every instance's lima.yaml at create (Lima v2))",
		filepath.Join(cfg, "default.yaml") + " mounts /srv in every VM",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lima home: got %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "override.yaml") {
		t.Errorf("lima home: an override without mounts is reported: %q", got)
	}
}

// TestDoctorLimaVersion: a limactl outside the supported major versions, or
// one that does not say its version, is a warning.
func TestDoctorLimaVersion(t *testing.T) {
	for version, warn := range map[string]bool{
		"limactl version 2.2.0":     false,
		"limactl version 1.0.7":     false,
		"limactl version 3.0.0":     true,
		"limactl version <unknown>": true,
	} {
		env, home := doctorWorld(t)
		if err := os.WriteFile(filepath.Join(home, "bin", "limactl"), []byte("#!/bin/sh\necho '"+version+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, stdout, _ := runMain(t, env, "doctor")
		got := doctorLines(stdout)["limactl"]
		if strings.HasPrefix(got, "warn ") != warn || strings.Contains(got, "supports Lima v1.x and v2.x") != warn {
			t.Errorf("%s: got %q, want warning %v", version, got, warn)
		}
	}
}

func TestDoctorHookAndStdlibStates(t *testing.T) {
	t.Run("no hook", func(t *testing.T) {
		env, _ := doctorWorld(t)
		env = append(env, "VMHOOK_HOOK=", "SHELL=/usr/bin/fish")
		_, stdout, _ := runMain(t, env, "doctor")
		want := "FAIL not loaded in this shell; add `vmhook init fish | source` to ~/.config/fish/config.fish, after direnv's hook"
		if got := doctorLines(stdout)["hook"]; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("stale stdlib", func(t *testing.T) {
		env, home := doctorWorld(t)
		lib := filepath.Join(home, ".config", "direnv", "lib", "vmhook.sh")
		if err := os.WriteFile(lib, []byte(stdlib.Render("/old/vmhook")), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stdout, _ := runMain(t, env, "doctor")
		if got := doctorLines(stdout)["stdlib"]; !strings.HasPrefix(got, "warn "+lib+" is from another vmhook; refresh it: vmhook stdlib > ") {
			t.Errorf("got %q, want a warning to refresh %s", got, lib)
		}
	})
	t.Run("DIRENV_CONFIG", func(t *testing.T) {
		env, home := doctorWorld(t)
		cfg := filepath.Join(home, "direnv-config")
		env = append(env, "DIRENV_CONFIG="+cfg)
		_, stdout, _ := runMain(t, env, "doctor")
		if got := doctorLines(stdout)["stdlib"]; !strings.Contains(got, filepath.Join(cfg, "lib")) {
			t.Errorf("got %q, want the check to look in %s", got, filepath.Join(cfg, "lib"))
		}
	})
}

// TestEnterPath: the hook enters through the vmhook-enter installed beside
// vmhook, and only through an executable file of that name.
func TestEnterPath(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "vmhook")
	if got := enterPath(self); got != "" {
		t.Errorf("without vmhook-enter: %q", got)
	}
	enter := filepath.Join(dir, "vmhook-enter")
	os.WriteFile(enter, nil, 0o644)
	if got := enterPath(self); got != "" {
		t.Errorf("with a vmhook-enter that is not executable: %q", got)
	}
	os.Chmod(enter, 0o755)
	if got := enterPath(self); got != enter {
		t.Errorf("enterPath = %q, want %q", got, enter)
	}
	os.Remove(enter)
	os.Mkdir(enter, 0o755)
	if got := enterPath(self); got != "" {
		t.Errorf("with a directory called vmhook-enter: %q", got)
	}
}
