#compdef vmhook
# zsh completion for vmhook, printed by `vmhook completion zsh`. Either save it
# as _vmhook in a directory of $fpath, or load it in ~/.zshrc after compinit
# with: eval "$(vmhook completion zsh)"
#
# vmhook lists the commands or flags that may follow the words typed so far.

_vmhook() {
  emulate -L zsh
  local cur=${words[CURRENT]}
  local -a args=(${words[2,CURRENT-1]})
  # Past "--" come operands, so file names; and vmhook would run the command
  # for real, since "--" turns its completion flag into an operand.
  if (( ${args[(I)--]} )); then
    _files
    return
  fi
  # A dash asks for the flags of the current command; compadd keeps those
  # starting with what is typed.
  [[ $cur == -* ]] && args+=(-)
  local -a opts=(${(f)"$('@VMHOOK_BIN@' $args --generate-bash-completion </dev/null 2>/dev/null)"})
  if (( $#opts )); then
    compadd -- $opts
  else
    _files
  fi
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _vmhook "$@"
else
  compdef _vmhook vmhook
fi
