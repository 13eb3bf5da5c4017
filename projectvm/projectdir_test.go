package projectvm

import "testing"

func TestCheckProjectDir(t *testing.T) {
	for _, tt := range []struct {
		dir string
		ok  bool
	}{
		{"/", false},
		{"/home/u", false},
		{"/home", false},
		{"/home/u/.ssh", false},
		{"/home/u/.ssh/keys", false},
		{"/home/u/src/app", true},
		{"/srv/app", true},
	} {
		if err := checkProjectDir("/home/u", tt.dir); (err == nil) != tt.ok {
			t.Errorf("checkProjectDir(%q) = %v, want ok %v", tt.dir, err, tt.ok)
		}
	}
}
