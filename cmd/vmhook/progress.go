package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vmhook/vmhook/projectvm"
)

// progress shows a VM starting: on a terminal, one line rewritten in place
// with the elapsed time and Lima's current phase; elsewhere, a line when it
// begins and one when it ends.
type progress struct {
	r     *rt
	what  string
	tty   bool
	start time.Time
	mu    sync.Mutex
	phase string
	stop  chan struct{}
	done  sync.WaitGroup
	shown bool
}

func (r *rt) startProgress(what string) *progress {
	p := &progress{r: r, what: what, tty: isTerminal(r.stderr), start: time.Now(), stop: make(chan struct{})}
	return p
}

// onPhase receives limactl's stderr lines.
func (p *progress) onPhase(line string) {
	// A fatal or error line is the failure itself, which the command's
	// error says once; shown as a phase it would be said twice.
	if strings.Contains(line, "level=fatal") || strings.Contains(line, "level=error") {
		return
	}
	msg, ok := projectvm.LogMessage(line)
	if !ok {
		msg = strings.TrimSpace(line)
	}
	if msg == "" {
		return
	}
	p.mu.Lock()
	p.phase = strings.TrimPrefix(msg, "[hostagent] ")
	first := !p.shown
	p.shown = true
	p.mu.Unlock()
	if first {
		p.begin()
	}
	if p.tty {
		p.draw()
	}
}

func (p *progress) begin() {
	p.r.busy.Store(true)
	if !p.tty {
		p.r.say.line("%s…", p.what)
		return
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	phase := p.phase
	if len(phase) > 60 {
		phase = phase[:57] + "…"
	}
	fmt.Fprintf(p.r.stderr, "\r\x1b[Kvmhook: %s %4.0fs  %s", p.what, time.Since(p.start).Seconds(), phase)
}

// finish ends the display; ok says whether the VM came up.
func (p *progress) finish(ok bool, result string) {
	p.mu.Lock()
	shown := p.shown
	p.mu.Unlock()
	if !shown {
		return
	}
	close(p.stop)
	p.done.Wait()
	if p.tty {
		fmt.Fprint(p.r.stderr, "\r\x1b[K")
	}
	if ok {
		p.r.say.line("%s in %.1fs", result, time.Since(p.start).Seconds())
	}
}
