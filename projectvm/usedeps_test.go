package projectvm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestUseDepsSeeOtherOwners: the answer of `vmhook use` depends on who
// holds the project's names, so its list names the records that would say
// so, present or not yet.
func TestUseDepsSeeOtherOwners(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "api")
	os.MkdirAll(dir, 0o755)
	p := &Project{Dir: dir, Name: "api-dev", ConfigPath: ProjectConfig(dir), SettingsPath: ProjectSettings(dir)}
	n, err := DeriveNames(dir, e.LimaHome)
	if err != nil {
		t.Fatal(err)
	}

	// test that absent records are listed as absent
	deps := UseDeps(e, p)
	for _, want := range []string{
		"-" + e.InstanceDir(n.Base),
		"-" + e.instanceFile(n.Base, ownerFile),
		"-" + e.nameClaim(n.Base),
		"-" + e.nameClaim(n.Hashed),
		"$VM_CPUS=",
	} {
		if !slices.Contains(deps, want) {
			t.Errorf("deps lack %q: %q", want, deps)
		}
	}

	// test that another directory's reservation is listed, with that
	// directory (a reservation of a directory that is gone holds nothing)
	other := filepath.Join(root, "elsewhere", "api")
	os.MkdirAll(other, 0o755)
	if err := claimName(e, n.Base, ProjectOwner(other)); err != nil {
		t.Fatal(err)
	}
	deps = UseDeps(e, p)
	for _, want := range []string{"+" + e.nameClaim(n.Base), "=" + other} {
		if !slices.Contains(deps, want) {
			t.Errorf("deps lack %q: %q", want, deps)
		}
	}
}

// TestOwnerRecordsReadEarlierJSON: the consent and written records keep
// the owner as the text they always had ("vm:" and the definition for a
// named VM), so records written before Owner was a type read the same.
func TestOwnerRecordsReadEarlierJSON(t *testing.T) {
	for text, want := range map[string]Owner{
		`{"project":"/p/api"}`:           ProjectOwner("/p/api"),
		`{"project":"vm:/c/vms/x.yaml"}`: NamedOwner("/c/vms/x.yaml"),
	} {
		var rec allowRecord
		if err := json.Unmarshal([]byte(text), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Project != want {
			t.Errorf("%s read as %+v, want %+v", text, rec.Project, want)
		}
		out, _ := json.Marshal(allowRecord{Project: want})
		var back map[string]any
		json.Unmarshal(out, &back)
		var orig map[string]any
		json.Unmarshal([]byte(text), &orig)
		if back["project"] != orig["project"] {
			t.Errorf("%+v written as %v, want %v", want, back["project"], orig["project"])
		}
	}
}

// TestRememberedFlagsLayer: the flags of the last `use vm` are the flags
// layer of a project opened without flags, and not of one opened with its
// own; a record of an earlier version reads the same.
func TestRememberedFlagsLayer(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "api")
	os.MkdirAll(dir, 0o755)
	p, err := OpenProject(e, dir, Flags{"cpus": "3", "ports": "5173,3000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveFlags(p, Flags{"cpus": "3", "ports": "5173,3000"}); err != nil {
		t.Fatal(err)
	}
	for _, record := range []string{"", `{"CPUs":"3","Memory":"","Ports":["5173","3000"],"Session":""}`} {
		if record != "" {
			os.WriteFile(p.flagsFile(), []byte(record), 0o600)
		}
		q, err := OpenProject(e, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Settings.CPUs != 3 || !slices.Equal(q.Settings.Ports, []int{3000, 5173}) && !slices.Equal(q.Settings.Ports, []int{5173, 3000}) {
			t.Errorf("remembered %q: cpus %d, ports %v", record, q.Settings.CPUs, q.Settings.Ports)
		}
	}
	q, err := OpenProject(e, dir, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if q.Settings.CPUs == 3 {
		t.Error("remembered flags applied to a project opened with its own (none)")
	}
}

// The VM_* variables use vm saw are remembered with its flags: a process
// without them (or with others) renders what use vm rendered.
func TestRememberedEnvLayer(t *testing.T) {
	root := t.TempDir()
	e := testEnv(t, root)
	dir := filepath.Join(root, "api")
	os.MkdirAll(dir, 0o755)
	p, err := OpenProject(e, dir, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveUse(p, Flags{"memory": "2GiB"}, []string{"VM_CPUS=1", "HOME=/x", "VM_PORTS=3000"}); err != nil {
		t.Fatal(err)
	}
	e.Environ = []string{"VM_CPUS=3"}
	q, err := OpenProject(e, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Settings.CPUs != 1 || q.Settings.Memory != "2GiB" || !slices.Equal(q.Settings.Ports, []int{3000}) {
		t.Errorf("remembered env not the layer: cpus %d, memory %s, ports %v", q.Settings.CPUs, q.Settings.Memory, q.Settings.Ports)
	}
	if f := loadFlags(p.flagsFile()); len(f) != 1 || f["memory"] != "2GiB" {
		t.Errorf("flags read back as %v", f)
	}
	// Nothing to remember: the record goes, and the process's own env counts.
	if err := SaveUse(p, Flags{}, []string{"HOME=/x"}); err != nil {
		t.Fatal(err)
	}
	if q, err = OpenProject(e, dir, nil); err != nil || q.Settings.CPUs != 3 {
		t.Errorf("without a record: cpus %d (%v), want the env's 3", q.Settings.CPUs, err)
	}
}

func TestDriftNamesTheCommandThatWorks(t *testing.T) {
	for _, c := range []struct {
		d        Drift
		fix, has string
	}{
		{Drift{}, "", ""},
		{Drift{Changed: true}, "vmhook up --apply", "config changed"},
		{Drift{Changed: true, Restart: []string{"forwarded ports"}}, "vmhook up --apply", "(forwarded ports too, which only a restart applies)"},
		{Drift{Changed: true, Restart: []string{"forwarded ports", "file events from the host"}}, "vmhook up --apply", "(forwarded ports and file events from the host too, which only a restart applies)"},
		{Drift{Changed: true, NeedsRecreate: []string{"disk"}, Restart: []string{"forwarded ports"}}, "vmhook destroy && vmhook up (the VM's disk is lost)", "disk only a new VM can change"},
	} {
		if got := c.d.Fix(); got != c.fix {
			t.Errorf("%+v: fix %q, want %q", c.d, got, c.fix)
		}
		if line := c.d.Line("api-dev"); !strings.Contains(line, c.has) || c.fix != "" && !strings.HasSuffix(line, "; run "+c.fix) || strings.Contains(line, "\n") {
			t.Errorf("%+v: line %q", c.d, line)
		}
	}
}
