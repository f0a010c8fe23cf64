// Package fsprobe answers "can this path be idmapped?" and "which of my
// filesystems can?" by trying the real operation where it cannot be seen:
// open_tree(OPEN_TREE_CLONE) makes a detached copy of the mount that holds
// a path, mount_setattr(MOUNT_ATTR_IDMAP) idmaps the copy, and closing it
// frees it. Nothing is ever attached, so the mount table before and after
// a probe is the same.
//
// Each Result says yes, no or unknown, and why: the errno and a reason that
// tells apart a kernel without the system calls (ENOSYS), a caller without
// CAP_SYS_ADMIN, a filesystem that cannot be idmapped (EINVAL, confirmed by
// a control probe on a private, detached tmpfs so that a kernel-wide
// failure is not blamed on the filesystem) and a mount that is already
// idmapped (EPERM). Support is per mount, not per filesystem type: a FUSE
// server opts in for its own mount.
//
// Prober.Kernel finds, also by trying, what the kernel can do around
// idmapped mounts: overlayfs over idmapped layers, layers given as file
// descriptors, detached idmapped mounts as layers, and statmount reporting
// a mount's uid map; the two checks that need an attached mount attach it
// in a throwaway mount namespace of one thread. Prober.Matrix makes a scratch filesystem of every type this
// machine can make, on detached mounts and self-clearing loop devices, and
// probes each.
//
// Kernel floor: none to call it. The probes report "no" with ENOSYS below
// Linux 5.12 (mount_setattr); fsopen needs 5.2, LOOP_CONFIGURE (Matrix) 5.8.
// The control probe idmaps a tmpfs, which works since Linux 6.3: on 5.12
// to 6.2 an EINVAL is reported as "unknown" (kernel-refuses) rather than
// blamed on the filesystem. Needs root: the user
// namespace made for the probe and open_tree(OPEN_TREE_CLONE) need
// CAP_SYS_ADMIN, and without it every answer is "unknown".
//
// Do not use it as a permission check before mounting: the answer can
// change (a FUSE server restarts, a module loads), so a caller that means
// to mount should just mount and handle the error. Use it to choose
// between an idmapped mount and a chown ahead of time, to report, and to
// label nodes (NFD).
package fsprobe
