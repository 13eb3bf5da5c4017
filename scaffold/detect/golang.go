package detect

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// goListen finds a Go server's address: http.ListenAndServe(":8080",
	// net.Listen("tcp", ":8080"), Addr: ":8080", r.Run(":8080"), e.Start(":8080").
	goListen = regexp.MustCompile(`(?:ListenAndServe(?:TLS)?\(\s*|net\.Listen\(\s*"tcp[46]?",\s*|Addr:\s*|\.Run\(\s*|\.Start\(\s*|\.Listen\(\s*)"[^"\s]*:(\d{2,5})"`)
	// goPortDefault finds a default port beside a PORT variable:
	// cmp.Or(os.Getenv("PORT"), "8080"), port = "8080", flag.Int("port", 8080.
	goPortDefault = regexp.MustCompile(`(?i)(?:getenv\("(?:[A-Z_]*)PORT"\)[^\n]{0,20}?"|\bport\s*:?=\s*"|flag\.(?:Int|String)\("(?:port|addr|listen)",\s*"?:?)(\d{2,5})\b`)
	// goServes finds code that starts a network server.
	goServes = regexp.MustCompile(`ListenAndServe|net\.Listen\(|\.Serve\(|gin\.Default\(\)|echo\.New\(\)|fiber\.New\(|grpc\.NewServer\(`)
	goLine   = regexp.MustCompile(`(?m)^(go|toolchain)\s+(\S+)\s*$`)
)

// maxGoFiles bounds the .go files read to find a server.
const maxGoFiles = 80

func detectGo(d *Dir) (App, bool) {
	mod, ok := d.Read("go.mod")
	if !ok {
		return App{}, false
	}
	app := App{Stack: "Go", Dir: d.Rel, Tool: "go", Why: d.Path("go.mod")}
	var lines []string
	for _, m := range goLine.FindAllSubmatch(mod, -1) {
		lines = append(lines, string(m[1])+" "+clean(string(m[2])))
	}
	if len(lines) > 0 {
		app.Facts = append(app.Facts, fmt.Sprintf("%s: %s (the go command fetches the toolchain they ask for when its own is older)", d.Path("go.mod"), strings.Join(lines, ", ")))
	}
	inputs := []string{"go.mod"}
	if d.Has("go.sum") {
		inputs = []string{"go.sum", "go.mod"}
	}
	app.Deps = &Deps{Dir: d.Rel, Manager: "go", Inputs: inputs, Run: "go mod download", Tool: "go"}

	// The main packages: the directory itself, cmd/*, and a few usual
	// server directories.
	dirs := []string{"."}
	dirs = append(dirs, d.Subdirs("cmd")...)
	for _, s := range []string{"server", "api", "web", "app", "internal/server", "pkg/server"} {
		if d.IsDir(s) {
			dirs = append(dirs, s)
		}
	}
	read, serving := 0, ""
	for _, dir := range dirs {
		for _, f := range d.Files(dir, ".go") {
			if strings.HasSuffix(f, "_test.go") || read >= maxGoFiles {
				continue
			}
			read++
			data, ok := d.Read(f)
			if !ok {
				continue
			}
			if serving == "" && goServes.Match(data) {
				serving = d.Path(f)
			}
			for _, re := range []*regexp.Regexp{goListen, goPortDefault} {
				if m := re.FindSubmatchIndex(data); m != nil {
					if p := portOf(string(data[m[2]:m[3]])); p > 0 {
						line := strings.Count(string(data[:m[0]]), "\n") + 1
						text := strings.Split(string(data), "\n")[line-1]
						app.Ports = []Port{{Port: p, Why: fmt.Sprintf("%s line %d: `%s`", d.Path(f), line, short(strings.TrimSpace(text)))}}
						return app, true
					}
				}
			}
		}
	}
	switch {
	case serving != "":
		app.PortsUnknown = serving + " starts a server, but its port could not be read"
	default:
		app.ServesNothing = fmt.Sprintf("%s: no .go file in %s starts a server", d.Path("go.mod"), clean(strings.Join(dirs, ", ")))
	}
	return app, true
}
