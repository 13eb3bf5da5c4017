# shellcheck shell=bash
# bash completion for vmhook, printed by `vmhook completion bash`. Load it in
# ~/.bashrc with: eval "$(vmhook completion bash)"
#
# vmhook lists the commands or flags that may follow the words typed so far.

_vmhook_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} word
  local -a args=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
  # Past "--" come operands, so file names; and vmhook would run the command
  # for real, since "--" turns its completion flag into an operand.
  for word in "${args[@]}"; do
    if [[ $word == -- ]]; then
      return 0
    fi
  done
  # A dash asks for the flags of the current command; compgen keeps those
  # starting with what is typed.
  if [[ $cur == -* ]]; then
    args+=(-)
  fi
  local -a words
  # The vmhook path is literal, whatever characters it holds.
  # shellcheck disable=SC2016
  mapfile -t words < <('@VMHOOK_BIN@' "${args[@]}" --generate-bash-completion </dev/null 2>/dev/null)
  mapfile -t COMPREPLY < <(compgen -W "${words[*]}" -- "$cur")
}

complete -o bashdefault -o default -F _vmhook_complete vmhook
