package detect

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAnalyze reads the dev commands people write for the server and port
// they start.
func TestAnalyze(t *testing.T) {
	scripts := map[string]string{"dev": "vite --port 5174", "api": "PORT=4001 node api/server.js", "web": "next dev"}
	for _, tc := range []struct {
		cmd  string
		port int // 0: none
	}{
		{"next dev", 3000},
		{"next dev -p 3005", 3005},
		{"next dev --port=3006", 3006},
		{"vite build", 0},
		{"PORT=4000 vite", 5173}, // Vite ignores PORT
		{"PORT=4000 react-scripts start", 4000},
		{"npm run dev", 5174},
		{"pnpm web", 3000},
		{"concurrently \"npm:api\" \"npm:web\"", 4001},
		{"cross-env NODE_ENV=development nodemon server.js", 0},
		{"python manage.py runserver 0.0.0.0:8001", 8001},
		{"uvicorn main:app --reload --port 8002", 8002},
		{"poetry run flask run -p 5002", 5002},
		{"flask --app app run --debug --port 3000", 3000},
		{"flask --app=app --debug run", 5000},
		{"flask --app app routes", 0},
		{"bundle exec rails server -p 3002", 3002},
		{"gunicorn app:app -b 0.0.0.0:8003", 8003},
		{"bundle exec puma -C config/puma.rb", 9292},
		{"hugo server -D", 1313},
		{"go run .", 0},
		{"make build", 0},
	} {
		f := analyze(tc.cmd, cmdSource{where: "x", scripts: scripts, scriptWhere: func(n string) string { return "scripts." + n }})
		got := 0
		if len(f.ports) > 0 {
			got = f.ports[0].Port
		}
		if got != tc.port {
			t.Errorf("%q: port %d, want %d (%+v)", tc.cmd, got, tc.port, f.ports)
		}
	}
}

// TestDetectHostile reads a repository whose files are FIFOs, links to
// devices and to files outside, and larger than the limit: nothing blocks,
// nothing outside is read, and each is one note.
func TestDetectHostile(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(dir, "package.json"), 0o644))
	must(os.Symlink("/dev/zero", filepath.Join(dir, "Gemfile")))
	must(os.Symlink("/etc", filepath.Join(dir, "config")))
	must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte(strings.Repeat("// x\n", 100<<10)), 0o644))
	must(os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte("[dependencies]\naxum = \"0.7\"\n"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "src"), 0o755))
	must(os.Symlink("/etc/hostname", filepath.Join(dir, "src", "main.rs")))
	done := make(chan Result)
	go func() { done <- Detect(dir) }()
	var res Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Detect blocked")
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{
		"could not read package.json: it is not a regular file",
		"could not read Gemfile: it is a symbolic link",
		"could not read go.mod: it is larger than 256 KiB",
		"could not read src/main.rs: it is a symbolic link",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if len(res.Apps) != 1 || res.Apps[0].Stack != "Rust" || res.Apps[0].Ports[0].Port != 3000 || !res.Apps[0].Ports[0].Default {
		t.Errorf("apps: %+v", res.Apps)
	}
}

// TestRenderNothing leaves a repository with nothing recognisable to the
// template's vmhook.yaml.
func TestRenderNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, ok := Render(Detect(dir)); ok {
		t.Errorf("Render wrote a file for nothing:\n%s", out)
	}
}
