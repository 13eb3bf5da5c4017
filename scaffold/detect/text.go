package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// lineOf is the 1-based number of the first line of data holding needle
// at or after the line holding after (when after is set); 0 when none does.
func lineOf(data []byte, after, needle string) int {
	start := 0
	if after != "" {
		i := bytes.Index(data, []byte(after))
		if i < 0 {
			return 0
		}
		start = i
	}
	i := bytes.Index(data[start:], []byte(needle))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:start+i], []byte("\n")) + 1
}

// at is " (line N)" for a line number, or nothing.
func at(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", line)
}

// stripJSONC turns JSON with comments and trailing commas (devcontainer.json,
// tsconfig-style files) into JSON. Strings are kept as they are.
func stripJSONC(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(data) {
				j = len(data) - 1
			}
			out = append(out, data[i:j+1]...)
			i = j
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			for i < len(data) && data[i] != '\n' {
				i++
			}
			if i < len(data) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			end := bytes.Index(data[i+2:], []byte("*/"))
			if end < 0 {
				i = len(data)
				break
			}
			// Keep the newlines, so errors name the right line.
			out = append(out, bytes.Repeat([]byte("\n"), bytes.Count(data[i:i+2+end], []byte("\n")))...)
			i += end + 3
		case c == ',':
			j := i + 1
			for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
				j++
			}
			if j < len(data) && (data[j] == '}' || data[j] == ']') {
				continue
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}

// parseJSON decodes data into an object, or says (for a note) why not.
func parseJSON(data []byte) (map[string]any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if ok := asSyntax(err, &se); ok {
			return nil, fmt.Errorf("invalid JSON at line %d: %v", bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))+1, err)
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("it holds JSON but not an object")
	}
	return m, nil
}

func asSyntax(err error, se **json.SyntaxError) bool {
	s, ok := err.(*json.SyntaxError)
	if ok {
		*se = s
	}
	return ok
}

// str is m[key] when it is a string.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// obj is m[key] when it is an object.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// strMap is the string values of m[key].
func strMap(m map[string]any, key string) map[string]string {
	out := map[string]string{}
	for k, v := range obj(m, key) {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// tomlSections reads the few TOML shapes vmhook new needs: for each
// [section] (and [[section]]), its key = "string" pairs. Arrays and inline
// tables are kept as their raw text. It is not a TOML parser; what it does
// not understand it leaves out.
func tomlSections(data []byte) map[string]map[string]string {
	out := map[string]map[string]string{"": {}}
	section := ""
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "[") {
			section = strings.Trim(l, "[] \t")
			if j := strings.Index(section, "]"); j >= 0 {
				section = section[:j]
			}
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		v = strings.TrimSpace(v)
		// A multi-line array: gather up to its closing bracket.
		if strings.HasPrefix(v, "[") && strings.Count(v, "[") > strings.Count(v, "]") {
			for i+1 < len(lines) && strings.Count(v, "[") > strings.Count(v, "]") {
				i++
				v += " " + strings.TrimSpace(lines[i])
			}
		}
		out[section][k] = tomlString(v)
	}
	return out
}

// tomlString unquotes a TOML basic or literal string; anything else is
// returned as it is.
func tomlString(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if j := strings.IndexByte(v[1:], v[0]); j >= 0 {
			return v[1 : 1+j]
		}
	}
	if i := strings.Index(v, " #"); i >= 0 && !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "{") {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

// versionLike matches what a version file holds: "20", "v20.11.0",
// "3.12.1", "lts/iron", "ruby-3.3.0".
var versionLike = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+-]{0,40}$`)

// firstLine is the first non-empty, non-comment line of data, trimmed.
func firstLine(data []byte) string {
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}
