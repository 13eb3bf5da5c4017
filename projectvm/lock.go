package projectvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// waitNotice is how long a waiter stays quiet before saying it waits.
const waitNotice = time.Second

// lockPoll is how often a waiter retries the lock.
const lockPoll = 50 * time.Millisecond

// withLock runs fn while holding an exclusive flock on path. When the lock is
// busy, onWait (if not nil) is called once after a second, and waiting stops
// when ctx is done (Ctrl-C or a timeout). The kernel drops the lock when its
// holder dies, even by kill -9, so a crashed holder never blocks the next.
func withLock(ctx context.Context, path string, onWait func(), fn func() error) error {
	return waitLock(ctx, path, 0, onWait, fn)
}

// waitLock is withLock with the wait for the lock bounded by wait (when not
// zero) as well as by ctx; fn runs with ctx alone, so that the time the
// holder before spent does not shorten what fn may take.
func waitLock(ctx context.Context, path string, wait time.Duration, onWait func(), fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create lock directory: %w", err)
	}
	if err := checkLockFile(path); err != nil {
		return err
	}
	l := newFlock(path)
	ok, err := l.TryLock()
	if err != nil {
		return fmt.Errorf("lock %q: %w", path, err)
	}
	if !ok {
		var notice *time.Timer
		if onWait != nil {
			notice = time.AfterFunc(waitNotice, onWait)
		}
		waitCtx, cancel := ctx, context.CancelFunc(func() {})
		if wait > 0 {
			waitCtx, cancel = context.WithTimeout(ctx, wait)
		}
		ok, err = l.TryLockContext(waitCtx, lockPoll)
		cancel()
		if notice != nil {
			notice.Stop()
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("timed out waiting for lock %q, held by another vmhook; see what it is doing (ps) and try again, or raise VMHOOK_LOCK_TIMEOUT", path)
			}
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted while waiting for lock %q: %w", path, err)
			}
			return fmt.Errorf("lock %q: %w", path, err)
		}
		if !ok {
			return fmt.Errorf("lock %q: not acquired", path)
		}
	}
	defer l.Unlock()
	return fn()
}

// lockHeld reports whether another process holds the lock at path, without
// waiting.
func lockHeld(path string) bool {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	l := newFlock(path)
	ok, err := l.TryLock()
	if err != nil {
		return false
	}
	if ok {
		l.Unlock()
		return false
	}
	return true
}

// newFlock is a lock on path whose open never waits: a FIFO put there
// between checkLockFile and the open would otherwise block until a writer
// comes.
func newFlock(path string) *flock.Flock {
	return flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|syscall.O_NONBLOCK))
}

// checkLockFile refuses a lock path that holds something other than a
// regular file. A directory cannot be opened to be locked and a FIFO blocks
// the open; either way only the user can say what it is, and a lock file
// holds nothing, so removing one is safe.
func checkLockFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() {
		return nil // missing: created by the open; other errors: said by it
	}
	return fmt.Errorf("lock file %s is %s; remove it and run the command again", quoteArg(path), fileKind(fi.Mode()))
}
