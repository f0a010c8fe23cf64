package main

import (
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
)

// shiftKillEnv, set to N, makes "idmapkit shift" SIGKILL itself right
// after its Nth write to the tree. The crash-consistency tests use it to
// kill a real shift at every point and check that a rerun finishes the
// job exactly.
const shiftKillEnv = "IDMAPKIT_TEST_KILL_AFTER"

func shiftKillHook() func() {
	n, err := strconv.ParseUint(os.Getenv(shiftKillEnv), 10, 64)
	if err != nil || n == 0 {
		return nil
	}
	var writes atomic.Uint64
	return func() {
		if writes.Add(1) == n {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; write nothing more
		}
	}
}
