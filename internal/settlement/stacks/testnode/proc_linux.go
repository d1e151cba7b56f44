package testnode

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the node when the test binary dies without
// running its cleanups (a timeout panic, SIGKILL).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
