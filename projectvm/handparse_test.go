package projectvm

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
)

// The expressions the hand-written readers stand for; each fuzz test holds
// a reader to its expression (go test -fuzz FuzzX ./projectvm explores).
var (
	headerRef     = regexp.MustCompile(`^# vmhook ([^ ]+) inputs=([0-9a-f]{16}) output=([0-9a-f]{16})\n`)
	identifierRef = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
	versionRef    = regexp.MustCompile(`(?m)^limactl version v?(\d+)\.(\d+)\.(\d+)(\S*)`)
)

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"# vmhook 0.1.0 inputs=0123456789abcdef output=fedcba9876543210\nbody\n",
		"# vmhook 0.1.0 inputs=0123456789abcdef output=fedcba9876543210",
		"# vmhook 0.1.0 inputs=0123456789ABCDEF output=fedcba9876543210\n",
		"# vmhook 0.1.0 inputs=0123456789abcde output=fedcba9876543210\n",
		"# vmhook  inputs=0123456789abcdef output=fedcba9876543210\n",
		"# vmhook a\nb inputs=0123456789abcdef output=fedcba9876543210\nx",
		"# vmhook \xff inputs=0123456789abcdef output=fedcba9876543210\n",
		"# vmhook 1 2 inputs=0123456789abcdef output=fedcba9876543210\n",
		"# vmhook 1 inputs=0123456789abcdef  output=fedcba9876543210\n",
		"# vmhook 1 inputs=0123456789abcdef output=fedcba9876543210 \n",
		"x# vmhook 1 inputs=0123456789abcdef output=fedcba9876543210\n",
		"", "# vmhook ", "vmhook: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, ok := ParseConfig(data)
		m := headerRef.FindSubmatch(data)
		if ok != (m != nil) {
			t.Fatalf("%q: ok %v, expression matches %v", data, ok, m != nil)
		}
		if !ok {
			if !bytes.Equal(body, data) || h != (Header{}) {
				t.Fatalf("%q: no header, yet %+v %q", data, h, body)
			}
			return
		}
		want := Header{string(m[1]), string(m[2]), string(m[3])}
		if h != want || !bytes.Equal(body, data[len(m[0]):]) {
			t.Fatalf("%q: %+v %q, want %+v %q", data, h, body, want, data[len(m[0]):])
		}
	})
}

func FuzzLimaIdentifier(f *testing.F) {
	for _, s := range []string{"a", "proj-dev", "a.b_c-d", "A9", "", "-a", "a-", "a--b", "a.-b", "a b", "é", "a\xff", "a\n", "_", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := limaIdentifier(name), identifierRef.MatchString(name); got != want {
			t.Fatalf("%q: %v, expression says %v", name, got, want)
		}
	})
}

func FuzzParseLimaVersion(f *testing.F) {
	for _, s := range []string{
		"limactl version 2.2.0\n", "limactl version v1.0.7", "limactl version 2.2.0-beta.1+x y\n",
		"limactl version <unknown>\n", "warning\nlimactl version 1.2.3\n", "limactl version 1.2\n",
		"limactl version 1.2.\n", "limactl version v.1.2.3", "limactl version vv1.2.3", " limactl version 1.2.3",
		"limactl version 1.2.3\r\n", "limactl version 01.002.3x\tz", "x\rlimactl version 1.2.3",
		"limactl version 1.2.3\xff\xfe", "limactl version 99999999999999999999.1.1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		var want LimaVersion
		if m := versionRef.FindStringSubmatch(out); m != nil {
			want = LimaVersion{Raw: m[1] + "." + m[2] + "." + m[3] + m[4]}
			want.Major, _ = strconv.Atoi(m[1])
			want.Minor, _ = strconv.Atoi(m[2])
			want.Patch, _ = strconv.Atoi(m[3])
		}
		if got := ParseLimaVersion(out); got != want {
			t.Fatalf("%q: %+v, want %+v", out, got, want)
		}
	})
}

func FuzzGuestShell(f *testing.F) {
	utf16 := []byte{0xff, 0xfe}
	for _, c := range "user:\n  shell: /bin/zsh\n" {
		utf16 = append(utf16, byte(c), 0)
	}
	for _, tt := range []struct {
		yaml, want string
	}{
		{"cpus: 2\nuser:\n  name: me\n", defaultGuestShell},
		{"user:\n  shell: /bin/zsh\n", "/bin/zsh"},
		{"user: {shell: /usr/bin/fish}\n", "/usr/bin/fish"},
		{"user: {\"sh\\x65ll\": /bin/zsh}\n", "/bin/zsh"},
		{"user: {!!binary c2hlbGw=: /bin/zsh}\n", "/bin/zsh"},
		{"x: &u {shell: /bin/ksh}\nuser: *u\n", "/bin/ksh"},
		{"user:\n  ? sh\n    ell\n  : /bin/zsh\n", defaultGuestShell},
		{string(utf16), "/bin/zsh"},
		{"user:\n  shell: ''\n", defaultGuestShell},
		{"user: [", defaultGuestShell},
		{"", defaultGuestShell},
	} {
		if got := guestShell([]byte(tt.yaml)); got != tt.want {
			f.Errorf("%q: %q, want %q", tt.yaml, got, tt.want)
		}
		f.Add([]byte(tt.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := guestShell(data), parseGuestShell(data); got != want {
			t.Fatalf("%q: %q, parsed %q", data, got, want)
		}
	})
}
