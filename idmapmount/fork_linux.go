//go:build linux

package idmapmount

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The runtime hooks syscall.forkExec uses around a raw clone. They are a
// documented linkname target ("Do not remove or change the type
// signature", go.dev/issue/67401).

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// forkUserns clones a child into a new, empty user namespace and returns
// its pid; *pidfd receives a pidfd for it (CLONE_PIDFD, Linux 5.2). The
// child runs no Go code: it asks to be killed with its parent and blocks
// in ppoll until the caller kills it. Avoiding an exec makes this about ten
// times faster than starting /proc/self/exe stopped under ptrace.
//
//go:norace
//go:nosplit
func forkUserns(pidfd *int32) (pid uintptr, errno syscall.Errno) {
	runtimeBeforeFork()
	pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE,
		uintptr(unix.CLONE_NEWUSER|unix.CLONE_PIDFD|unix.SIGCHLD),
		0, uintptr(unsafe.Pointer(pidfd)), 0, 0, 0)
	if errno != 0 || pid != 0 {
		runtimeAfterFork()
		return pid, errno
	}
	// In the child: only raw system calls from here on.
	runtimeAfterForkInChild()
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	for {
		syscall.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
	}
}
