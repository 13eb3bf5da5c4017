package detect

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// cmdSource is where a command was found, for comments: "package.json
// scripts.dev (line 6)".
type cmdSource struct {
	where string
	// scripts resolve `npm run NAME` and its kin (package.json scripts).
	scripts map[string]string
	// scriptWhere says where scripts[NAME] is: "package.json scripts.NAME".
	scriptWhere func(name string) string
	// dir is the directory the command runs in, for the files it starts.
	dir *Dir
}

// cmdFindings is what the commands of a directory say.
type cmdFindings struct {
	ports []Port
	// frameworks are the names of the dev servers recognised.
	frameworks []string
	// files are the scripts started with node and its kin, to look into.
	files []string
	// serves is true when a command runs a known dev server or a script.
	serves bool
}

// analyze reads a shell command line for the dev servers it starts and
// their ports.
func analyze(cmd string, src cmdSource) cmdFindings {
	var out cmdFindings
	analyzeDepth(cmd, src, &out, 0)
	return out
}

func analyzeDepth(cmd string, src cmdSource, out *cmdFindings, depth int) {
	if depth > 3 {
		return
	}
	for _, seg := range segments(cmd) {
		analyzeSegment(seg, src, out, depth)
	}
}

// segments splits a command line into simple commands (at && || ; | &),
// each a list of words with quotes removed.
func segments(cmd string) [][]string {
	var segs [][]string
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 {
			segs = append(segs, words)
		}
		words = nil
	}
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(cmd[i+1:], c)
			if j < 0 {
				j = len(cmd) - i - 1
			}
			w.WriteString(cmd[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\\' && i+1 < len(cmd):
			w.WriteByte(cmd[i+1])
			inWord = true
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == ';' || c == '|' || c == '&':
			end()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	end()
	return segs
}

// envAssign matches NAME=VALUE.
var envAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// wrappers run the command that follows them: their own words are
// skipped.
var wrappers = map[string]int{ // name → words of options to skip (-1: skip leading options)
	"npx": -1, "bunx": -1, "exec": 0, "env": -1, "cross-env": -1, "time": 0, "nice": -1,
	"dotenv": -1, "dotenvx": -1, "op": -1, "doppler": -1, "nohup": 0, "watchexec": -1,
}

func analyzeSegment(words []string, src cmdSource, out *cmdFindings, depth int) {
	envPort := 0
	for len(words) > 0 {
		w := words[0]
		if m := envAssign.FindStringSubmatch(w); m != nil {
			if m[1] == "PORT" {
				envPort = portOf(m[2])
			}
			words = words[1:]
			continue
		}
		prog := path.Base(w)
		if _, ok := wrappers[prog]; ok {
			words = words[1:]
			// Options of the wrapper, and a "--" ending them.
			for len(words) > 0 && strings.HasPrefix(words[0], "-") {
				if words[0] == "--" {
					words = words[1:]
					break
				}
				if words[0] == "-e" || words[0] == "-f" || words[0] == "-c" || words[0] == "--env-file" {
					words = words[1:]
				}
				if len(words) > 0 {
					words = words[1:]
				}
			}
			if prog == "dotenvx" && len(words) > 0 && words[0] == "run" {
				words = words[1:]
			}
			continue
		}
		// Package managers: `npm run X` refers to a script; `pnpm exec`,
		// `yarn dlx`, `bundle exec`, `poetry run`, `uv run` run a program.
		if len(words) >= 2 {
			switch prog + " " + words[1] {
			case "pnpm exec", "pnpm dlx", "yarn dlx", "yarn exec", "bun x", "bundle exec", "poetry run", "uv run", "pipenv run", "pdm run", "hatch run", "npm exec", "rye run":
				words = words[2:]
				continue
			}
		}
		break
	}
	if len(words) == 0 {
		return
	}
	prog := path.Base(words[0])
	args := words[1:]

	// A script of package.json, by name.
	if name, ok := scriptRef(prog, args, src.scripts); ok {
		if body, ok := src.scripts[name]; ok && src.scriptWhere != nil {
			sub := src
			sub.where = src.scriptWhere(name)
			before := len(out.ports)
			analyzeDepth(body, sub, out, depth+1)
			if envPort > 0 && len(out.ports) > before {
				out.ports = append(out.ports[:before], Port{Port: envPort, Why: fmt.Sprintf("%s: `%s`", src.where, short(strings.Join(words, " ")))})
			}
		}
		return
	}
	// concurrently "cmd a" "cmd b", run-p a b: each argument is a command
	// (or, for run-p and concurrently's npm:NAME, a script).
	switch prog {
	case "concurrently", "run-p", "run-s", "npm-run-all":
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				continue
			}
			if n, ok := strings.CutPrefix(a, "npm:"); ok {
				a = "npm run " + n
			} else if prog != "concurrently" {
				a = "npm run " + a
			}
			analyzeDepth(a, src, out, depth+1)
		}
		return
	case "python", "python3":
		if len(args) >= 2 && args[0] == "-m" {
			prog, args = args[1], args[2:]
		} else if len(args) >= 1 && !strings.HasPrefix(args[0], "-") {
			prog, args = path.Base(args[0]), args[1:]
		}
	case "php":
		if len(args) >= 1 {
			prog, args = path.Base(args[0]), args[1:]
		}
	case "node", "nodemon", "tsx", "ts-node", "ts-node-dev", "bun", "deno", "node-dev":
		for i := 0; i < len(args); i++ {
			a := args[i]
			if a == "watch" || a == "run" || strings.HasPrefix(a, "-") {
				continue
			}
			if ext := path.Ext(a); ext == ".js" || ext == ".mjs" || ext == ".cjs" || ext == ".ts" || ext == ".mts" {
				out.files = append(out.files, a)
				out.serves = true
				if envPort > 0 {
					out.ports = append(out.ports, Port{Port: envPort, Why: fmt.Sprintf("%s: `%s`", src.where, short(strings.Join(words, " ")))})
				}
			}
			break
		}
		return
	}
	fw, rest, ok := matchFramework(prog, args)
	if !ok {
		return
	}
	out.serves = true
	out.frameworks = append(out.frameworks, fw.Name)
	line := short(strings.Join(words, " "))
	if p := portFlag(fw, rest); p > 0 {
		out.ports = append(out.ports, Port{Port: p, Why: fmt.Sprintf("%s: `%s`", src.where, line)})
		return
	}
	if envPort > 0 && !fw.IgnoresEnvPort {
		out.ports = append(out.ports, Port{Port: envPort, Why: fmt.Sprintf("%s: `%s`", src.where, line)})
		return
	}
	out.ports = append(out.ports, Port{Port: fw.Port, Why: fmt.Sprintf("%s: `%s`, %s's default port", src.where, line, fw.Name)})
}

// scriptRef reports whether a command runs a package.json script, and
// which: npm run X, npm start, yarn X, pnpm X, bun run X.
func scriptRef(prog string, args []string, scripts map[string]string) (string, bool) {
	if scripts == nil {
		return "", false
	}
	var rest []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
		}
	}
	switch prog {
	case "npm", "pnpm", "yarn", "bun":
		if len(rest) == 0 {
			return "", false
		}
		switch rest[0] {
		case "run", "run-script":
			if len(rest) > 1 {
				return rest[1], true
			}
			return "", false
		case "start", "dev", "serve":
			return rest[0], true
		}
		if prog != "npm" {
			if _, ok := scripts[rest[0]]; ok {
				return rest[0], true
			}
		}
	}
	return "", false
}

// matchFramework finds the Framework whose Command starts words (prog
// first), preferring the longest.
func matchFramework(prog string, args []string) (Framework, []string, bool) {
	var best Framework
	var rest []string
	found := false
	for _, fw := range Frameworks {
		cw := strings.Fields(fw.Command)
		if cw[0] != prog {
			continue
		}
		args := skipGlobal(fw, args)
		if len(cw)-1 > len(args) {
			continue
		}
		match := true
		for i, w := range cw[1:] {
			if args[i] != w {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		after := args[len(cw)-1:]
		// "vite build" is not the Vite dev server.
		if !fw.Positional && len(after) > 0 && !strings.HasPrefix(after[0], "-") {
			continue
		}
		if !found || len(cw) > len(strings.Fields(best.Command)) {
			best, rest, found = fw, after, true
		}
	}
	return best, rest, found
}

// skipGlobal drops fw's global options from the front of args (see
// Framework.Global), with their values.
func skipGlobal(fw Framework, args []string) []string {
	for len(args) > 0 {
		name, _, inline := strings.Cut(args[0], "=")
		switch {
		case slices.Contains(fw.Global, name+"!"):
			args = args[1:]
		case slices.Contains(fw.Global, name):
			args = args[1:]
			if !inline && len(args) > 0 {
				args = args[1:]
			}
		default:
			return args
		}
	}
	return args
}

// portFlag finds the port an option of fw sets in args (--port 8001,
// --port=8001, -p8001, -b 0.0.0.0:8001), or, for Django, the address
// argument (runserver 0.0.0.0:8001).
func portFlag(fw Framework, args []string) int {
	flags := fw.Flags
	if flags == nil {
		flags = []string{"--port", "-p"}
	}
	for i, a := range args {
		for _, f := range flags {
			switch {
			case a == f && i+1 < len(args):
				if p := portOf(args[i+1]); p > 0 {
					return p
				}
			case strings.HasPrefix(a, f+"="):
				if p := portOf(a[len(f)+1:]); p > 0 {
					return p
				}
			case len(f) == 2 && strings.HasPrefix(a, f) && len(a) > 2 && a[2] >= '0' && a[2] <= '9':
				if p := portOf(a[2:]); p > 0 {
					return p
				}
			}
		}
	}
	if strings.HasSuffix(fw.Command, "runserver") {
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				return portOf(a)
			}
		}
	}
	return 0
}

// portValue matches a port, alone or at the end of an address, or as the
// default of a shell expansion: 3000, 0.0.0.0:3000, tcp://[::]:3000,
// ${PORT:-3000}.
var portValue = regexp.MustCompile(`^(?:.*:)?(\d{1,5})$|^\$\{[A-Z_]+:?-(\d{1,5})\}$`)

// portOf reads a port from a value; 0 when there is none.
func portOf(v string) int {
	m := portValue.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	s := m[1]
	if s == "" {
		s = m[2]
	}
	n, _ := strconv.Atoi(s)
	if !validPort(n) {
		return 0
	}
	return n
}

// validPort: a port vmhook.yaml accepts (22 is the guest's ssh).
func validPort(n int) bool { return n >= 1 && n <= 65535 && n != 22 }

// short keeps a command readable in a comment, quoted in backquotes: a
// backquote of its own becomes a quote.
func short(s string) string {
	s = strings.ReplaceAll(clean(s), "`", "'")
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}

// clean makes text from the repository safe in a one-line comment: no
// control characters or line separators.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
