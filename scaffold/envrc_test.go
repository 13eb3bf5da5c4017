package scaffold

import "testing"

func TestSaysUseVM(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, envrc string
		want        bool
	}{
		{"plain", "use vm\n", true},
		{"the function itself", "use_vm\n", true},
		{"flags", "use vm --cpus 8 --port 5173\n", true},
		{"no newline at the end", "use vm", true},
		{"CRLF", "dotenv\r\nuse vm\r\n", true},
		{"indented in the template's guard", "if has use_vm; then\n  use vm\nelse\n  log_error x\nfi\n", true},
		{"on the guard's line", "if has use_vm; then use vm; fi\n", true},
		{"after &&", "has nix && use flake && use vm\n", true},
		{"after ;", "dotenv; use vm\n", true},
		{"after ||", "false || use vm\n", true},
		{"with an assignment before it", "VM_CPUS=4 use vm\n", true},
		{"in a group", "{ use vm; }\n", true},
		{"in a subshell", "( use vm )\n", true},
		{"in a case", "case $HOST in\n  work) use vm ;;\nesac\n", true},
		{"with a comment after it", "use vm # mine\n", true},
		{"quoted", "use \"vm\"\n", true},
		{"after a heredoc", "cat <<EOF >notes\nhi\nEOF\nuse vm\n", true},
		{"in a function that is called", "vm() {\n  use vm --cpus 2\n}\nvm\n", true},
		{"in a function called through another", "a() { use vm; }\nb() { a; }\nif true; then b; fi\n", true},
		{"in a function keyword body that is called", "function start {\n  use vm\n}\nstart\n", true},

		{"empty", "", false},
		{"a comment", "# use vm\n", false},
		{"an indented comment", "  # use vm --cpus 8\n", false},
		{"a comment after a command", "dotenv # then use vm\n", false},
		{"in a heredoc", "cat <<EOF\nuse vm\nEOF\n", false},
		{"in a quoted heredoc", "cat <<'EOF' > x\nuse vm\nEOF\n", false},
		{"in a <<- heredoc", "cat <<-END\n\tuse vm\n\tEND\n", false},
		{"in two heredocs on a line", "cat <<A <<B\nx\nA\nuse vm\nB\n", false},
		{"in a function never called", "vm() {\n  use vm\n}\n", false},
		{"in a one-line function never called", "vm() { use vm; }\n", false},
		{"in a function keyword body never called", "function vm {\n  use vm\n}\n", false},
		{"in a function whose name is only an argument", "vm() { use vm; }\necho vm\n", false},
		{"in a function called only in a heredoc", "vm() { use vm; }\ncat <<EOF\nvm\nEOF\n", false},
		{"in a string", "echo \"use vm\"\n", false},
		{"in a string over lines", "echo \"\nuse vm\n\"\n", false},
		{"in single quotes", "log_status 'run: use vm'\n", false},
		{"as an argument", "has use_vm\n", false},
		{"as a word of another command", "echo use vm\n", false},
		{"another use", "use nix\nuse flake\n", false},
		{"a longer name", "use vmhook\nuse_vmx\n", false},
		{"in an array", "words=(use vm)\n", false},
		{"after a here-string", "cat <<< x\nuse_vm_not\n", false},
		{"in a subshell body never read", "vm() ( use vm )\n{ true; }\n", false},
		{"after a function with a subshell body", "vm() ( true )\n{ use vm; }\n", true},
		{"after a redirection", "exec 2>&1 && use vm\n", true},
		{"continued over lines", "has nix && \\\n  use vm\n", true},
	} {
		if got := saysUseVM([]byte(tc.envrc)); got != tc.want {
			t.Errorf("%s: saysUseVM(%q) = %v, want %v", tc.name, tc.envrc, got, tc.want)
		}
	}
}
