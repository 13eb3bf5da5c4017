package projectvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestWithLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "x.lock")
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := withLock(context.Background(), path, nil, func() error {
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				total.Add(1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || total.Load() != 50 {
		t.Fatalf("max holders %d, runs %d", maxInside.Load(), total.Load())
	}
}

func TestWithLockWaitNoticeAndCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	held := make(chan struct{})
	release := make(chan struct{})
	go withLock(context.Background(), path, nil, func() error {
		close(held)
		<-release
		return nil
	})
	<-held
	defer close(release)
	if !lockHeld(path) {
		t.Fatal("lockHeld does not see the holder")
	}
	var noticed atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := withLock(ctx, path, func() { noticed.Store(true) }, func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for lock") {
		t.Fatalf("err = %v", err)
	}
	if !noticed.Load() {
		t.Fatal("no waiting notice after a second")
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err = withLock(ctx, path, nil, func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// TestWaitLockBoundsOnlyTheWait: the wait bound ends a wait for a busy lock,
// but not the work done once the lock is held.
func TestWaitLockBoundsOnlyTheWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	ctx := context.Background()
	ran := false
	err := waitLock(ctx, path, 50*time.Millisecond, nil, func() error {
		time.Sleep(200 * time.Millisecond)
		ran = ctx.Err() == nil
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("holder: err %v, ran %v", err, ran)
	}
	held := make(chan struct{})
	release := make(chan struct{})
	go withLock(ctx, path, nil, func() error {
		close(held)
		<-release
		return nil
	})
	<-held
	defer close(release)
	err = waitLock(ctx, path, 50*time.Millisecond, nil, func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for lock") || !strings.Contains(err.Error(), "VMHOOK_LOCK_TIMEOUT") {
		t.Fatalf("waiter: %v", err)
	}
}

// TestLockNotAFile: a directory or a FIFO where a lock file belongs is an
// error naming it and the fix, at once (a FIFO's open would block), and
// lockHeld, which status calls, does not block on one either.
func TestLockNotAFile(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		make       func(path string) error
	}{
		{"directory", "is a directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"fifo", "is a named pipe (FIFO)", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			if err := tc.make(path); err != nil {
				t.Skip(err)
			}
			done := make(chan error, 1)
			go func() {
				lockHeld(path)
				done <- withLock(context.Background(), path, nil, func() error { return nil })
			}()
			select {
			case err := <-done:
				want := "lock file " + path + " " + tc.kind + "; remove it and run the command again"
				if err == nil || err.Error() != want {
					t.Fatalf("err = %v, want %q", err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocked on the lock path")
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the path was removed: %v", err)
			}
		})
	}
}
