package projectvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseDotenv(t *testing.T) {
	got, err := parseDotenv([]byte("# a comment\n\nexport PORT=3000\nDATABASE_URL = postgres://db/app # the dev db\n" +
		"SECRET='a $b \"c\"'\nMULTI=\"one\\ntwo \\\"q\\\" \\$HOME\"\nSPAN=\"first\nsecond\"\nEMPTY=\nHASH=a#b\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"PORT", "3000"}, {"DATABASE_URL", "postgres://db/app"}, {"SECRET", `a $b "c"`},
		{"MULTI", "one\ntwo \"q\" $HOME"}, {"SPAN", "first\nsecond"}, {"EMPTY", ""}, {"HASH", "a#b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []string{"just words\n", "1X=y\n", "A='open\n", "B=\"open\n", "C-D=1\n"} {
		if _, err := parseDotenv([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err %v, want one naming line 1", bad, err)
		}
	}
}

// guestEnvProject is a project at a new directory with the default env
// file.
func guestEnvProject(t *testing.T) *Project {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	return &Project{Dir: dir, Name: "app-dev", Settings: s}
}

func TestGuestEnvCrossesWhatTheGuestCanUse(t *testing.T) {
	p := guestEnvProject(t)
	host := t.TempDir()
	p.Settings.Env = map[string]string{"EDITOR": "vim"}
	env := "PORT=3000\nPATH=/usr/bin\nEDITOR=nano\nSTORE=/nix/store/abc-python/bin\nCACHE=" + host + "\n" +
		"LOCAL=" + filepath.Join(p.Dir, "tmp") + "\nVENV=" + filepath.Join(p.Dir, ".direnv", "python-3.12") + "\nGUEST=/srv/app\n"
	if err := os.WriteFile(filepath.Join(p.Dir, ".env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"VMHOOK_GUEST_ENV=DATABASE_URL PORT MISSING", "DATABASE_URL=postgres://x", "PORT=4000"}
	vars, left := p.GuestEnv(environ)
	var got []string
	for _, v := range vars {
		got = append(got, v.name+"="+v.value+" ("+v.from+")")
	}
	want := []string{"PORT=4000 (use vm --env)", "LOCAL=" + filepath.Join(p.Dir, "tmp") + " (.env)", "GUEST=/srv/app (.env)", "DATABASE_URL=postgres://x (use vm --env)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("crossed\n%q\nwant\n%q", got, want)
	}
	for _, l := range []string{
		"left PATH (.env) out of the guest: it is the host's own variable",
		"left EDITOR (.env) out of the guest: vmhook.yaml's env: sets it",
		"left STORE (.env) out of the guest: it names a Nix store path of the host",
		"left CACHE (.env) out of the guest: " + host + " is a host path outside the project",
		"left VENV (.env) out of the guest: it is a path in direnv's .direnv, built for the host",
		"left MISSING (use vm --env) out of the guest: the .envrc does not set it",
	} {
		if !strings.Contains(strings.Join(left, "\n"), l) {
			t.Errorf("not said: %q\nsaid:\n%s", l, strings.Join(left, "\n"))
		}
	}
}

// TestGuestEnvFileIsTheProjects checks that the env file is read only as a
// regular file of the project: a link out of it, a FIFO, a directory and
// broken syntax are each left out in one line, without blocking.
func TestGuestEnvFileIsTheProjects(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(secret, []byte("AWS_SECRET=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		make       func(path string) error
	}{
		{"link out", "outside the project", func(path string) error { return os.Symlink(secret, path) }},
		{"fifo", "not a regular file", func(path string) error { return syscall.Mkfifo(path, 0o600) }},
		{"directory", "not a regular file", func(path string) error { return os.Mkdir(path, 0o700) }},
		{"syntax", "line 2 is not NAME=VALUE", func(path string) error { return os.WriteFile(path, []byte("A=1\noops\n"), 0o600) }},
	} {
		p := guestEnvProject(t)
		if err := c.make(filepath.Join(p.Dir, ".env")); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var vars []guestVar
		var left []string
		go func() { vars, left = p.GuestEnv(nil); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: reading the env file blocked", c.name)
		}
		if len(vars) != 0 || len(left) != 1 || !strings.Contains(left[0], c.want) || !strings.HasPrefix(left[0], "left .env out of the guest: ") {
			t.Errorf("%s: crossed %v, said %q, want one line with %q", c.name, vars, left, c.want)
		}
	}
	// A link inside the project is the project's file.
	p := guestEnvProject(t)
	os.WriteFile(filepath.Join(p.Dir, ".env.dev"), []byte("A=1\n"), 0o600)
	os.Symlink(".env.dev", filepath.Join(p.Dir, ".env"))
	if vars, left := p.GuestEnv(nil); len(vars) != 1 || len(left) != 0 {
		t.Errorf("a link to a file of the project: %v %q", vars, left)
	}
}

// TestWriteGuestEnvReachesLoginShells writes .lima/env, reads it as the
// guest's profile script does (with sh, from the script vmhook installs),
// and checks that a second entry neither rewrites it nor says anything
// again, and that a file vmhook did not write is never replaced.
func TestWriteGuestEnvReachesLoginShells(t *testing.T) {
	p := guestEnvProject(t)
	m := &Manager{}
	write := func(env string) {
		if err := os.WriteFile(filepath.Join(p.Dir, ".env"), []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("GREETING=\"it's $HOME `x`\"\nPATH=/bad\n")
	said, err := m.WriteGuestEnv(p, nil)
	if err != nil || len(said) != 1 || !strings.Contains(said[0], "left PATH") {
		t.Fatalf("first write: %q, %v", said, err)
	}
	file := guestEnvFile(p.Dir)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", file, fi, err)
	}
	script := guestEnvScript(p.Dir)
	profile := script[strings.Index(script, "<<'VMHOOK_ENV'\n")+len("<<'VMHOOK_ENV'\n") : strings.LastIndex(script, "VMHOOK_ENV\n")]
	out, err := exec.Command("sh", "-c", profile+`printf '%s|%s' "$GREETING" "$PATH"`).Output()
	if err != nil || !strings.HasPrefix(string(out), "it's $HOME `x`|") || strings.Contains(string(out), "/bad") {
		t.Fatalf("a login shell read %q (%v)", out, err)
	}
	before, _ := os.Stat(file)
	if said, err := m.WriteGuestEnv(p, nil); err != nil || len(said) != 0 {
		t.Fatalf("second entry said %q, %v", said, err)
	}
	if after, _ := os.Stat(file); !os.SameFile(before, after) {
		t.Error("an unchanged environment rewrote the file")
	}
	os.Remove(filepath.Join(p.Dir, ".env"))
	if _, err := m.WriteGuestEnv(p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("with no env file, %s stays: %v", file, err)
	}
	os.WriteFile(file, []byte("mine\n"), 0o644)
	write("A=1\n")
	if _, err := m.WriteGuestEnv(p, nil); err == nil || !strings.Contains(err.Error(), "is not the file vmhook writes") {
		t.Errorf("a foreign %s: %v", file, err)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine\n" {
		t.Errorf("a foreign file was replaced: %q", b)
	}
}
