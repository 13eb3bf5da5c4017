# vmhook's fish hook, printed by `vmhook init fish`. Load it in
# ~/.config/fish/config.fish, after direnv's hook:
#
#   direnv hook fish | source
#   vmhook init fish | source
#
# At each prompt, once direnv has loaded the project's environment, it enters
# the project's VM when VMHOOK_VM (exported by `use vm`) names a project other
# than the last one this shell handled. It runs builtins only while nothing
# changes.

# __vmhook_bin runs the vmhook that printed this hook.
function __vmhook_bin
    '@VMHOOK_BIN@' $argv
end

# __vmhook_shell enters a project's VM: vmhook-enter, which repeats vmhook's
# last decision for the project while nothing it depends on has changed,
# when it was installed beside vmhook, otherwise `vmhook shell`.
function __vmhook_shell
    '@VMHOOK_ENTER@' $argv
end

# __vmhook_run runs `vmhook CMD ARGS…` for the project direnv loaded, if any.
function __vmhook_run
    if test "$argv[1]" = shell -a -n "$VMHOOK_PROJECT"
        __vmhook_shell --project $VMHOOK_PROJECT $argv[2..-1]
    else if test -n "$VMHOOK_PROJECT"
        __vmhook_bin $argv[1] --project $VMHOOK_PROJECT $argv[2..-1]
    else
        __vmhook_bin $argv
    end
end

function vm-shell --description "enter this project's VM"
    __vmhook_run shell $argv
end
function vm-start --description "start this project's VM"
    __vmhook_run start $argv
end
function vm-stop --description "stop this project's VM"
    __vmhook_run stop $argv
end
function vm-status --description "show this project's VM"
    __vmhook_run status $argv
end
function vm-destroy --description "delete this project's VM"
    __vmhook_run destroy $argv
end

# __vmhook_enter is called once per visit to a project.
function __vmhook_enter
    # Inside the VM, cd into the project must not try to enter it again.
    test -z "$SYSINIT_IN_VM"; or return 0
    if test -n "$SYSINIT_NO_AUTO_VM"
        printf 'vmhook: auto-entry off (SYSINIT_NO_AUTO_VM); run vm-shell to enter %s\n' $VMHOOK_VM >&2
        return 0
    end
    # Scripts, pipes and IDEs resolving the environment get no VM.
    test -t 0; and test -t 1; or return 0
    __vmhook_run shell
end

# __vmhook_check remembers the project before entering, so a failed entry, or
# leaving the VM, never retries on the next prompt; leaving the project
# forgets it, so coming back enters again.
function __vmhook_check
    if test -z "$VMHOOK_VM"
        set -e __vmhook_last
    else if test "$VMHOOK_VM" != "$__vmhook_last"
        set -g __vmhook_last $VMHOOK_VM
        __vmhook_enter
    end
end

# __vmhook_pwd forgets the project as soon as the shell leaves its directory,
# so that leaving and coming back on one command line (`cd ..; cd app`),
# which direnv's variables do not show, enters again.
function __vmhook_pwd --on-variable PWD
    if set -q __vmhook_last; and begin
            test -z "$VMHOOK_PROJECT"
            # A literal prefix test: the path may hold glob characters.
            or test (string sub -l (string length -- "$VMHOOK_PROJECT/") -- "$PWD/") != "$VMHOOK_PROJECT/"
        end
        set -e __vmhook_last
    end
end

# fish runs the handlers of an event in the order they were defined, and keeps
# $status for the prompt by itself. direnv exports in its own fish_prompt
# handler, so this one must be defined after it: erasing first moves it to the
# end, and evaluating this file again never adds a second one.
function __vmhook_register
    functions -e __vmhook_prompt
    function __vmhook_prompt --on-event fish_prompt
        if not set -q __vmhook_after_direnv; and functions -q __direnv_export_eval
            __vmhook_reorder
            return
        end
        __vmhook_check
    end
end

# __vmhook_reorder runs once when direnv's hook was loaded after this one:
# its handler would run after ours at every prompt, so ours sees the
# environment one prompt late. Move ours to the end, and for this prompt let
# direnv export first.
function __vmhook_reorder
    set -g __vmhook_after_direnv 1
    __vmhook_register
    __direnv_export_eval
    __vmhook_check
end

if functions -q __direnv_export_eval
    set -g __vmhook_after_direnv 1
else
    set -e __vmhook_after_direnv
end
__vmhook_register

# vmhook doctor reads this to tell whether the shell running it has the hook.
set -gx VMHOOK_HOOK "fish $fish_pid"
