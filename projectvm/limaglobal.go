package projectvm

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// GlobalLimaFile is one of Lima's own config files in $LIMA_HOME/_config that
// are merged into every instance, vmhook's included.
type GlobalLimaFile struct {
	Path string
	// Mounts are the host locations it adds to every VM.
	Mounts []string
	// When says when Lima merges it.
	When string
	Err  error
}

// globalLimaFiles are Lima's instance-wide config files: default.yaml and
// override.yaml are merged each time an instance's config is loaded (v1 and
// v2); v2 also embeds base.yaml into each instance's lima.yaml at create.
var globalLimaFiles = []struct{ name, when string }{
	{"default.yaml", "merged below every instance's config at each start (Lima v1 and v2)"},
	{"base.yaml", "embedded into every instance's lima.yaml at create (Lima v2)"},
	{"override.yaml", "merged over every instance's config at each start (Lima v1 and v2)"},
}

// GlobalLimaMounts reports the files in limaHome/_config that add mounts to
// every VM. A named VM must mount nothing it was not given, and a project VM
// only the project, so such mounts reach VMs that vmhook promises keep to
// themselves.
func GlobalLimaMounts(limaHome string) []GlobalLimaFile {
	var out []GlobalLimaFile
	for _, f := range globalLimaFiles {
		path := limaGlobalConfig(limaHome, f.name)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		g := GlobalLimaFile{Path: path, When: f.when}
		if err != nil {
			g.Err = err
			out = append(out, g)
			continue
		}
		var doc struct {
			Mounts []struct {
				Location string `yaml:"location"`
			} `yaml:"mounts"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			g.Err = fmt.Errorf("not valid YAML: %w", err)
			out = append(out, g)
			continue
		}
		for _, m := range doc.Mounts {
			g.Mounts = append(g.Mounts, m.Location)
		}
		if len(g.Mounts) > 0 {
			out = append(out, g)
		}
	}
	return out
}
