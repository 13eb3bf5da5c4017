package projectvm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"

	"github.com/vmhook/vmhook/internal/lazyre"
	"github.com/vmhook/vmhook/internal/version"
	"github.com/vmhook/vmhook/templates"
)

// Version is vmhook's version, recorded in every generated config.
var Version = version.Version

// Host describes the machine the VM runs on.
type Host struct {
	OS   string // runtime.GOOS
	Arch string // runtime.GOARCH
	UID  int
}

// limaArch maps Go's architecture names to Lima's.
func limaArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7l"
	case "riscv64":
		return "riscv64"
	}
	return goarch
}

// imageArchNames maps the arch names an image setting may use to Lima's.
var imageArchNames = map[string]string{
	"x86_64": "x86_64", "amd64": "x86_64",
	"aarch64": "aarch64", "arm64": "aarch64",
	"armv7l": "armv7l", "riscv64": "riscv64",
}

// archInName finds the arch an image's file name names, as distributions
// name their images (nixos-lima-…-aarch64.qcow2, …-cloudimg-arm64.img): a
// word of the base name delimited by '-', '_' or '.'. It is "" when the
// name names none, or more than one.
var archWordRE = lazyre.New(`(?:^|[-_.])(x86_64|amd64|aarch64|arm64|armv7l|riscv64)(?:[-_.]|$)`)

func archInName(location string) string {
	base := location
	if i := strings.LastIndexAny(base, "/\\"); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.IndexAny(base, "?#"); i >= 0 {
		base = base[:i]
	}
	found := ""
	for _, m := range archWordRE().FindAllStringSubmatch(strings.ToLower(base), -1) {
		a := imageArchNames[m[1]]
		if found != "" && found != a {
			return ""
		}
		found = a
	}
	return found
}

// vmArch is the VM's arch: the raw lima: arch when the user set one, else
// the host's.
func (p *Project) vmArch() string {
	if a, ok := p.Settings.Lima["arch"].(string); ok && a != "" && a != "default" {
		return a
	}
	return limaArch(p.Host.Arch)
}

// imageArch is the arch of the image setting: its arch field, else the one
// its file name names, else the VM's; from says which.
func (p *Project) imageArch() (arch, from string) {
	img := p.Settings.Image
	if img.Arch != "" {
		return img.Arch, "its arch field"
	}
	if a := archInName(img.Location); a != "" {
		return a, "its file name"
	}
	return p.vmArch(), ""
}

// checkImageArch refuses an image built for another arch than the VM's,
// before Lima downloads it.
func (p *Project) checkImageArch() error {
	if p.Settings.Image.Location == "" {
		return nil
	}
	arch, from := p.imageArch()
	if vm := p.vmArch(); arch != vm {
		return fmt.Errorf("image %q is for %s (from %s) but the VM is %s; use an image for %s, or set image.arch in %s if the name misleads", p.Settings.Image.Location, arch, from, vm, vm, p.SettingsPath)
	}
	return nil
}

// defaultImages are current Ubuntu LTS cloud images, as Lima's own default
// template uses; Lima picks the entry for the VM's arch.
var defaultImages = []imageData{
	{Location: "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img", Arch: "x86_64"},
	{Location: "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-arm64.img", Arch: "aarch64"},
}

type imageData struct{ Location, Arch, Digest string }

type portData struct{ Guest, Host int }

type socketData struct {
	Guest, Host string
	// Reverse is Lima's reverse: a host socket reached from the guest.
	Reverse bool
}

type configData struct {
	Name, Dir    string
	VMType, Arch string
	MountType    string
	CPUs         int
	Memory, Disk string
	Images       []imageData
	Mounts       []Mount
	ForwardAgent bool
	FileEvents   bool
	Env          map[string]string
	Ports        []portData
	Sockets      []socketData
	Provision    []Provision
	// DataDisk is the Lima disk attached as the data disk, if any.
	DataDisk  string
	ExtraLima map[string]any
	// MountProject is false for named VMs, which mount no host directory
	// unless their definition lists one.
	MountProject bool
	// Source names the settings file in the header comment.
	Source string
}

// ownPortRules is the number of port rules the template renders for d, the
// last of portForwards after raw lima: rules are merged (keepOwnEntries):
// one per port and socket, and the catch-all.
func (d configData) ownPortRules() int { return len(d.Ports) + len(d.Sockets) + 1 }

// GuestSocketPath is where a socket named in settings lives in the guest.
func GuestSocketPath(guest string, uid int) string {
	if filepath.IsAbs(guest) {
		return guest
	}
	return fmt.Sprintf("/run/user/%d/%s", uid, guest)
}

// inputs is everything the rendered config depends on besides the host-port
// mapping; its hash decides whether the config must be rendered again.
type inputs struct {
	Version  string   `json:"version"`
	Template string   `json:"template"`
	Name     string   `json:"name"`
	Dir      string   `json:"dir"`
	Host     Host     `json:"host"`
	Settings Settings `json:"settings"`
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:16]
}

func (in inputs) hash() string {
	b, _ := json.Marshal(in)
	return hashHex(b)
}

// headerPrefix starts the first line of a generated config:
// "# vmhook VERSION inputs=HASH output=HASH\n", each HASH 16 lower-case hex
// digits.
const headerPrefix = "# vmhook "

// Header is the parsed first line of a generated config.
type Header struct {
	Version, Inputs, Output string
}

// ParseConfig splits a config file into its header and body; ok is false when
// the file has no vmhook header. (It reads what the expression
// ^# vmhook ([^ ]+) inputs=([0-9a-f]{16}) output=([0-9a-f]{16})\n would, by
// hand: every entry into a VM reads a header.)
func ParseConfig(data []byte) (h Header, body []byte, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte(headerPrefix))
	if !found {
		return Header{}, data, false
	}
	version, rest, found := bytes.Cut(rest, []byte(" "))
	if !found || len(version) == 0 {
		return Header{}, data, false
	}
	inputs, rest, ok1 := cutHash(rest, "inputs=", ' ')
	output, rest, ok2 := cutHash(rest, "output=", '\n')
	if !ok1 || !ok2 {
		return Header{}, data, false
	}
	return Header{string(version), inputs, output}, rest, true
}

// cutHash reads KEY, 16 lower-case hex digits and the byte end from the
// start of b.
func cutHash(b []byte, key string, end byte) (hash string, rest []byte, ok bool) {
	b, ok = bytes.CutPrefix(b, []byte(key))
	if !ok || len(b) < 17 || b[16] != end {
		return "", nil, false
	}
	for _, c := range b[:16] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", nil, false
		}
	}
	return string(b[:16]), b[17:], true
}

// HandEdited reports whether a config file no longer matches the output hash
// its header records (or has no header at all).
func HandEdited(data []byte) bool {
	h, body, ok := ParseConfig(data)
	return !ok || hashHex(body) != h.Output
}

// yamlJSON is sprig's toJson, made safe for YAML: JSON leaves DEL, the C1
// controls and U+0085 as they are, which YAML refuses or, for U+0085 (a
// line break to it), reads as the end of a comment and folds in a quoted
// string. Each is written as a \u escape, which both read alike.
func yamlJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.ContainsFunc(s, yamlUnsafe) {
		return s, nil
	}
	var out strings.Builder
	for _, r := range s {
		if yamlUnsafe(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.WriteRune(r)
		}
	}
	return out.String(), nil
}

// yamlUnsafe reports whether YAML reads r otherwise than JSON does.
func yamlUnsafe(r rune) bool {
	return r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0xfffe || r == 0xffff
}

// render produces the config body for the data.
func render(d configData) ([]byte, error) {
	t, err := template.New("lima.yaml").Funcs(sprig.HermeticTxtFuncMap()).Funcs(template.FuncMap{"toJson": yamlJSON}).Option("missingkey=error").Parse(templates.LimaConfig)
	if err != nil {
		return nil, fmt.Errorf("parse config template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	if len(d.ExtraLima) == 0 {
		return buf.Bytes(), nil
	}
	// Raw Lima settings are merged last, over the rendered document. The
	// merge works on YAML nodes so the rendered quoting and order survive.
	var doc yaml.Node
	if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	var extra yaml.Node
	if err := extra.Encode(d.ExtraLima); err != nil {
		return nil, fmt.Errorf("render config: lima: %w", err)
	}
	own := listNodes(doc.Content[0])
	mergeNodes(doc.Content[0], &extra)
	keepOwnEntries(doc.Content[0], own)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return out.Bytes(), nil
}

// mergeNodes lays the mapping src over the mapping dst: nested mappings merge
// key by key, anything else replaces.
func mergeNodes(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value != k.Value {
				continue
			}
			found = true
			if v.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
				mergeNodes(dst.Content[j+1], v)
			} else {
				dst.Content[j+1] = v
			}
			break
		}
		if !found {
			dst.Content = append(dst.Content, k, v)
		}
	}
}

// ConfigResult says what WriteConfig did.
type ConfigResult int

const (
	// ConfigUnchanged means the file was current.
	ConfigUnchanged ConfigResult = iota
	// ConfigWritten means the file was created or regenerated.
	ConfigWritten
	// ConfigHandEdited means the file was edited by hand and left alone.
	ConfigHandEdited
)

// configData builds the template data for p with the host-port mapping.
func (p *Project) configData(mapping map[int]int) configData {
	s := p.Settings
	d := configData{
		Name:   p.Name,
		Dir:    p.Dir,
		VMType: "qemu",
		Arch:   limaArch(p.Host.Arch),
		// 9p, Lima's own default under QEMU: QEMU serves the mounted
		// directories and nothing else. Under reverse-sshfs the guest talks
		// to an sftp-server on the host that reaches every file the user can.
		MountType:    "9p",
		CPUs:         s.CPUs,
		Memory:       s.Memory,
		Disk:         s.Disk,
		Mounts:       s.Mounts,
		ForwardAgent: s.ForwardAgent,
		FileEvents:   s.FileEvents,
		ExtraLima:    s.Lima,
		Env: map[string]string{
			"SYSINIT_IN_VM": "1",
			"PROJECT_NAME":  filepath.Base(p.Dir),
			"VMHOOK_VM":     p.Name,
		},
		MountProject: !p.Named,
		Source:       filepath.Base(p.SettingsPath),
	}
	if p.Named {
		d.Env["PROJECT_NAME"] = p.Name
	}
	if p.Host.OS == "darwin" {
		d.VMType, d.MountType = "vz", "virtiofs"
	}
	if s.Session == "zellij" {
		d.Env["ZELLIJ_SESSION"] = p.Name
	}
	for k, v := range s.Env {
		d.Env[k] = v
	}
	if s.Image.Location != "" {
		arch, _ := p.imageArch()
		d.Images = []imageData{{Location: s.Image.Location, Arch: arch, Digest: s.Image.Digest}}
	} else {
		d.Images = defaultImages
	}
	if s.Data != nil && p.Named {
		// First: the user's own steps, those running as the user above
		// all, then find the data in place.
		d.DataDisk = DataDiskName(p.Name)
		d.Provision = append(d.Provision, Provision{Mode: "system", Script: dataScript(d.DataDisk, s.Data.Path)})
	}
	if !p.Named {
		// Before the user's steps, whose login shells then have it too.
		d.Provision = append(d.Provision, Provision{Mode: "system", Script: guestEnvScript(p.Dir)})
	}
	for _, pr := range s.Provision {
		d.Provision = append(d.Provision, Provision{Mode: pr.Mode, Script: ProvisionScript(pr, p.Dir)})
	}
	for _, g := range s.Ports {
		d.Ports = append(d.Ports, portData{Guest: g, Host: mapping[g]})
	}
	for _, so := range s.Sockets {
		gp := GuestSocketPath(so.Guest, p.Host.UID)
		d.Sockets = append(d.Sockets, socketData{Guest: gp, Host: so.Host, Reverse: !so.SocketToHost()})
		if so.Env != "" {
			d.Env[so.Env] = so.EnvValue(gp)
		}
	}
	return d
}

func (p *Project) inputs() inputs {
	return inputs{Version: Version, Template: hashHex([]byte(templates.LimaConfig)), Name: p.Name, Dir: p.Dir, Host: p.Host, Settings: p.Settings}
}

// Render returns the full config file for p with the given host-port mapping.
func (p *Project) Render(mapping map[int]int) ([]byte, error) {
	if err := p.checkImageArch(); err != nil {
		return nil, err
	}
	body, err := render(p.configData(mapping))
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("# vmhook %s inputs=%s output=%s\n", Version, p.inputs().hash(), hashHex(body))
	return append([]byte(head), body...), nil
}

// SortedPorts returns the mapping's guest ports in order.
func SortedPorts(m map[int]int) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
