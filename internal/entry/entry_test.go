package entry

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func sample() *Record {
	return &Record{
		Project: "/home/me/odd \"dir\"\n\u202e",
		Vmhook:  File{Path: "/usr/bin/vmhook", Follow: true, Mode: 0o100755, Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 5},
		Env:     []string{"HOME=/home/me", "VM_X=a b=c"},
		Files: []File{
			{Path: "/home/me/p", Mode: 0o40755, Dev: 7, Ino: 8},
			{Path: "/home/me/p/vmhook.yaml", Missing: true},
			{Path: "/lima", List: true, Mode: 0o40700, Mtime: 9},
		},
		Procs:    []Proc{{Pid: 42, Start: 1234567}},
		Limactl:  "limactl",
		Path:     "/usr/bin/limactl",
		Command:  true,
		Argv:     []string{"limactl", "shell", "--workdir", "/home/me/p", "p-dev", ""},
		Terminal: true,
		Said:     []string{"vmhook: p-dev: guest 3000 → localhost:3001 (3000 is taken by q-dev)\n"},
	}
}

func TestEncodeDecode(t *testing.T) {
	want := sample()
	got, err := Decode(want.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestDecodeRefuses: a record cut short, from another format, or altered
// is not read.
func TestDecodeRefuses(t *testing.T) {
	data := string(sample().Encode())
	for name, bad := range map[string]string{
		"empty":          "",
		"header only":    header + "\n",
		"cut short":      data[:len(data)/2],
		"no newline":     strings.TrimSuffix(data, "\n"),
		"other format":   strings.Replace(data, header, "vmhook-entry 2", 1),
		"unknown key":    data + "extra 1\n",
		"two projects":   data + "project \"/x\"\n",
		"bad proc":       data + "proc -1 5\n",
		"bad quoting":    strings.Replace(data, `project "`, `project "\q`, 1),
		"no argv":        strings.Replace(data, "argv ", "argx ", 1),
		"bad file kind":  strings.Replace(data, " lstat ", " stats ", 1),
		"two spaces":     strings.Replace(data, "limactl \"limactl\" ", "limactl \"limactl\"  ", 1),
		"env without =":  data + "env \"HOME\"\n",
		"file words":     data + "file \"/x\" lstat 1 2\n",
		"unquoted extra": strings.Replace(data, "tty true false", "tty true false x", 1),
	} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sample().Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes encodes back to a record that decodes the same.
		again, err := Decode(r.Encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

func TestSame(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("a"), 0o644)
	f, err := Stat(file, false)
	if err != nil || f.Missing {
		t.Fatal(err)
	}
	d, _ := Stat(dir, false)
	list := d
	list.List = true
	missing, _ := Stat(filepath.Join(dir, "g"), false)
	if !f.Same() || !d.Same() || !list.Same() || !missing.Same() || !missing.Missing {
		t.Fatal("unchanged paths compare as changed")
	}
	// A new entry: the directory is the same one, its listing is not,
	// and the missing path is there.
	os.WriteFile(filepath.Join(dir, "g"), nil, 0o644)
	if !d.Same() || list.Same() || missing.Same() {
		t.Errorf("after a new entry: dir same %v, listing same %v, missing same %v", d.Same(), list.Same(), missing.Same())
	}
	// Content rewritten in place, same size.
	os.WriteFile(file, []byte("b"), 0o644)
	if f.Same() {
		t.Error("a rewritten file compares as the same")
	}
	// A directory replaced by a link to itself is another path.
	os.Rename(dir, dir+".real")
	defer os.Rename(dir+".real", dir)
	os.Symlink(dir+".real", dir)
	defer os.Remove(dir)
	if d.Same() {
		t.Error("a directory replaced by a link compares as the same")
	}
}

func TestRelevant(t *testing.T) {
	for kv, want := range map[string]bool{
		"HOME=/h": true, "PATH=/bin": true, "LIMA_HOME=/l": true, "LIMACTL=x": true, "XDG_STATE_HOME=/s": true,
		"VM_CPUS=2": true, "SYSINIT_IN_VM=1": true, "VMHOOK_VM=a": true, "DIRENV_IN_ENVRC=1": true,
		"VMHOOK_HOOK=zsh 123": false, "PWD=/p": false, "OLDPWD=/": false, "TERM=xterm": false, "DIRENV_DIFF=x": false,
	} {
		if Relevant(kv) != want {
			t.Errorf("Relevant(%q) = %v", kv, !want)
		}
	}
}

func TestProcNow(t *testing.T) {
	p, ok := ProcNow(os.Getpid())
	if !Supported {
		t.Skip("no /proc here")
	}
	if !ok || p.Pid != os.Getpid() || p.Start == 0 {
		t.Fatalf("ProcNow(self) = %+v, %v", p, ok)
	}
	if _, ok := ProcNow(1 << 30); ok {
		t.Error("a pid that cannot exist is alive")
	}
}

func TestPath(t *testing.T) {
	if a, b := Path("/s", "/a/b", false), Path("/s", "/a%2Fb", false); a == b {
		t.Errorf("two projects share a record: %s", a)
	}
	if Path("/s", "/p", true) == Path("/s", "/p", false) {
		t.Error("commands and shells share a record")
	}
	if Path("/s", "/"+strings.Repeat("x", 300), false) != "" || Path("", "/p", false) != "" {
		t.Error("a record path for an argument too long, or without a state directory")
	}
}

func TestRelevantEnv(t *testing.T) {
	a := RelevantEnv([]string{"PWD=/x", "VMHOOK_VM=a", "HOME=/h", "VMHOOK_VM=b", "LIMA_HOME=/l"})
	b := RelevantEnv([]string{"LIMA_HOME=/l", "VMHOOK_VM=b", "OLDPWD=/y", "HOME=/h"})
	if !reflect.DeepEqual(a, b) || len(a) != 3 {
		t.Errorf("the same environment in another order reads differently: %q, %q", a, b)
	}
	if c := RelevantEnv([]string{"HOME=/h", "VMHOOK_VM=a", "LIMA_HOME=/l"}); reflect.DeepEqual(a, c) {
		t.Errorf("a changed value reads the same: %q", c)
	}
}

// TestRelevantEnvKeepsLast checks one entry per name, the last, sorted.
func TestRelevantEnvKeepsLast(t *testing.T) {
	got := RelevantEnv([]string{"XDG_A=1", "PWD=/x", "VM_CPUS=2", "XDG_A=2", "HOME=/h"})
	want := []string{"HOME=/h", "VM_CPUS=2", "XDG_A=2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("RelevantEnv = %q, want %q", got, want)
	}
}

// BenchmarkRelevantEnv scans an environment of 16,000 distinct XDG_*
// variables, which took seconds while each name was looked for among the
// ones kept.
func BenchmarkRelevantEnv(b *testing.B) {
	env := make([]string, 16000)
	for i := range env {
		env[i] = "XDG_V" + strconv.Itoa(i) + "=x"
	}
	for b.Loop() {
		RelevantEnv(env)
	}
}
