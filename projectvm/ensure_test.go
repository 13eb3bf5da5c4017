package projectvm

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebrisWithTempFileIsCleared makes sure a failed create's directory
// holding only a temp file of vmhook's (killed while writing the owner
// record) is not taken for somebody else's directory.
func TestDebrisWithTempFileIsCleared(t *testing.T) {
	root := t.TempDir()
	e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
	p := &Project{Dir: filepath.Join(root, "api"), Name: "api-dev"}
	inst := e.InstanceDir("api-dev")
	os.MkdirAll(inst, 0o755)
	os.WriteFile(filepath.Join(inst, ".vmhook-owner.tmp123"), []byte("x"), 0o644)
	m := &Manager{Env: e}
	if err := m.clearDebris(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inst); !os.IsNotExist(err) {
		t.Fatal("debris left")
	}
}

// failingLima fails every call and records the arguments.
type failingLima struct{ calls [][]string }

func (f *failingLima) Output(_ context.Context, args ...string) ([]byte, error) {
	f.calls = append(f.calls, args)
	return nil, errors.New("fake failure")
}

func (f *failingLima) Run(_ context.Context, _ func(string), args ...string) error {
	f.calls = append(f.calls, args)
	return errors.New("fake failure")
}

func (f *failingLima) Exec([]string, []string) error { return errors.New("fake failure") }

func (f *failingLima) Attach(_ context.Context, _ io.Reader, _, _ io.Writer, args ...string) error {
	f.calls = append(f.calls, args)
	return errors.New("fake failure")
}

// TestFailedCreateLeavesOthersAlone makes sure the clean-up after a failed
// create does not record or delete an instance directory that was there
// before the create began (someone else's, made in the meantime).
func TestFailedCreateLeavesOthersAlone(t *testing.T) {
	root := t.TempDir()
	e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
	lima := &failingLima{}
	m := &Manager{Env: e, Lima: lima}
	p := &Project{Dir: filepath.Join(root, "api"), Name: "api-dev"}
	inst := e.InstanceDir("api-dev")
	os.MkdirAll(inst, 0o755)
	os.WriteFile(filepath.Join(inst, "lima.yaml"), []byte("{}\n"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(inst, old, old)
	err := m.failedCreate(p, time.Now(), errors.New("create failed"))
	if err == nil || err.Error() != "create failed" {
		t.Fatalf("err = %v", err)
	}
	if owner, _ := ReadOwner(inst); !owner.IsZero() || len(lima.calls) > 0 {
		t.Fatalf("touched another's instance: owner %q, calls %v", owner, lima.calls)
	}
	// One made by this create is recorded, and its delete is tried.
	started := time.Now()
	os.Chtimes(inst, started, started)
	err = m.failedCreate(p, started, errors.New("create failed"))
	if err == nil || !strings.Contains(err.Error(), "vmhook destroy removes it") {
		t.Fatalf("err = %v", err)
	}
	if owner, _ := ReadOwner(inst); owner.Dir != p.Dir {
		t.Fatalf("owner = %q", owner)
	}
}
