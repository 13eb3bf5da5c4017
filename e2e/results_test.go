package e2e

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// results collects every run's timings by Lima version, so that the file
// written after all tests shows the versions side by side.
var results = &timings{byVersion: map[string]map[string][]time.Duration{}, notes: map[string][]string{}}

type timings struct {
	mu        sync.Mutex
	versions  []string
	steps     []string
	byVersion map[string]map[string][]time.Duration
	notes     map[string][]string
}

func (r *timings) add(version, step string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.versions, version) {
		r.versions = append(r.versions, version)
		r.byVersion[version] = map[string][]time.Duration{}
	}
	if !slices.Contains(r.steps, step) {
		r.steps = append(r.steps, step)
	}
	r.byVersion[version][step] = append(r.byVersion[version][step], d)
}

func (r *timings) note(version, n string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes[version] = append(r.notes[version], n)
}

// markdown renders one row per step and one column per Lima version; a step
// measured several times shows its median and range.
func (r *timings) markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.steps) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# vmhook end-to-end timings\n\nReal Lima, QEMU (TCG), %d CPUs, written by `go test ./e2e` on %s. "+
		"The full flows run under the newest Lima, a shorter smoke under older ones; a blank cell is a step that "+
		"version's run does not take. Seconds; several runs show the median (min–max).\n\n| step |",
		runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	for _, v := range r.versions {
		fmt.Fprintf(&b, " Lima %s |", v)
	}
	b.WriteString("\n|---|")
	for range r.versions {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, s := range r.steps {
		fmt.Fprintf(&b, "| %s |", s)
		for _, v := range r.versions {
			fmt.Fprintf(&b, " %s |", summarize(r.byVersion[v][s]))
		}
		b.WriteString("\n")
	}
	for _, v := range r.versions {
		for _, n := range r.notes[v] {
			fmt.Fprintf(&b, "\n- Lima %s: %s", v, n)
		}
	}
	b.WriteString("\n")
	return b.String()
}

func summarize(ds []time.Duration) string {
	if len(ds) == 0 {
		return ""
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 1 {
		return fmt.Sprintf("%.2f", s[0].Seconds())
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s[len(s)/2].Seconds(), s[0].Seconds(), s[len(s)-1].Seconds())
}

// TestMain writes the timings of every test that booted a VM, to
// VMHOOK_E2E_RESULTS when set (and to the log).
func TestMain(m *testing.M) {
	code := m.Run()
	if md := results.markdown(); md != "" {
		fmt.Print("\n" + md)
		if out := os.Getenv("VMHOOK_E2E_RESULTS"); out != "" {
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "write timings: %v\n", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}
