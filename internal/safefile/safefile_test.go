package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", "hello\n")
	big := write("big", string(bytes.Repeat([]byte("x"), 2048)))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		read   func(string, int64) ([]byte, error)
		path   string
		want   string
		wantIs error
	}{
		{"a small file", Read, small, "hello\n", nil},
		{"a file over the limit", Read, big, "", ErrTooLarge},
		{"a link", Read, link, "", ErrLink},
		{"a link, followed", ReadFollow, link, "hello\n", nil},
		{"a FIFO", Read, fifo, "", ErrNotRegular},
		{"a FIFO, followed", ReadFollow, fifo, "", ErrNotRegular},
		{"/dev/zero behind a link, followed", ReadFollow, zero, "", ErrNotRegular},
		{"a directory", Read, dir, "", ErrNotRegular},
		{"a missing file", Read, filepath.Join(dir, "nope"), "", fs.ErrNotExist},
	} {
		done := make(chan struct{})
		var got []byte
		var err error
		go func() {
			defer close(done)
			got, err = tc.read(tc.path, 1024)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5s", tc.name)
		}
		if tc.wantIs != nil {
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantIs)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
