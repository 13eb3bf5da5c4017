package projectvm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
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
