package projectvm

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSettingsLayers(t *testing.T) {
	def := Defaults()
	tests := []struct {
		name          string
		user, project string
		env           []string
		flags         Flags
		check         func(s Settings) (got, want any)
	}{
		{"defaults", "", "", nil, Flags{}, func(s Settings) (any, any) { return s.Memory, def.Memory }},
		{"user over defaults", "memory: 8GiB\n", "", nil, Flags{}, func(s Settings) (any, any) { return s.Memory, "8GiB" }},
		{"project over user", "memory: 8GiB\n", "memory: 6G\n", nil, Flags{}, func(s Settings) (any, any) { return s.Memory, "6GiB" }},
		{"env over project", "", "cpus: 2\n", []string{"VM_CPUS=5"}, Flags{}, func(s Settings) (any, any) { return s.CPUs, 5 }},
		{"flags over env", "", "cpus: 2\n", []string{"VM_CPUS=5"}, Flags{"cpus": "7"}, func(s Settings) (any, any) { return s.CPUs, 7 }},
		{"env memory", "", "memory: 2GiB\n", []string{"VM_MEMORY=3GiB"}, Flags{}, func(s Settings) (any, any) { return s.Memory, "3GiB" }},
		{"env disk", "disk: 20GiB\n", "", []string{"VM_DISK=30GiB"}, Flags{}, func(s Settings) (any, any) { return s.Disk, "30GiB" }},
		{"env ports replace project ports", "", "ports: [3000]\n", []string{"VM_PORTS=8080, 9090"}, Flags{}, func(s Settings) (any, any) { return s.Ports, []int{8080, 9090} }},
		{"flag ports replace env ports", "", "", []string{"VM_PORTS=8080"}, Flags{"ports": "5173,3000,4000"}, func(s Settings) (any, any) { return s.Ports, []int{5173, 3000, 4000} }},
		{"env image", "", "image: /a.img\n", []string{"VM_IMAGE=/b.img"}, Flags{}, func(s Settings) (any, any) { return s.Image.Location, "/b.img" }},
		{"image mapping with digest", "", "image: {location: /a.img, digest: 'sha256:" + strings.Repeat("ab", 32) + "'}\n", nil, Flags{}, func(s Settings) (any, any) {
			return s.Image, Image{Location: "/a.img", Digest: "sha256:" + strings.Repeat("ab", 32)}
		}},
		{"relative image is the project's", "", "image: img/disk.qcow2\n", nil, Flags{}, func(s Settings) (any, any) { return s.Image.Location, "/proj/img/disk.qcow2" }},
		{"env maps merge by key", "env: {A: u, B: u}\n", "env: {B: p}\n", nil, Flags{}, func(s Settings) (any, any) { return s.Env, map[string]string{"A": "u", "B": "p"} }},
		{"lima fields vmhook does not check pass through", "", "lima: {video: {display: none}, cpus: 2, images: [{location: /a.img, arch: x86_64}], ssh: {localPort: 0}}\n", nil, Flags{}, func(s Settings) (any, any) {
			return s.Lima["video"], map[string]any{"display": "none"}
		}},
		{"lima maps merge deeply", "lima: {ssh: {forwardX11: true}}\n", "lima: {ssh: {forwardX11Trusted: true}}\n", nil, Flags{}, func(s Settings) (any, any) {
			return s.Lima, map[string]any{"ssh": map[string]any{"forwardX11": true, "forwardX11Trusted": true}}
		}},
		{"project mount is relative to the project", "", "mounts: [data, {location: cache, writable: true}]\n", nil, Flags{}, func(s Settings) (any, any) {
			return s.Mounts, []Mount{{"/proj/data", false}, {"/proj/cache", true}}
		}},
		{"session none", "session: tmux\n", "session: none\n", nil, Flags{}, func(s Settings) (any, any) { return s.Session, "" }},
		{"provision defaults to system, once", "", "provision: [{script: 'echo hi'}]\n", nil, Flags{}, func(s Settings) (any, any) { return s.Provision, []Provision{{"system", "echo hi", "once"}} }},
		{"provision mode boot runs every boot", "", "provision: [{mode: boot, script: 'echo hi'}, {mode: user, script: x, when: boot}]\n", nil, Flags{}, func(s Settings) (any, any) {
			return s.Provision, []Provision{{"boot", "echo hi", "boot"}, {"user", "x", "boot"}}
		}},
		{"empty project file", "", "", nil, Flags{}, func(s Settings) (any, any) { return s.CPUs, def.CPUs }},
		{"empty ports clear the user's", "ports: [3000]\n", "ports:\n", nil, Flags{}, func(s Settings) (any, any) { return s.Ports, []int(nil) }},
		{"empty cpus is unset", "cpus: 3\n", "cpus:\n", nil, Flags{}, func(s Settings) (any, any) { return s.CPUs, 3 }},
		{"empty env var is unset", "", "cpus: 3\n", []string{"VM_CPUS="}, Flags{}, func(s Settings) (any, any) { return s.CPUs, 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := Sources{Env: tt.env, Flags: tt.flags, ProjectDir: "/proj"}
			if tt.user != "" {
				src.UserConfig = filepath.Join(dir, "config.yaml")
				os.WriteFile(src.UserConfig, []byte(tt.user), 0o644)
			}
			src.ProjectFile = filepath.Join(dir, "vmhook.yaml")
			os.WriteFile(src.ProjectFile, []byte(tt.project), 0o644)
			s, err := LoadSettings(src)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tt.check(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		project string
		env     []string
		flags   Flags
		want    string
	}{
		{"cpus: 0\n", nil, Flags{}, "vmhook.yaml:1: cpus: must be a whole number from 1 to 512, got 0"},
		{"cpus: many\n", nil, Flags{}, `vmhook.yaml:1: cpus: must be a whole number, got "many"`},
		{"memory: lots\n", nil, Flags{}, `vmhook.yaml:1: memory: "lots" is not a size such as 4GiB or 512MiB`},
		{"memory: 16MiB\n", nil, Flags{}, `memory: "16MiB" is too small`},
		{"disk: -1GiB\n", nil, Flags{}, `disk: "-1GiB" is not a size`},
		{"ports: [70000]\n", nil, Flags{}, "vmhook.yaml:1: ports[0]: 70000 is not a port number (1-65535)"},
		{"ports: [80, 80]\n", nil, Flags{}, "ports: port 80 is listed twice"},
		{"ports: 3000\n", nil, Flags{}, `ports: must be a list, got "3000"`},
		{"cpus: 2\nfoo: 1\n", nil, Flags{}, "vmhook.yaml:2: foo: unknown field (known: cpus,"},
		{"rebuild: make\n", nil, Flags{}, "vmhook.yaml:1: rebuild: unknown field"},
		{"allowMounts: [/]\n", nil, Flags{}, "vmhook.yaml:1: allowMounts: unknown field"},
		{"image: {location: x, sha: y}\n", nil, Flags{}, "vmhook.yaml:1: image.sha: unknown field (known: location, arch, digest)"},
		{"image: {location: x, digest: md5}\n", nil, Flags{}, `image: digest "md5" must look like sha256:<hex>`},
		{"sockets: [{host: /a}]\n", nil, Flags{}, "sockets[0]: needs both host and guest"},
		{"sockets: [{host: /a, guest: b/c}]\n", nil, Flags{}, `sockets[0]: guest "b/c" must be a file name`},
		{"sockets: [{host: /a, guest: b, direction: up}]\n", nil, Flags{}, `sockets[0]: direction "up" must be to-guest`},
		{"sockets: [{host: /a, guest: b, env: X, envForm: tcp}]\n", nil, Flags{}, `sockets[0]: envForm "tcp" must be path or url`},
		{"sockets: [{host: /a, guest: b, envForm: url}]\n", nil, Flags{}, "sockets[0]: envForm needs env"},
		{"sockets: [{host: /etc/passwd, guest: b, direction: to-host}]\n", nil, Flags{}, `sockets[0]: host "/etc/passwd" exists and is not a socket`},
		{"env: {'1X': y}\n", nil, Flags{}, `env: "1X" is not a variable name`},
		{"env: {SYSINIT_IN_VM: '0'}\n", nil, Flags{}, "env: SYSINIT_IN_VM is set by vmhook"},
		{"provision: [{mode: later, script: x}]\n", nil, Flags{}, `provision[0]: mode "later" must be system, user, boot or dependency`},
		{"provision: [{script: x, when: first}]\n", nil, Flags{}, `provision[0]: when "first" must be once (once per VM) or boot`},
		{"session: screen\n", nil, Flags{}, `session: "screen" must be tmux, zellij or none`},
		{"lima: 3\n", nil, Flags{}, "lima: must be a mapping of Lima settings"},
		{"- a\n", nil, Flags{}, "vmhook.yaml:1: must be a mapping of settings"},
		{"cpus: [\n", nil, Flags{}, "vmhook.yaml: not valid YAML"},
		{"", []string{"VM_CPUS=x"}, Flags{}, `environment VM_CPUS: cpus: "x" is not a whole number`},
		{"", []string{"VM_MEMORY=huge"}, Flags{}, `environment VM_MEMORY: memory: "huge" is not a size`},
		{"", nil, Flags{"ports": "99999"}, "flag --port: ports[0]: 99999 is not a port number"},
		{"cpus: 1.5\n", nil, Flags{}, `vmhook.yaml:1: cpus: must be a whole number, got "1.5"`},
		{"cpus: '2'\n", nil, Flags{}, `vmhook.yaml:1: cpus: must be a whole number, got "2"`},
		{"ports: [3000, 80.5]\n", nil, Flags{}, `vmhook.yaml:1: ports[1]: must be a whole number, got "80.5"`},
		{"ports:\n- 3000\n- [1]\n", nil, Flags{}, `vmhook.yaml:3: ports[1]: must be a whole number`},
		{"mounts: ['']\n", nil, Flags{}, "vmhook.yaml:1: mounts[0]: location must not be empty"},
		{"mounts:\n- data\n- {location: ' '}\n", nil, Flags{}, "vmhook.yaml:3: mounts[1]: location must not be empty"},
		{"mounts: ['.']\n", nil, Flags{}, `vmhook.yaml:1: mounts[0]: "." is the project directory, which is mounted writable already; list a directory inside it`},
		{"mounts: [data/..]\n", nil, Flags{}, `mounts[0]: "data/.." is the project directory`},
		{"cpus: 1\nmemory: 4GiB\ncpus: 2\n", nil, Flags{}, "vmhook.yaml:3: cpus: is given twice (first on line 1)"},
		{"env:\n  A: x\n  A: y\n", nil, Flags{}, "vmhook.yaml:3: env.A: is given twice (first on line 2)"},
		{"lima:\n  ssh:\n    forwardX11: true\n    forwardX11: false\n", nil, Flags{}, "vmhook.yaml:4: lima.ssh.forwardX11: is given twice (first on line 3)"},
		{"cpus: 1\n---\ncpus: 2\n", nil, Flags{}, "vmhook.yaml:3: holds a second YAML document; a settings file is one document"},
		{"cpus: 1\n---\n", nil, Flags{}, "holds a second YAML document"},
		{"image: {location: /a.img, digest: 'sha256:abcd'}\n", nil, Flags{}, `vmhook.yaml:1: image: digest "sha256:abcd" must look like sha256:<hex> (64 hex digits; sha512: 128)`},
		{"image: {location: /a.img, digest: 'sha512:" + strings.Repeat("a", 64) + "'}\n", nil, Flags{}, `image: digest "sha512:aaaa`},
		{"env: {A: [1]}\n", nil, Flags{}, `vmhook.yaml:1: env.A: must be a single value`},
		{"env:\n" + strings.Repeat("  K: v\n", 2), nil, Flags{}, "vmhook.yaml:3: env.K: is given twice"},
		{"env: {" + manyKeys(1001) + "}\n", nil, Flags{}, "vmhook.yaml:1: env: has 1001 variables; at most 1000 are allowed"},
		{"lima:\n  x: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", nil, Flags{}, "vmhook.yaml:2: lima.x: nests deeper than 32 levels"},
		{"lima:\n  cpus: many\n", nil, Flags{}, `vmhook.yaml:2: lima.cpus: must be a whole number, got "many"`},
		{"lima: {cpus: 1.5}\n", nil, Flags{}, `vmhook.yaml:1: lima.cpus: must be a whole number, got "1.5"`},
		{"lima:\n  images: []\n", nil, Flags{}, "vmhook.yaml:2: lima.images: must list at least one entry (Lima refuses an empty list)"},
		{"lima:\n  images:\n  - arch: x86_64\n", nil, Flags{}, "vmhook.yaml:3: lima.images[0].location: must be set"},
		{"lima:\n  images: [{location: /a.img, digest: 'sha256:12'}]\n", nil, Flags{}, `vmhook.yaml:2: lima.images[0].digest: "sha256:12" must look like sha256:<hex>`},
		{"lima:\n  ssh:\n    localPort: 22\n", nil, Flags{}, "vmhook.yaml:3: lima.ssh.localPort: must not be 22 (Lima keeps it for ssh)"},
		{"lima: {ssh: {forwardAgent: yes please}}\n", nil, Flags{}, `vmhook.yaml:1: lima.ssh.forwardAgent: must be true or false, got "yes please"`},
		{"lima: {vmType: kvm}\n", nil, Flags{}, `vmhook.yaml:1: lima.vmType: "kvm" is not one of qemu, vz, wsl2, krunkit`},
		{"lima: {memory: lots}\n", nil, Flags{}, `lima.memory: "lots" is not a size such as 4GiB`},
		{"lima: {portForwards: [{guestPort: 70000}]}\n", nil, Flags{}, "lima.portForwards[0].guestPort: 70000 is not a port number (1-65535)"},
		{"lima: {portForwards: [{guestSocket: run/x.sock, hostSocket: /tmp/x}]}\n", nil, Flags{}, `lima.portForwards[0].guestSocket: "run/x.sock" must be an absolute path`},
		{"lima: {mounts: [{writable: true}]}\n", nil, Flags{}, "lima.mounts[0].location: must be set"},
		{"lima: {env: {A: [1]}}\n", nil, Flags{}, "lima.env.A: must be a single value"},
		{"lima: {provision: [{mode: later}]}\n", nil, Flags{}, `lima.provision[0].mode: "later" is not one of system`},
		{"lima: {a: &x {b: 1}, c: {<<: *x}}\n", nil, Flags{}, "merge keys (<<) are not supported"},
		{"ports: [22]\n", nil, Flags{}, "vmhook.yaml:1: ports[0]: 22 is the guest's ssh port, which Lima does not forward"},
		{"ports: [" + strings.TrimSuffix(strings.Repeat("3000, ", 300), ", ") + "]\n", nil, Flags{}, "vmhook.yaml:1: ports: lists 300 entries; at most 256 are allowed"},
		{"lima:\n  a: &a " + nest(20, "1") + "\n  b: " + nest(20, "*a") + "\n", nil, Flags{}, "lima: nests deeper than 32 levels (through aliases)"},
		{"", []string{"VM_PORTS=" + strings.TrimSuffix(strings.Repeat("3000,", 300), ",")}, Flags{}, "environment VM_PORTS: ports: lists 300 entries; at most 256 are allowed"},
		{"# " + strings.Repeat("x", 2<<20) + "\n", nil, Flags{}, "vmhook.yaml: is larger than 1 MiB; a settings file may hold at most 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			pf := filepath.Join(dir, "vmhook.yaml")
			os.WriteFile(pf, []byte(tt.project), 0o644)
			_, err := LoadSettings(Sources{ProjectFile: pf, Env: tt.env, Flags: tt.flags, ProjectDir: dir})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "K%d: v, ", i)
	}
	return strings.TrimSuffix(b.String(), ", ")
}

// TestSettingsHostileSizeIsCheap makes sure a file at the limits is read
// quickly: 40,000 environment keys took 4-5 s (quadratic), now about 0.1 s.
// The bound leaves room for a loaded machine.
// TestSettingsHostileSizeIsBounded: a hostile settings file is refused with
// one line before it can cost seconds or megabytes (the cost itself is
// measured by BenchmarkSettingsHostile, not timed here); a large lima: block
// within the size cap still loads.
func TestSettingsHostileSizeIsBounded(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"env: {" + manyKeys(40000) + "}\n", ":1: env: has 40000 variables; at most 1000 are allowed"},
		{"lima:\n  x: " + nest(6000, "") + "\n", ":2: lima.x: nests deeper than 32 levels"},
		{"cpus: 2\n# " + strings.Repeat("x", 1<<20) + "\n", ": is larger than 1 MiB; a settings file may hold at most 1 MiB"},
		{"lima: {" + strings.ReplaceAll(manyKeys(20000), "K", "k") + "}\n", ""},
	} {
		pf := filepath.Join(t.TempDir(), "vmhook.yaml")
		if err := os.WriteFile(pf, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSettings(Sources{ProjectFile: pf, ProjectDir: "/proj"})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("a %d-byte file: %v", len(tc.data), err)
		case tc.want != "" && (err == nil || err.Error() != pf+tc.want):
			t.Errorf("a %d-byte file: got %v, want %q", len(tc.data), err, pf+tc.want)
		}
	}
}

// BenchmarkSettingsHostile measures a hostile env block of 40,000 keys,
// which the YAML library's map decoding made quadratic (seconds).
func BenchmarkSettingsHostile(b *testing.B) {
	pf := filepath.Join(b.TempDir(), "vmhook.yaml")
	if err := os.WriteFile(pf, []byte("env: {"+manyKeys(40000)+"}\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		LoadSettings(Sources{ProjectFile: pf, ProjectDir: "/proj"})
	}
}

// nest wraps v in n flow lists.
func nest(n int, v string) string {
	return strings.Repeat("[", n) + v + strings.Repeat("]", n)
}
