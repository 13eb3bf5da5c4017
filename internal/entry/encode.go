package entry

import (
	"errors"
	"strconv"
	"strings"
)

// The record is text, one item per line: a key, then words, each string a
// Go-quoted word so that any byte of a path or value survives.
//
//	vmhook-entry 1
//	project "DIR"
//	vmhook FILE
//	env "NAME=VALUE"
//	file FILE
//	proc PID START
//	limactl "NAME" "PATH"
//	argv COMMAND "limactl" "shell" …
//	tty TERMINAL STDERR
//	said "LINE"
//
// where FILE is "PATH" HOW then "-" (missing) or MODE DEV INO SIZE MTIME
// CTIME, and HOW is lstat, stat (Follow) or list (List).

// Encode returns r as its record.
func (r *Record) Encode() []byte {
	var b strings.Builder
	b.WriteString(header + "\n")
	line := func(key string, words ...string) {
		b.WriteString(key)
		for _, w := range words {
			b.WriteByte(' ')
			b.WriteString(w)
		}
		b.WriteByte('\n')
	}
	q := strconv.Quote
	line("project", q(r.Project))
	line("vmhook", fileWords(r.Vmhook)...)
	for _, kv := range r.Env {
		line("env", q(kv))
	}
	for _, f := range r.Files {
		line("file", fileWords(f)...)
	}
	for _, p := range r.Procs {
		line("proc", strconv.Itoa(p.Pid), strconv.FormatUint(p.Start, 10))
	}
	line("limactl", q(r.Limactl), q(r.Path))
	argv := []string{strconv.FormatBool(r.Command)}
	for _, a := range r.Argv {
		argv = append(argv, q(a))
	}
	line("argv", argv...)
	line("tty", strconv.FormatBool(r.Terminal), strconv.FormatBool(r.StderrTTY))
	for _, s := range r.Said {
		line("said", q(s))
	}
	return []byte(b.String())
}

func fileWords(f File) []string {
	how := "lstat"
	switch {
	case f.List:
		how = "list"
	case f.Follow:
		how = "stat"
	}
	w := []string{strconv.Quote(f.Path), how}
	if f.Missing {
		return append(w, "-")
	}
	return append(w,
		strconv.FormatUint(uint64(f.Mode), 8),
		strconv.FormatUint(f.Dev, 10),
		strconv.FormatUint(f.Ino, 10),
		strconv.FormatInt(f.Size, 10),
		strconv.FormatInt(f.Mtime, 10),
		strconv.FormatInt(f.Ctime, 10))
}

var errBad = errors.New("not a vmhook entry record")

// Decode reads a record Encode wrote. Anything else, a truncated record
// included, is an error.
func Decode(data []byte) (*Record, error) {
	text := string(data)
	first, rest, ok := strings.Cut(text, "\n")
	if !ok || first != header || !strings.HasSuffix(rest, "\n") {
		return nil, errBad
	}
	r := &Record{}
	var seen struct{ project, vmhook, limactl, argv, tty bool }
	for _, ln := range strings.Split(strings.TrimSuffix(rest, "\n"), "\n") {
		key, args, _ := strings.Cut(ln, " ")
		words, err := splitWords(args)
		if err != nil {
			return nil, err
		}
		switch key {
		case "project":
			if len(words) != 1 || seen.project {
				return nil, errBad
			}
			r.Project, seen.project = words[0], true
		case "vmhook":
			if r.Vmhook, err = parseFile(words); err != nil || seen.vmhook {
				return nil, errBad
			}
			seen.vmhook = true
		case "env":
			if len(words) != 1 || !strings.Contains(words[0], "=") {
				return nil, errBad
			}
			r.Env = append(r.Env, words[0])
		case "file":
			f, err := parseFile(words)
			if err != nil {
				return nil, err
			}
			r.Files = append(r.Files, f)
		case "proc":
			if len(words) != 2 {
				return nil, errBad
			}
			pid, err1 := strconv.Atoi(words[0])
			start, err2 := strconv.ParseUint(words[1], 10, 64)
			if err1 != nil || err2 != nil || pid <= 0 {
				return nil, errBad
			}
			r.Procs = append(r.Procs, Proc{Pid: pid, Start: start})
		case "limactl":
			if len(words) != 2 || seen.limactl {
				return nil, errBad
			}
			r.Limactl, r.Path, seen.limactl = words[0], words[1], true
		case "argv":
			if len(words) < 2 || seen.argv {
				return nil, errBad
			}
			if r.Command, err = strconv.ParseBool(words[0]); err != nil {
				return nil, errBad
			}
			r.Argv, seen.argv = words[1:], true
		case "tty":
			if len(words) != 2 || seen.tty {
				return nil, errBad
			}
			t, err1 := strconv.ParseBool(words[0])
			e, err2 := strconv.ParseBool(words[1])
			if err1 != nil || err2 != nil {
				return nil, errBad
			}
			r.Terminal, r.StderrTTY, seen.tty = t, e, true
		case "said":
			if len(words) != 1 {
				return nil, errBad
			}
			r.Said = append(r.Said, words[0])
		default:
			return nil, errBad
		}
	}
	if !seen.project || !seen.vmhook || !seen.limactl || !seen.argv || !seen.tty {
		return nil, errBad
	}
	return r, nil
}

// splitWords splits s at single spaces into words, unquoting quoted ones.
func splitWords(s string) ([]string, error) {
	var words []string
	for s != "" {
		var w string
		if s[0] == '"' {
			quoted, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, errBad
			}
			if w, err = strconv.Unquote(quoted); err != nil {
				return nil, errBad
			}
			s = s[len(quoted):]
		} else {
			w, s, _ = strings.Cut(s, " ")
			if w == "" {
				return nil, errBad
			}
			words = append(words, w)
			continue
		}
		words = append(words, w)
		if s != "" {
			if s[0] != ' ' || len(s) == 1 {
				return nil, errBad
			}
			s = s[1:]
		}
	}
	return words, nil
}

// parseFile reads FILE words; the path must have been quoted, which
// splitWords cannot tell, so an empty path is refused.
func parseFile(w []string) (File, error) {
	if len(w) < 3 || w[0] == "" {
		return File{}, errBad
	}
	f := File{Path: w[0]}
	switch w[1] {
	case "lstat":
	case "stat":
		f.Follow = true
	case "list":
		f.List = true
	default:
		return File{}, errBad
	}
	if len(w) == 3 && w[2] == "-" {
		f.Missing = true
		return f, nil
	}
	if len(w) != 8 {
		return File{}, errBad
	}
	mode, err1 := strconv.ParseUint(w[2], 8, 32)
	dev, err2 := strconv.ParseUint(w[3], 10, 64)
	ino, err3 := strconv.ParseUint(w[4], 10, 64)
	size, err4 := strconv.ParseInt(w[5], 10, 64)
	mt, err5 := strconv.ParseInt(w[6], 10, 64)
	ct, err6 := strconv.ParseInt(w[7], 10, 64)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return File{}, errBad
	}
	f.Mode, f.Dev, f.Ino, f.Size, f.Mtime, f.Ctime = uint32(mode), dev, ino, size, mt, ct
	return f, nil
}
