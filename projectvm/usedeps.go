package projectvm

import (
	"os"

	"github.com/vmhook/vmhook/internal/entry"
)

// UseDeps lists what the answer of `vmhook use` for p depends on, so that
// `use vm` can reuse its last answer while none of it changed, comparing
// with shell builtins only (stdlib.sh, _vmhook_cached). Each entry is one
// check:
//
//	+PATH        PATH exists and is not newer than the cached answer
//	-PATH        PATH does not exist
//	=PATH        PATH exists (a directory whose times change with its content)
//	$NAME=VALUE  the environment variable NAME is VALUE (empty when unset)
//
// Besides the settings files and the generated config, the VM name depends
// on who holds the project's names: the owner records and reservations of
// both its names, so that a name another directory has taken since is seen.
func UseDeps(e Env, p *Project) []string {
	var deps []string
	file := func(path string) {
		if _, err := os.Lstat(path); err == nil {
			deps = append(deps, "+"+path)
		} else {
			deps = append(deps, "-"+path)
		}
	}
	dir := func(path string) {
		if _, err := os.Lstat(path); err == nil {
			deps = append(deps, "="+path)
		} else {
			deps = append(deps, "-"+path)
		}
	}
	file(p.SettingsPath)
	file(e.UserConfig())
	file(p.ConfigPath)
	file(e.TrustStamp())
	if !p.Named {
		if n, err := DeriveNames(p.Dir, e.LimaHome); err == nil {
			names := []string{n.Base}
			if n.Hashed != n.Base {
				names = append(names, n.Hashed)
			}
			for _, name := range names {
				dir(e.InstanceDir(name))
				file(e.instanceFile(name, ownerFile))
				file(e.nameClaim(name))
				// A reservation by a directory that is gone holds nothing.
				if o, _, err := ownerOf(e, name); err == nil && o.Dir != "" && o.Dir != p.Dir {
					dir(o.Dir)
				}
			}
		}
	}
	for _, k := range useEnv() {
		deps = append(deps, "$"+k+"="+getenv(e.Environ, k))
	}
	return deps
}

// useEnv are the environment variables vmhook's answer to `use vm` reads:
// where its files are, and the settings variables.
func useEnv() []string {
	return append([]string{"HOME", "LIMA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"}, SettingsEnv()...)
}

// getenv returns the last value of k in environ, "" when unset.
func getenv(environ []string, k string) string { return entry.Getenv(environ, k) }
