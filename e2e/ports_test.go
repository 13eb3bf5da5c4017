package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// checkPorts proves vmhook's port rule in the running VM of dir: guest port
// 8000, listed in ports:, answers at the host port vmhook status reports;
// servers on unlisted guest ports bound to 0.0.0.0, 127.0.0.1 and ::1 are
// not forwarded to the same host port. (Lima v2 forwarded the last two until
// the catch-all rule said guestIPMustBeZero: false.)
//
// The unlisted servers listen before the listed one starts, and Lima handles
// the guest's port events in order, so once 8000 answers on the host, Lima
// has already decided about the others: no fixed wait is needed to know
// they were not forwarded. Lima's log, which names every forward it sets up,
// must not name them either.
func (h *harness) checkPorts(dir, name string) {
	h.t.Helper()
	binds := []string{"0.0.0.0", "127.0.0.1", "::1"}
	unlisted := freeHostPorts(h, len(binds))
	var script strings.Builder
	serve := func(port int, bind string) {
		fmt.Fprintf(&script, "nohup setsid python3 -m http.server %d --bind %s </dev/null >/dev/null 2>&1 &\n", port, bind)
	}
	listening := func(port int, bind string) {
		if bind == "0.0.0.0" {
			bind = "127.0.0.1"
		}
		fmt.Fprintf(&script, "i=0; until nc -z %s %d; do i=$((i+1)); [ $i -lt 600 ] || { echo 'guest: %s:%d never listened' >&2; exit 1; }; sleep 0.1; done\n", bind, port, bind, port)
	}
	for i, b := range binds {
		serve(unlisted[i], b)
	}
	for i, b := range binds {
		listening(unlisted[i], b)
	}
	serve(8000, "127.0.0.1")
	listening(8000, "127.0.0.1")
	h.run("vmhook", "shell", "--project", dir, "--", "sh", "-c", script.String())

	state, ports := h.status(dir)
	if state != "Running" || ports[8000] == 0 {
		h.t.Fatalf("status: %s %v", state, ports)
	}
	start := time.Now()
	h.waitHTTP(ports[8000], 2*time.Minute)
	h.record("port forward live after the guest listens", time.Since(start))

	for i, p := range unlisted {
		for _, host := range hostLoopbacks() {
			addr := net.JoinHostPort(host, strconv.Itoa(p))
			if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				c.Close()
				h.t.Errorf("guest server on unlisted port %d (bound to %s) is reachable on the host at %s", p, binds[i], addr)
			}
		}
	}
	log, err := os.ReadFile(filepath.Join(h.limaHome, name, "ha.stderr.log"))
	if err != nil {
		h.t.Fatal(err)
	}
	forwards := forwardLines(string(log))
	if !strings.Contains(forwards, ":8000 to ") {
		h.t.Fatalf("Lima's log names no forward of guest port 8000; cannot tell what it forwarded:\n%s", forwards)
	}
	for i, p := range unlisted {
		if strings.Contains(forwards, ":"+strconv.Itoa(p)+" to ") {
			h.t.Errorf("Lima forwarded unlisted guest port %d (bound to %s):\n%s", p, binds[i], forwards)
		}
	}
	h.notes = append(h.notes, fmt.Sprintf("port isolation: guest 8000 (listed) reachable at host %d; unlisted %v bound to %v not forwarded", ports[8000], unlisted, binds))
}

// forwardLines returns the "Forwarding TCP from GUEST to HOST" lines of a
// host agent log.
func forwardLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Forwarding TCP from") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hostLoopbacks are the host's loopback addresses: ::1 only where the host
// has IPv6.
func hostLoopbacks() []string {
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		l.Close()
		return []string{"127.0.0.1", "::1"}
	}
	return []string{"127.0.0.1"}
}

// freeHostPorts returns n ports nothing on the host listens on, at
// 127.0.0.1 or ::1, so that reaching one can only mean a forward.
func freeHostPorts(h *harness, n int) []int {
	h.t.Helper()
	var out []int
	for p := 3990; p > 3000 && len(out) < n; p-- {
		ok := true
		for _, host := range hostLoopbacks() {
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			out = append(out, p)
		}
	}
	if len(out) < n {
		h.t.Fatalf("no %d free host ports below 3990", n)
	}
	return out
}

// checkSamePort proves the default-ports rule with two projects that set no
// ports: each serves guest :3000 (with its own VM name as the page), and
// each answers at the host port vmhook status reports for it; a project
// whose :3000 is not at host 3000 said so where the user started it (said
// returns what the user saw: a pane, or vmhook up's output).
func (h *harness) checkSamePort(dirs map[string]string, said map[string]func() string, ports map[string]map[int]int) {
	h.t.Helper()
	seen := map[int]string{}
	for name, dir := range dirs {
		hp := ports[name][3000]
		if hp == 0 {
			h.t.Fatalf("%s: guest 3000 not forwarded with no ports: setting: %v", name, ports[name])
		}
		if other, ok := seen[hp]; ok {
			h.t.Fatalf("%s and %s both given host port %d for guest 3000", name, other, hp)
		}
		seen[hp] = name
		script := fmt.Sprintf("d=$(mktemp -d) && echo %s > $d/index.html && cd $d && (nohup setsid python3 -m http.server 3000 --bind 127.0.0.1 </dev/null >/dev/null 2>&1 &) && i=0; until nc -z 127.0.0.1 3000; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done", name)
		h.run("vmhook", "shell", "--project", dir, "--", "sh", "-c", script)
	}
	for name := range dirs {
		hp := ports[name][3000]
		h.waitHTTP(hp, 2*time.Minute)
		body := h.getHTTP(hp)
		if strings.TrimSpace(body) != name {
			h.t.Fatalf("host port %d (guest 3000 of %s) answers with %q", hp, name, body)
		}
		if hp != 3000 {
			// The one line starts with guest 3000, the lowest default
			// port; more ports or the reason follow.
			want := fmt.Sprintf("%s: guest 3000 → localhost:%d", name, hp)
			if saw := said[name](); !strings.Contains(saw, want+", ") && !strings.Contains(saw, want+" (") {
				h.t.Errorf("starting %s did not say %q; the user saw:\n%s", name, want, saw)
			}
		}
	}
	h.notes = append(h.notes, fmt.Sprintf("same guest port: two projects without ports: serve guest 3000, reachable at host %v", seen))
}

// getHTTP returns the body at 127.0.0.1:port.
func (h *harness) getHTTP(port int) string {
	h.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}
