// Package hostcfg writes what other programs on the host read to reach or
// start a vmhook VM: an ssh_config host block, a WezTerm ssh domain, and a
// login item (a systemd user unit or a launchd agent) with the service manager
// calls that install it and report on it.
//
// It knows nothing of vmhook's core: callers pass in the VM's name, the paths
// Lima uses and the environment to record, as plain values. Every generator
// either quotes a value for its format or refuses it with a one-line error.
package hostcfg
