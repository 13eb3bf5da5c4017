package projectvm

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LimaVersion is the version of the limactl vmhook runs. Lima v1 and v2
// differ in a few behaviours vmhook depends on (see DESIGN §7a); the zero
// value means unknown and is treated as v1, whose behaviour is the
// conservative one.
type LimaVersion struct {
	Major, Minor, Patch int
	// Raw is what `limactl --version` said after "limactl version ".
	Raw string
}

// Known reports whether the version could be parsed.
func (v LimaVersion) Known() bool { return v.Major > 0 }

// AtLeast reports whether v is major.minor or newer.
func (v LimaVersion) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v LimaVersion) String() string {
	if v.Raw == "" {
		return "unknown"
	}
	return v.Raw
}

// ParseLimaVersion reads `limactl --version` output ("limactl version
// 2.2.0"). Builds without a version stamp say "<unknown>": the zero value.
// It reads what (?m)^limactl version v?(\d+)\.(\d+)\.(\d+)(\S*) would
// find, by hand: every entry into a VM reads the version.
func ParseLimaVersion(out string) LimaVersion {
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := parseVersionLine(line); ok {
			return v
		}
	}
	return LimaVersion{}
}

// parseVersionLine reads "limactl version [v]MAJOR.MINOR.PATCH[REST]" from
// the start of line, REST running to the first white space.
func parseVersionLine(line string) (LimaVersion, bool) {
	rest, ok := strings.CutPrefix(line, "limactl version ")
	if !ok {
		return LimaVersion{}, false
	}
	rest = strings.TrimPrefix(rest, "v")
	var nums [3]string
	for i := range nums {
		n := 0
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 0 || (i < 2 && (n == len(rest) || rest[n] != '.')) {
			return LimaVersion{}, false
		}
		nums[i] = rest[:n]
		rest = rest[n:]
		if i < 2 {
			rest = rest[1:]
		}
	}
	suffix := rest
	if i := strings.IndexAny(rest, " \t\r\f\n"); i >= 0 {
		suffix = rest[:i]
	}
	v := LimaVersion{Raw: nums[0] + "." + nums[1] + "." + nums[2] + suffix}
	v.Major, _ = strconv.Atoi(nums[0])
	v.Minor, _ = strconv.Atoi(nums[1])
	v.Patch, _ = strconv.Atoi(nums[2])
	return v, true
}

// limaVersionRecord caches one limactl's version, valid while the binary at
// Path keeps its size and modification time.
type limaVersionRecord struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"modTime"`
	Version string `json:"version"`
}

// LimaVersion returns the version of the Manager's limactl. Asking limactl
// costs a process (15–20 ms), so the answer is kept in the state directory
// and reused while the binary is unchanged; a binary that cannot be stat'ed
// (a fake in tests) is asked every time. Errors leave the version unknown:
// callers fall back to what works on every version.
func (m *Manager) LimaVersion(ctx context.Context) LimaVersion {
	var fi os.FileInfo
	var path string
	if c, ok := m.Lima.(*Command); ok {
		path = c.Path
		fi, _ = os.Stat(c.Path)
	}
	cache := m.Env.limaVersionCache()
	if fi != nil {
		var rec limaVersionRecord
		if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &rec) == nil &&
			rec.Path == path && rec.Size == fi.Size() && rec.ModTime == fi.ModTime().UnixNano() {
			return ParseLimaVersion("limactl version " + rec.Version)
		}
	}
	out, err := m.Lima.Output(ctx, "--version")
	if err != nil {
		return LimaVersion{}
	}
	v := ParseLimaVersion(string(out))
	if fi != nil && v.Known() {
		data, _ := json.Marshal(limaVersionRecord{Path: path, Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Version: v.Raw})
		// Only a cache: failing to keep it costs one more process next time.
		if os.MkdirAll(filepath.Dir(cache), 0o755) == nil {
			_ = writeFileAtomic(cache, data, 0o644)
		}
	}
	return v
}
