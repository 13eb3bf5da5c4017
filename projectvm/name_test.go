package projectvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmhook/vmhook/projectvm/limatest"
)

func TestDeriveNames(t *testing.T) {
	const lh = "/home/u/.lima"
	long := strings.Repeat("a", 200)
	tests := []struct {
		dir      string
		base     string // "" means: must be the hashed name
		hashedRE string
	}{
		{"/home/u/api", "api-dev", `^api-dev-[0-9a-f]{8}$`},
		{"/home/u/web2", "web2-dev", `^web2-dev-[0-9a-f]{8}$`},
		{"/home/u/My App", "", `^my-app-dev-[0-9a-f]{8}$`},
		{"/home/u/日本語", "", `^vm-[0-9a-f]{8}-dev$`},
		{"/home/u/a..b", "", `^a-b-dev-[0-9a-f]{8}$`},
		{"/home/u/-x-", "", `^x-dev-[0-9a-f]{8}$`},
		{"/home/u/x.yaml", "", `^x-yaml-dev-[0-9a-f]{8}$`},
		{"/home/u/" + long, "", `^a{32}-dev-[0-9a-f]{8}$`},
		{"/home/u/$(touch pwned)", "", `^touch-pwned-dev-[0-9a-f]{8}$`},
		{"/home/u/it's \"q\"", "", `^it-s-q-dev-[0-9a-f]{8}$`},
		{"/home/u/new\nline", "", `^new-line-dev-[0-9a-f]{8}$`},
		{"/", "", `^vm-[0-9a-f]{8}-dev$`},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			n, err := DeriveNames(tt.dir, lh)
			if err != nil {
				t.Fatal(err)
			}
			if !regexpMatch(tt.hashedRE, n.Hashed) {
				t.Errorf("hashed name %q does not match %s", n.Hashed, tt.hashedRE)
			}
			want := tt.base
			if want == "" {
				want = n.Hashed
			}
			if n.Base != want {
				t.Errorf("base name = %q, want %q", n.Base, want)
			}
			for _, name := range []string{n.Base, n.Hashed} {
				if err := ValidName(name); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestDeriveNamesDiffersByPath(t *testing.T) {
	a, _ := DeriveNames("/a/My App", "/l")
	b, _ := DeriveNames("/b/My App", "/l")
	if a.Hashed == b.Hashed {
		t.Fatalf("two directories share the name %q", a.Hashed)
	}
}

func TestDeriveNamesSocketBudget(t *testing.T) {
	// A long LIMA_HOME shortens the basename part so sockets still fit.
	lh := "/" + strings.Repeat("l", 60)
	n, err := DeriveNames("/p/"+strings.Repeat("b", 40), lh)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSocketBudget(lh, n.Hashed); err != nil {
		t.Fatal(err)
	}
	if l := len(lh + "/" + n.Hashed + sockProbe); l >= sockBudget {
		t.Fatalf("socket path of %d bytes", l)
	}
	// A LIMA_HOME with no room at all is an error that says what to do.
	_, err = DeriveNames("/p/x", "/"+strings.Repeat("l", 90))
	if err == nil || !strings.Contains(err.Error(), "set LIMA_HOME to a shorter directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveNameOwnership(t *testing.T) {
	root := t.TempDir()
	e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
	a, b := "/x/a/api", "/x/b/api"
	if n, _ := ResolveName(e, a); n != "api-dev" {
		t.Fatalf("first project: %q", n)
	}
	// a's VM exists: b gets the hashed name, a keeps the base name.
	mkInstance(t, e, "api-dev", a)
	nb, _ := ResolveName(e, b)
	if nb == "api-dev" || !strings.HasPrefix(nb, "api-dev-") {
		t.Fatalf("second project: %q", nb)
	}
	if n, _ := ResolveName(e, a); n != "api-dev" {
		t.Fatalf("owner lost its name: %q", n)
	}
	// b's VM exists under the hashed name; after a's VM goes, b keeps it.
	mkInstance(t, e, nb, b)
	os.RemoveAll(e.InstanceDir("api-dev"))
	if n, _ := ResolveName(e, b); n != nb {
		t.Fatalf("b moved from %q to %q", nb, n)
	}
	// An instance without an owner record is not vmhook's.
	if err := os.MkdirAll(e.InstanceDir("web-dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if n, _ := ResolveName(e, "/x/web"); n == "web-dev" {
		t.Fatal("took over an instance vmhook did not create")
	}
	// A reservation counts before the instance exists (while its project
	// directory does).
	dbA := filepath.Join(root, "a", "db")
	if err := os.MkdirAll(dbA, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := claimName(e, "db-dev", ProjectOwner(dbA)); err != nil {
		t.Fatal(err)
	}
	if n, _ := ResolveName(e, "/x/b/db"); n == "db-dev" {
		t.Fatal("ignored another project's reservation")
	}
	if err := claimName(e, "db-dev", ProjectOwner("/x/b/db")); err == nil {
		t.Fatal("claimed a name another project holds")
	}
	// A reservation by a directory that is gone is taken over.
	os.RemoveAll(dbA)
	if n, _ := ResolveName(e, "/x/b/db"); n != "db-dev" {
		t.Fatalf("a stale reservation kept the name: %q", n)
	}
}

func mkInstance(t *testing.T, e Env, name, owner string) {
	t.Helper()
	d := e.InstanceDir(name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "lima.yaml"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteOwner(d, ownerFromRecord(owner)); err != nil {
		t.Fatal(err)
	}
}

// TestNamesAcceptedByRealLima creates an instance under every awkward name
// with the real limactl.
func TestNamesAcceptedByRealLima(t *testing.T) { limatest.Each(t, testNamesAcceptedByRealLima) }

func testNamesAcceptedByRealLima(t *testing.T, lima *limatest.Lima) {
	cfg := localImageConfig(t, lima)
	dirs := []string{"api", "My App", "日本語", "a..b", "-x-", "x.yaml", strings.Repeat("n", 200),
		"$(touch pwned)", `it's "quoted"`, "new\nline", "UPPER", "tab\there", "`id`", "a|b\\c"}
	seen := map[string]bool{}
	for _, d := range dirs {
		n, err := DeriveNames(filepath.Join("/home/someone/src", d), lima.LimaHome())
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		for _, name := range []string{n.Base, n.Hashed} {
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, stderr, err := lima.Run("create", "--name", name, "--tty=false", cfg); err != nil {
				t.Errorf("limactl create --name %q (from %q): %v\n%s", name, d, err, stderr)
				continue
			}
			if InstanceState(filepath.Join(lima.LimaHome(), name)) != Stopped {
				t.Errorf("%q: created instance does not read as Stopped", name)
			}
			if _, _, err := lima.Run("delete", "--force", name); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Fatal("a name executed a command")
	}
}

// localImageConfig is a config real limactl can create from without network.
func localImageConfig(t *testing.T, lima *limatest.Lima) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "vhimg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	img := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("images:\n- location: "+img+"\n  arch: x86_64\ncontainerd: {system: false, user: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lima.Chown(dir)
	return cfg
}

// TestOwnerRecordIsExact round-trips directory names that trimming or a
// text encoding would change.
func TestOwnerRecordIsExact(t *testing.T) {
	dirs := []string{"/p/api", "/p/api ", "/p/api\t", "/p/api\n", "/p/a\nb", "/p/\xff\xfe", " /p/lead", "/p/\"q\"\\", "vm:/c/vms/x.yaml", "/p/api\r\n"}
	for _, d := range dirs {
		inst := t.TempDir()
		if err := WriteOwner(inst, ownerFromRecord(d)); err != nil {
			t.Fatal(err)
		}
		o, err := ReadOwner(inst)
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		if got := ownerRecord(o); got != d {
			t.Errorf("owner %q read back as %q", d, got)
		}
	}
}

// TestOwnerRecordOldFormat reads the records of earlier versions: the
// directory and a newline.
func TestOwnerRecordOldFormat(t *testing.T) {
	inst := t.TempDir()
	if err := os.WriteFile(filepath.Join(inst, ownerFile), []byte("/p/api \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadOwner(inst); err != nil || got.Dir != "/p/api " {
		t.Fatalf("old record read as %q, %v", got, err)
	}
	// A record that is neither is an error, not an owner.
	if err := os.WriteFile(filepath.Join(inst, ownerFile), []byte("vmhook-owner 9\n\"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadOwner(inst); err == nil {
		t.Fatalf("unknown record version read as %q", got)
	}
}

// ownerFromRecord is the Owner whose record text is s ("vm:" and a
// definition for a named VM, else a directory).
func ownerFromRecord(s string) Owner {
	var o Owner
	_ = o.UnmarshalText([]byte(s))
	return o
}

// ownerRecord is o's record text.
func ownerRecord(o Owner) string {
	b, _ := o.MarshalText()
	return string(b)
}

// TestHashedNameNotice: a project whose base name was taken since it was
// resolved moves to its hashed name and is told, truly, what holds the
// base name: a Lima VM of no vmhook project is not "another project's".
func TestHashedNameNotice(t *testing.T) {
	for _, tc := range []struct {
		name  string
		owner Owner
		want  string
	}{
		{"lima's", Owner{}, "api-dev is a Lima VM vmhook does not manage; this project uses api-dev-"},
		{"project's", ProjectOwner("/elsewhere/api"), `api-dev is the VM of the project "/elsewhere/api"; this project uses api-dev-`},
		{"named", NamedOwner("/defs/api-dev.yaml"), `api-dev is the named VM defined in "/defs/api-dev.yaml"; this project uses api-dev-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			e := testEnv(t, root)
			dir := filepath.Join(root, "api")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "vmhook.yaml"), []byte("cpus: 1\n"), 0o644)
			p, err := OpenProject(e, dir, Flags{})
			if err != nil || p.Name != "api-dev" {
				t.Fatalf("open: %v, %v", p, err)
			}
			inst := e.InstanceDir("api-dev")
			os.MkdirAll(inst, 0o755)
			os.WriteFile(filepath.Join(inst, limaYAML), nil, 0o644)
			if !tc.owner.IsZero() {
				if err := WriteOwner(inst, tc.owner); err != nil {
					t.Fatal(err)
				}
			}
			var notices []string
			m := &Manager{Env: e, OnNotice: func(s string) { notices = append(notices, s) }}
			if !m.takeHashedName(context.Background(), p) {
				t.Fatal("kept the base name")
			}
			if len(notices) != 1 || !strings.HasPrefix(notices[0], tc.want) || !strings.HasSuffix(notices[0], p.Name) {
				t.Fatalf("notices %q, want %q…%s", notices, tc.want, p.Name)
			}
		})
	}
}
