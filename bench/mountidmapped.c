/*
 * The C reference for bench/mount.sh: the system calls brauner's
 * mount-idmapped makes for "--map-mount b:FROM:TO:COUNT SOURCE TARGET"
 * (a clone(CLONE_NEWUSER) helper that stops itself, its uid_map and
 * gid_map written, its user namespace opened, the helper killed, then
 * open_tree(OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP) and
 * move_mount), with no option parsing beyond that. Written for timing
 * only: Debian does not package mount-idmapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int stop_self(void *arg)
{
	(void)arg;
	return kill(getpid(), SIGSTOP);
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, map, strlen(map));
	close(fd);
	return n == (ssize_t)strlen(map) ? 0 : -1;
}

static int userns_fd(const char *map)
{
	size_t size = 1 << 20;
	char *stack = malloc(size);
	pid_t pid = clone(stop_self, stack + size, CLONE_NEWUSER | SIGCHLD, NULL);
	if (pid < 0)
		return -1;
	int fd = -1;
	if (write_map(pid, "uid_map", map) == 0 && write_map(pid, "gid_map", map) == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(stack);
	return fd;
}

int main(int argc, char **argv)
{
	char kind;
	unsigned long from, to, count;
	char map[96];

	if (argc != 5 || strcmp(argv[1], "--map-mount") != 0 ||
	    sscanf(argv[2], "%c:%lu:%lu:%lu", &kind, &from, &to, &count) != 4 || kind != 'b') {
		fprintf(stderr, "usage: %s --map-mount b:FROM:TO:COUNT SOURCE TARGET\n", argv[0]);
		return 2;
	}
	snprintf(map, sizeof(map), "%lu %lu %lu\n", from, to, count);
	int tree = syscall(SYS_open_tree, AT_FDCWD, argv[3], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		perror("open_tree");
		return 1;
	}
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	int userns = userns_fd(map);
	if (userns < 0) {
		perror("user namespace");
		return 1;
	}
	attr.userns_fd = userns;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		perror("mount_setattr");
		return 1;
	}
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[4], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		perror("move_mount");
		return 1;
	}
	return 0;
}
