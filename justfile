# vmhook's tasks. `just` lists them.

default:
    @just --list

# Build vmhook and vmhook-enter into ./bin.
build:
    go build -tags urfave_cli_no_docs -o bin/ ./cmd/vmhook ./cmd/vmhook-enter

# Run the test suite (real-Lima tests skip without limactl).
test:
    go test -tags urfave_cli_no_docs -timeout 60m ./...

# gofmt, go vet and shellcheck on everything we ship (scripts/lint.sh, as CI).
lint:
    scripts/lint.sh

# Benchmarks: Go benchmarks, then the hyperfine scripts under bench/.
bench:
    go test -tags urfave_cli_no_docs -run '^$' -bench . -benchtime 2000x ./...
    bench/shell-decision.sh
    bench/hook/prompt.sh
    bench/hook/envrc.sh
    bench/hook/noproc.sh

# Real-VM entry against bare Lima: vm-shell, cd, shell -- true, cold up (boots VMs; as root).
bench-vm rounds="10":
    bench/vm.sh {{rounds}}

# Boot real VMs and walk the user flows (sets the machine up first; as root).
e2e:
    e2e/run.sh

# What CI runs: provision the machine, lint, test.
ci:
    bash .ci/run
