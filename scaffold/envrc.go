package scaffold

import (
	"bytes"
	"strings"
)

// saysUseVM reports whether an .envrc calls vmhook's `use vm` (or use_vm)
// when direnv runs it, so that `vmhook new` neither adds a second call nor
// takes a mention for one. The rule, kept to what a reader of the file sees:
//
//   - a call counts where a command starts: at the start of a line, however
//     indented (inside if/elif/else, loops and { } groups too, which run at
//     top level), after ; & && || | ( and after then, else, do, ! and the
//     like, and after NAME=value words;
//   - comments, quoted text and heredoc bodies are not commands;
//   - a call inside a function body counts only when that function (or one
//     that calls it) is called where a call would count.
//
// It reads the shell with a small scanner, not a parser: $(…) and `…` are
// skipped as words, and what eval or a sourced file runs is not seen.
func saysUseVM(data []byte) bool {
	s := envrcScanner{src: data}
	s.scan()
	return s.calls("", map[string]bool{})
}

// envrcScanner splits an .envrc into words and operators and records, per
// function body ("" for the file itself), whether it calls use vm and which
// commands it runs.
type envrcScanner struct {
	src []byte
	pos int

	heredocs []heredoc // pending: their bodies start at the next newline

	uses map[string]bool                // scope → calls use vm directly
	runs map[string]map[string]struct{} // scope → the command names it runs
}

type heredoc struct {
	delim     string
	stripTabs bool // <<-
}

// token is a word, or an operator (one of ; & | ( ) or a newline, with
// && and || given as & and |, and ;; as ;).
type token struct {
	text string
	op   bool
}

// commandWords are the reserved words after which a command starts.
var commandWords = map[string]bool{"then": true, "else": true, "elif": true, "do": true, "if": true, "while": true, "until": true, "!": true, "time": true}

func (s *envrcScanner) scan() {
	s.uses = map[string]bool{}
	s.runs = map[string]map[string]struct{}{}
	// scopes is the stack of function bodies being read, each with the
	// brace depth at which it ends.
	type scope struct {
		name  string
		depth int
	}
	var scopes []scope
	current := func() string {
		if len(scopes) == 0 {
			return ""
		}
		return scopes[len(scopes)-1].name
	}
	depth := 0
	atCommand := true
	pendingFunc := "" // a name() or function NAME seen: its body is next
	var prev []token  // the tokens of the command so far
	for {
		t, ok := s.next()
		if !ok {
			return
		}
		if t.op {
			switch t.text {
			case "(":
				// NAME=( … ) is an array, not a subshell; a function's body
				// in ( … ) is not read (a rare form), so it calls nothing.
				if pendingFunc != "" || len(prev) > 0 && strings.HasSuffix(prev[len(prev)-1].text, "=") {
					pendingFunc = ""
					s.pos = s.matching(s.pos - 1)
					continue
				}
				// name ( ) declares a function.
				if len(prev) == 1 {
					if c, ok := s.peekClose(); ok {
						s.pos = c
						pendingFunc = prev[0].text
						// Its name was taken for a command; it is not one.
						delete(s.runs[current()], pendingFunc)
						prev = nil
						atCommand = false
						continue
					}
				}
			}
			// After ) too: a case pattern ends with one, and a command
			// follows.
			atCommand, prev = true, nil
			continue
		}
		switch {
		case t.text == "{" && (atCommand || pendingFunc != ""):
			depth++
			if pendingFunc != "" {
				scopes = append(scopes, scope{name: pendingFunc, depth: depth})
				pendingFunc = ""
			}
			atCommand, prev = true, nil
			continue
		case t.text == "}" && atCommand:
			if len(scopes) > 0 && scopes[len(scopes)-1].depth == depth {
				scopes = scopes[:len(scopes)-1]
			}
			if depth > 0 {
				depth--
			}
			atCommand, prev = false, nil
			continue
		}
		prev = append(prev, t)
		if !atCommand {
			// function NAME [()] declares one as well.
			if len(prev) == 2 && prev[0].text == "function" {
				pendingFunc = t.text
				if c, ok := s.peekParens(); ok {
					s.pos = c
				}
			}
			continue
		}
		switch {
		case commandWords[t.text]:
			prev = nil
			continue
		case isAssignment(t.text):
			continue
		}
		atCommand = false
		scope := current()
		if t.text == "use_vm" || t.text == "use" && s.nextWordIs("vm") {
			s.uses[scope] = true
		}
		if s.runs[scope] == nil {
			s.runs[scope] = map[string]struct{}{}
		}
		s.runs[scope][t.text] = struct{}{}
	}
}

// calls reports whether scope calls use vm, itself or through the
// functions it runs; seen stops a function that calls itself.
func (s *envrcScanner) calls(scope string, seen map[string]bool) bool {
	if s.uses[scope] {
		return true
	}
	seen[scope] = true
	for name := range s.runs[scope] {
		if _, defined := s.runs[name]; (defined || s.uses[name]) && !seen[name] && s.calls(name, seen) {
			return true
		}
	}
	return false
}

// next returns the next word or operator, skipping blanks, comments, line
// continuations and heredoc bodies.
func (s *envrcScanner) next() (token, bool) {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.pos++
		case c == '\\' && s.pos+1 < len(s.src) && s.src[s.pos+1] == '\n':
			s.pos += 2
		case c == '#':
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
		case c == '\n':
			s.pos++
			s.skipHeredocs()
			return token{text: "\n", op: true}, true
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			s.pos++
			if (c == '&' || c == '|' || c == ';') && s.pos < len(s.src) && s.src[s.pos] == c {
				s.pos++
			}
			return token{text: string(c), op: true}, true
		case bytes.HasPrefix(s.src[s.pos:], []byte("<<<")):
			s.pos += 3 // a here-string: its word is a word
		case bytes.HasPrefix(s.src[s.pos:], []byte("<<")):
			s.pos += 2
			s.readHeredoc()
		default:
			return token{text: s.word()}, true
		}
	}
	return token{}, false
}

// word reads a word: up to a blank or an operator outside quotes, with
// quotes removed and $(…), ${…} and `…` kept whole.
func (s *envrcScanner) word() string {
	var b []byte
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>':
			if len(b) == 0 && (c == '<' || c == '>') {
				// A redirection's operator (>&, <>, >| too): the word
				// after it is a file, not a command.
				start := s.pos
				for s.pos < len(s.src) && strings.IndexByte("<>&|", s.src[s.pos]) >= 0 {
					s.pos++
				}
				return string(s.src[start:s.pos])
			}
			return string(b)
		case c == '\\':
			if s.pos+1 < len(s.src) && s.src[s.pos+1] != '\n' {
				b = append(b, s.src[s.pos+1])
			}
			s.pos += 2
		case c == '\'':
			end := s.find(s.pos+1, '\'')
			b = append(b, s.src[s.pos+1:end]...)
			s.pos = end + 1
		case c == '"':
			end := s.pos + 1
			for end < len(s.src) && s.src[end] != '"' {
				if s.src[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end, len(s.src))
			b = append(b, s.src[s.pos+1:end]...)
			s.pos = end + 1
		case c == '`':
			end := s.find(s.pos+1, '`')
			b = append(b, s.src[s.pos:min(end+1, len(s.src))]...)
			s.pos = end + 1
		case c == '$' && s.pos+1 < len(s.src) && (s.src[s.pos+1] == '(' || s.src[s.pos+1] == '{'):
			end := s.matching(s.pos + 1)
			b = append(b, s.src[s.pos:end]...)
			s.pos = end
		default:
			b = append(b, c)
			s.pos++
		}
	}
	return string(b)
}

// find returns the index of the next c from i, or the end.
func (s *envrcScanner) find(i int, c byte) int {
	for i < len(s.src) && s.src[i] != c {
		i++
	}
	return i
}

// matching returns the index after the bracket that closes the one at i.
func (s *envrcScanner) matching(i int) int {
	open := s.src[i]
	close := byte(')')
	if open == '{' {
		close = '}'
	}
	depth := 0
	for ; i < len(s.src); i++ {
		switch s.src[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s.src)
}

// readHeredoc reads the delimiter after << (or <<-); the body is skipped at
// the end of the line.
func (s *envrcScanner) readHeredoc() {
	h := heredoc{}
	if s.pos < len(s.src) && s.src[s.pos] == '-' {
		h.stripTabs = true
		s.pos++
	}
	for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t') {
		s.pos++
	}
	h.delim = s.word()
	if h.delim != "" {
		s.heredocs = append(s.heredocs, h)
	}
}

// skipHeredocs skips the bodies of the heredocs the line just ended opened.
func (s *envrcScanner) skipHeredocs() {
	for _, h := range s.heredocs {
		for s.pos < len(s.src) {
			end := s.find(s.pos, '\n')
			line := string(s.src[s.pos:end])
			s.pos = min(end+1, len(s.src))
			if h.stripTabs {
				for len(line) > 0 && line[0] == '\t' {
					line = line[1:]
				}
			}
			if line == h.delim || line == h.delim+"\r" {
				break
			}
		}
	}
	s.heredocs = nil
}

// nextWordIs reports whether the next token, on the same line, is the word w.
func (s *envrcScanner) nextWordIs(w string) bool {
	save := s.pos
	defer func() { s.pos = save }()
	i := s.pos
	for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t') {
		i++
	}
	if i == s.pos || i >= len(s.src) {
		return false
	}
	s.pos = i
	return s.word() == w
}

// peekClose returns the position after the ) that follows the ( just read,
// blanks between, when there is one: name() declares a function.
func (s *envrcScanner) peekClose() (int, bool) {
	i := s.pos
	for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t') {
		i++
	}
	if i < len(s.src) && s.src[i] == ')' {
		return i + 1, true
	}
	return 0, false
}

// peekParens returns the position after a () that follows, if any.
func (s *envrcScanner) peekParens() (int, bool) {
	i := s.pos
	for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t') {
		i++
	}
	if i < len(s.src) && s.src[i] == '(' {
		s2 := *s
		s2.pos = i + 1
		return s2.peekClose()
	}
	return 0, false
}

// isAssignment reports whether w is a NAME=value word before a command.
func isAssignment(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c == '=':
			return i > 0
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return false
}
