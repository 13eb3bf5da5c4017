package projectvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// guardLima answers the guard probe as a guest would and records calls.
type guardLima struct {
	memLima
	version string
	answer  string // what a guest login shell prints for the probe
	fail    bool   // the probe fails (ssh not up)
	probes  int
}

func (l *guardLima) Output(_ context.Context, args ...string) ([]byte, error) {
	if len(args) == 1 && args[0] == "--version" {
		return []byte("limactl version " + l.version + "\n"), nil
	}
	if args[0] == "shell" && args[len(args)-1] == guardProbe {
		l.probes++
		if l.fail {
			return nil, errors.New("exit status 255")
		}
		return []byte(l.answer), nil
	}
	return nil, errors.New("unexpected")
}

func TestEnterArgsGuard(t *testing.T) {
	tests := []struct {
		name, version, answer string
		fail                  bool
		bare                  bool
		probesAfterTwo        int
	}{
		{name: "a guest with the guard gets bare limactl shell, asked once per boot", version: "1.0.7", answer: "1|p-dev", bare: true, probesAfterTwo: 1},
		{name: "a NixOS-like guest without the guard keeps the assignments", version: "1.0.7", answer: "|", probesAfterTwo: 1},
		{name: "a guard naming another VM is a no", version: "1.0.7", answer: "1|other", probesAfterTwo: 1},
		{name: "a failed probe keeps the assignments and asks again", version: "1.0.7", fail: true, probesAfterTwo: 2},
		{name: "under v2 the probe and the entry do not start a stopped VM", version: "2.2.0", answer: "1|p-dev", bare: true, probesAfterTwo: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			e := Env{LimaHome: filepath.Join(root, "lima"), StateHome: filepath.Join(root, "state")}
			os.MkdirAll(e.InstanceDir("p-dev"), 0o755)
			os.WriteFile(e.instanceFile("p-dev", hostAgentPid), []byte("4242\n"), 0o644)
			lima := &guardLima{version: tt.version, answer: tt.answer, fail: tt.fail}
			m := &Manager{Env: e, Lima: lima}
			p := &Project{Dir: "/p", Name: "p-dev"}
			want := []string{"shell", "--workdir", "/p", "p-dev"}
			if !tt.bare {
				want = append(want, "SYSINIT_IN_VM=1", "VMHOOK_VM=p-dev", "/bin/bash", "-i")
			}
			if tt.version == "2.2.0" {
				want = slices.Insert(want, 1, "--start=false")
			}
			for i := 0; i < 2; i++ {
				if got := m.EnterArgs(context.Background(), p, nil); !slices.Equal(got, want) {
					t.Fatalf("EnterArgs = %q, want %q", got, want)
				}
			}
			if lima.probes != tt.probesAfterTwo {
				t.Fatalf("%d probes for two entries, want %d", lima.probes, tt.probesAfterTwo)
			}
			// A new boot (another host agent) is asked again.
			os.WriteFile(e.instanceFile("p-dev", hostAgentPid), []byte("4343\n"), 0o644)
			m.EnterArgs(context.Background(), p, nil)
			if lima.probes != tt.probesAfterTwo+1 {
				t.Fatalf("%d probes after a new boot, want %d", lima.probes, tt.probesAfterTwo+1)
			}
			// Commands and sessions carry the guard and never ask.
			before := lima.probes
			got := m.EnterArgs(context.Background(), p, []string{"true"})
			if !slices.Contains(got, "SYSINIT_IN_VM=1") || !strings.HasSuffix(strings.Join(got, " "), "VMHOOK_VM=p-dev true") {
				t.Fatalf("command: %q", got)
			}
			p.Settings.Session = "tmux"
			if got := m.EnterArgs(context.Background(), p, nil); !slices.Contains(got, "SYSINIT_IN_VM=1") {
				t.Fatalf("session: %q", got)
			}
			if lima.probes != before {
				t.Fatal("a command or a session asked the guest")
			}
		})
	}
}
