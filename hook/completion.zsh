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
  # A dash asks for the flags of the current command.
  [[ $cur == -* ]] && args+=($cur)
  local -a opts=(${(f)"$('@VMHOOK_BIN@' $args --generate-bash-completion 2>/dev/null)"})
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
