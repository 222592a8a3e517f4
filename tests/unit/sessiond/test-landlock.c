/*
 * Landlock (sessiond/landlock.h) against a hostile agent: each test forks a child that drops
 * to nobody, applies a spec and then tries to get around it. A scratch tree, owned by nobody
 * so that file permissions never stand in Landlock's way, holds
 *   ro/      read-only:   file, dir/, true (an executable), script.sh
 *   rw/      read-write:  data, true, links out (to-secret, to-secret-dir, to-ro-file)
 *   rwx/     read-write-execute: true
 *   secret/  not in any rule: file, dir/, tool (an executable)
 * Tests that need a newer ABI than the kernel's are skipped; the degraded levels are
 * simulated with mxc_landlock_apply_abi().
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "fs.h"
#include "landlock.h"
#include "util.h"

static char dir[64], ro[96], rw[96], rwx[96], secret[96];

/* dir/rel in one of a few rotating buffers: good for the arguments of one call. */
static const char *P(const char *base, const char *rel)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];
	snprintf(b, PATH_MAX, "%s/%s", base, rel);
	return b;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(mxc_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void copy_true(const char *to)
{
	static char buf[1 << 20];
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(in, 0);
	ssize_t n = mxc_read_full(in, buf, sizeof(buf));
	close(in);
	cr_assert_gt(n, 0);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(out, 0);
	cr_assert_eq(mxc_write_all(out, buf, (size_t)n), 0);
	close(out);
}

static void chown_tree(const char *path)
{
	const char *argv[] = { "chown", "-R", "65534:65534", path, NULL };
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void make_tree(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mxc-test-ll-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	snprintf(rw, sizeof(rw), "%s/rw", dir);
	snprintf(rwx, sizeof(rwx), "%s/rwx", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	const char *dirs[] = { ro, rw, rwx, secret, P(ro, "dir"), P(secret, "dir") };
	for (size_t i = 0; i < MXC_ARRAY_SIZE(dirs); i++)
		cr_assert_eq(mkdir(dirs[i], 0755), 0, "%s: %s", dirs[i], strerror(errno));
	write_file(P(ro, "file"), "ro", 0644);
	write_file(P(ro, "script.sh"), "#!/bin/sh\nexit 0\n", 0755);
	write_file(P(rw, "data"), "rw", 0644);
	write_file(P(secret, "file"), "secret", 0644);
	copy_true(P(ro, "true"));
	copy_true(P(rw, "true"));
	copy_true(P(rwx, "true"));
	copy_true(P(secret, "tool"));
	cr_assert_eq(symlink(P(secret, "file"), P(rw, "to-secret")), 0);
	cr_assert_eq(symlink(secret, P(rw, "to-secret-dir")), 0);
	cr_assert_eq(symlink(P(ro, "file"), P(rw, "to-ro-file")), 0);
	chown_tree(dir);
}

static void remove_tree(void)
{
	mxc_rm_rf(dir);
}

TestSuite(landlock, .init = make_tree, .fini = remove_tree, .timeout = 60);

static void need_abi(int abi)
{
	if (mxc_landlock_abi() < abi)
		cr_skip_test("needs Landlock ABI %d, the kernel has %d", abi, mxc_landlock_abi());
}

/* ---- specs, built in the child ---- */

struct spec {
	struct mxc_landlock_path paths[32];
	struct mxc_landlock_spec s;
};

static void spec_add(struct spec *sp, const char *path, unsigned access)
{
	EXPECT(sp->s.n_paths < MXC_ARRAY_SIZE(sp->paths), "too many paths");
	sp->paths[sp->s.n_paths++] =
		(struct mxc_landlock_path){ .path = path ? strdup(path) : NULL, .access = access };
}

/* What any program needs to start: the system read-only and executable, /proc, /dev/null. */
static void spec_system(struct spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->s.paths = sp->paths;
	spec_add(sp, "/usr", MXC_LL_READ | MXC_LL_EXEC);
	spec_add(sp, "/bin", MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL);
	spec_add(sp, "/lib", MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL);
	spec_add(sp, "/lib64", MXC_LL_READ | MXC_LL_EXEC | MXC_LL_OPTIONAL);
	spec_add(sp, "/etc", MXC_LL_READ);
	spec_add(sp, "/proc", MXC_LL_READ);
	spec_add(sp, "/dev/null", MXC_LL_READ | MXC_LL_WRITE);
}

/* The scratch tree's rules on top of the system's. */
static void spec_tree(struct spec *sp)
{
	spec_system(sp);
	spec_add(sp, ro, MXC_LL_READ);
	spec_add(sp, rw, MXC_LL_READ | MXC_LL_WRITE);
	spec_add(sp, rwx, MXC_LL_READ | MXC_LL_WRITE | MXC_LL_EXEC);
}

static void apply_abi(struct spec *sp, int abi, char ***missing)
{
	struct mxc_error err = { 0 };
	int r = mxc_landlock_apply_abi(&sp->s, abi, missing, &err);
	EXPECT(r == 0, "mxc_landlock_apply_abi(%d): %s (%d)", abi, err.msg, r);
}

static void apply(struct spec *sp)
{
	apply_abi(sp, MXC_LANDLOCK_ABI_MAX, NULL);
}

/* nobody, confined to the scratch tree's spec. */
static void confine_tree(void)
{
	struct spec sp;
	child_become_nobody();
	spec_tree(&sp);
	apply(&sp);
}

static bool file_is(const char *path, const char *text)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 && strcmp(buf, text) == 0;
}

/* Runs argv[0] and returns its exit status, or -1. */
static int run(const char *path, const char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(path, (char **)argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* ---- files ---- */

static void reads_outside(void *arg)
{
	confine_tree();
	EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(secret, O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(secret, "dir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open("/var", O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	/* What is listed stays readable. */
	EXPECT(file_is(P(ro, "file"), "ro"), "cannot read %s", P(ro, "file"));
	EXPECT(file_is(P(rw, "data"), "rw"), "cannot read %s", P(rw, "data"));
	EXPECT_OK(open(ro, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	EXPECT_OK(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
}

Test(landlock, reads_outside_the_allowed_paths_are_denied)
{
	need_abi(1);
	CHILD_OK(reads_outside, NULL);
}

static int bind_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	int r = bind(s, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	close(s);
	errno = e;
	return r;
}

static void writes_outside(void *arg)
{
	confine_tree();
	EXPECT_ERRNO(open(P(ro, "file"), O_WRONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(ro, "file"), O_RDWR | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(ro, "file"), O_WRONLY | O_APPEND | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(ro, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EACCES);
	EXPECT_ERRNO(mkdir(P(ro, "d"), 0755), EACCES);
	EXPECT_ERRNO(unlink(P(ro, "file")), EACCES);
	EXPECT_ERRNO(rmdir(P(ro, "dir")), EACCES);
	EXPECT_ERRNO(symlink("file", P(ro, "sl")), EACCES);
	EXPECT_ERRNO(mkfifo(P(ro, "fifo"), 0644), EACCES);
	EXPECT_ERRNO(bind_unix(P(ro, "sock")), EACCES);
	EXPECT_ERRNO(rename(P(ro, "file"), P(ro, "file2")), EACCES);
	EXPECT_ERRNO(open(P(secret, "file"), O_WRONLY | O_APPEND | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(secret, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EACCES);
	EXPECT_ERRNO(mkdir(P(secret, "d"), 0755), EACCES);
	/* Device nodes are never granted, not even in a writable tree: a whiteout (0:0) needs
	 * no capability, so only Landlock refuses it. */
	EXPECT_ERRNO(mknod(P(rw, "whiteout"), S_IFCHR | 0600, makedev(0, 0)), EACCES);

	/* The writable tree takes every ordinary kind of file. */
	int fd = (int)EXPECT_OK(open(P(rw, "new"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
	EXPECT_OK(write(fd, "x", 1));
	close(fd);
	EXPECT(file_is(P(rw, "new"), "x"), "wrote nothing");
	EXPECT_OK(mkdir(P(rw, "d"), 0755));
	EXPECT_OK(symlink("new", P(rw, "sl")));
	EXPECT_OK(mkfifo(P(rw, "fifo"), 0644));
	EXPECT_OK(bind_unix(P(rw, "sock")));
	EXPECT_OK(rename(P(rw, "new"), P(rw, "renamed")));
	EXPECT_OK(unlink(P(rw, "renamed")));
	EXPECT_OK(rmdir(P(rw, "d")));
}

Test(landlock, writes_outside_the_writable_paths_are_denied)
{
	need_abi(1);
	CHILD_OK(writes_outside, NULL);
}

static void through_symlinks(void *arg)
{
	confine_tree();
	EXPECT_ERRNO(open(P(rw, "to-secret"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(rw, "to-secret-dir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(rw, "to-secret-dir/file"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(rw, "to-ro-file"), O_WRONLY | O_CLOEXEC), EACCES);
	/* A link the agent makes itself leads nowhere either. */
	EXPECT_OK(symlink(P(secret, "file"), P(rw, "mine")));
	EXPECT_ERRNO(open(P(rw, "mine"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_OK(symlink("/", P(rw, "root")));
	EXPECT_ERRNO(open(P(rw, "root/var"), O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	/* The target's own rule counts, not the link's place. */
	EXPECT(file_is(P(rw, "to-ro-file"), "ro"), "cannot read through a link to ro/");
}

Test(landlock, symbolic_links_do_not_lead_out)
{
	need_abi(1);
	CHILD_OK(through_symlinks, NULL);
}

static void through_dotdot(void *arg)
{
	confine_tree();
	EXPECT_ERRNO(open(P(rw, "../secret/file"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(P(rw, "../ro/file"), O_WRONLY | O_CLOEXEC), EACCES);
	int rwfd = (int)EXPECT_OK(open(rw, O_PATH | O_DIRECTORY | O_CLOEXEC));
	EXPECT_ERRNO(openat(rwfd, "../secret/file", O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(openat(rwfd, "../../../../../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT_OK(chdir(rw));
	EXPECT_ERRNO(open("../secret/file", O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open("..", O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
	EXPECT(file_is("../ro/file", "ro"), "cannot read ../ro/file");
}

Test(landlock, dot_dot_does_not_lead_out)
{
	need_abi(1);
	CHILD_OK(through_dotdot, NULL);
}

static void through_proc(void *arg)
{
	/* Opened before the domain: a path-only descriptor cannot be upgraded afterwards. */
	int file = open(P(secret, "file"), O_PATH | O_CLOEXEC);
	int sdir = open(secret, O_PATH | O_DIRECTORY | O_CLOEXEC);
	EXPECT(file >= 0 && sdir >= 0, "cannot open the secrets: %s", strerror(errno));
	confine_tree();
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/root%s/file", secret);
	EXPECT_ERRNO(open(path, O_RDONLY | O_CLOEXEC), EACCES);
	snprintf(path, sizeof(path), "/proc/%d/root%s/file", getpid(), secret);
	EXPECT_ERRNO(open(path, O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_OK(chdir(rw));
	EXPECT_ERRNO(open("/proc/self/cwd/../secret/file", O_RDONLY | O_CLOEXEC), EACCES);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file);
	EXPECT_ERRNO(open(path, O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(open(path, O_WRONLY | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(openat(sdir, "file", O_RDONLY | O_CLOEXEC), EACCES);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/file", sdir);
	EXPECT_ERRNO(open(path, O_RDONLY | O_CLOEXEC), EACCES);
}

Test(landlock, proc_self_root_cwd_and_fds_do_not_lead_out)
{
	need_abi(1);
	CHILD_OK(through_proc, NULL);
}

static void links_and_renames(void *arg)
{
	confine_tree();
	/* Hard links into the writable tree, of files it cannot reach or only read. */
	EXPECT_ERRNO(link(P(secret, "file"), P(rw, "stolen")), EXDEV);
	EXPECT_ERRNO(link(P(ro, "file"), P(rw, "ro-link")), EXDEV);
	EXPECT_ERRNO(link(P(rw, "data"), P(ro, "planted")), EACCES);
	/* Renames in and out of the writable tree, both ways and swapped. */
	EXPECT_ERRNO(rename(P(secret, "file"), P(rw, "stolen")), EACCES);
	EXPECT_ERRNO(rename(P(ro, "file"), P(rw, "stolen")), EACCES);
	EXPECT_ERRNO(rename(P(rw, "data"), P(ro, "planted")), EACCES);
	EXPECT_ERRNO(rename(P(rw, "data"), P(secret, "planted")), EACCES);
	EXPECT_ERRNO(renameat2(AT_FDCWD, P(rw, "data"), AT_FDCWD, P(ro, "file"), RENAME_EXCHANGE),
		     EACCES);
	EXPECT_ERRNO(renameat2(AT_FDCWD, P(rw, "data"), AT_FDCWD, P(secret, "file"),
			       RENAME_EXCHANGE),
		     EACCES);
	EXPECT_OK(mkdir(P(rw, "sub"), 0755));
	EXPECT_ERRNO(rename(P(rw, "sub"), P(ro, "sub")), EACCES);
	/* Within the writable tree, links and moves between directories work. */
	EXPECT_OK(link(P(rw, "data"), P(rw, "data-link")));
	EXPECT_OK(rename(P(rw, "data"), P(rw, "sub/data")));
	EXPECT_OK(link(P(rw, "sub/data"), P(rw, "data-again")));
}

Test(landlock, links_and_renames_cannot_cross_hierarchies)
{
	need_abi(2);
	CHILD_OK(links_and_renames, NULL);
}

static void gaining_rights(void *arg)
{
	confine_tree();
	/* rw/ -> rwx/ would make the file executable: refused. */
	EXPECT_ERRNO(rename(P(rw, "data"), P(rwx, "data")), EXDEV);
	EXPECT_ERRNO(link(P(rw, "data"), P(rwx, "data")), EXDEV);
	EXPECT_ERRNO(rename(P(rw, "true"), P(rwx, "true2")), EXDEV);
	/* Losing rights is fine. */
	EXPECT_OK(rename(P(rwx, "true"), P(rw, "true2")));
}

Test(landlock, a_move_cannot_gain_rights)
{
	need_abi(2);
	CHILD_OK(gaining_rights, NULL);
}

static void exec_rights(void *arg)
{
	confine_tree();
	const char *argv[] = { "x", NULL };
	EXPECT_ERRNO(execv(P(ro, "true"), (char **)argv), EACCES);
	EXPECT_ERRNO(execv(P(ro, "script.sh"), (char **)argv), EACCES);
	EXPECT_ERRNO(execv(P(rw, "true"), (char **)argv), EACCES);
	EXPECT_ERRNO(execv(P(secret, "tool"), (char **)argv), EACCES);
	const char *sh[] = { "sh", "-c", "exit 7", NULL };
	int st = run("/bin/sh", sh);
	EXPECT(st == 7, "/bin/sh -c 'exit 7' returned %d", st);
	st = run(P(rwx, "true"), argv);
	EXPECT(st == 0, "rwx/true returned %d", st);
}

Test(landlock, execution_needs_the_exec_right)
{
	need_abi(1);
	CHILD_OK(exec_rights, NULL);
}

static void truncation(void *arg)
{
	confine_tree();
	EXPECT_ERRNO(truncate(P(ro, "file"), 0), EACCES);
	EXPECT_ERRNO(open(P(ro, "file"), O_RDONLY | O_TRUNC | O_CLOEXEC), EACCES);
	EXPECT_ERRNO(truncate(P(secret, "file"), 0), EACCES);
	EXPECT(file_is(P(ro, "file"), "ro"), "ro/file was truncated");
	EXPECT_OK(truncate(P(rw, "data"), 1));
	EXPECT(file_is(P(rw, "data"), "r"), "rw/data was not truncated");
	int fd = (int)EXPECT_OK(open(P(rw, "data"), O_RDWR | O_TRUNC | O_CLOEXEC));
	EXPECT_OK(ftruncate(fd, 10));
	close(fd);
}

Test(landlock, truncation_needs_the_write_right)
{
	need_abi(3);
	CHILD_OK(truncation, NULL);
}

/* ---- devices ---- */

static void device_ioctl(void *arg)
{
	bool dev = arg != NULL;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	spec_add(&sp, "/dev/ptmx", MXC_LL_READ | MXC_LL_WRITE | (dev ? MXC_LL_DEV : 0));
	apply(&sp);
	int fd = (int)EXPECT_OK(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
	unsigned n;
	int one = 1;
	if (dev)
		EXPECT_OK(ioctl(fd, TIOCGPTN, &n));
	else
		EXPECT_ERRNO(ioctl(fd, TIOCGPTN, &n), EACCES);
	EXPECT_OK(ioctl(fd, FIONBIO, &one)); /* the generic file ioctls are always allowed */
}

Test(landlock, device_ioctls_need_the_dev_right)
{
	need_abi(5);
	CHILD_OK(device_ioctl, NULL);
	CHILD_OK(device_ioctl, (void *)1);
}

/* ---- TCP ---- */

static int tcp_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s, 16), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return s;
}

/* connect() or bind() to the loopback address of family on port; -1 with errno on failure. */
static int tcp_try(int family, int port, bool do_bind)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr *a = family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6;
	socklen_t len = family == AF_INET ? sizeof(a4) : sizeof(a6);
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	int r = do_bind ? bind(s, a, len) : connect(s, a, len);
	int e = errno;
	close(s);
	errno = e;
	return r;
}

struct ports {
	int allowed, other;
};

static void tcp_ports(void *arg)
{
	const struct ports *p = arg;
	uint16_t allowed = (uint16_t)p->allowed;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	sp.s.restrict_tcp_connect = sp.s.restrict_tcp_bind = true;
	sp.s.connect_ports = &allowed;
	sp.s.n_connect = 1;
	sp.s.bind_ports = &allowed;
	sp.s.n_bind = 1;
	apply(&sp);
	EXPECT_OK(tcp_try(AF_INET, p->allowed, false));
	EXPECT_ERRNO(tcp_try(AF_INET, p->other, false), EACCES);
	EXPECT_ERRNO(tcp_try(AF_INET, p->other, true), EACCES);
	EXPECT_ERRNO(tcp_try(AF_INET, 0, true), EACCES);
	/* Landlock lets the bind through; the port is taken by the listener. */
	EXPECT_ERRNO(tcp_try(AF_INET, p->allowed, true), EADDRINUSE);
	int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s6 >= 0) {
		close(s6);
		EXPECT_ERRNO(tcp_try(AF_INET6, p->other, false), EACCES);
		/* Allowed, and nobody listens there on IPv6. */
		EXPECT(tcp_try(AF_INET6, p->allowed, false) < 0 && errno != EACCES,
		       "IPv6 connect to the allowed port: %s", strerror(errno));
	}
}

static void tcp_unrestricted(void *arg)
{
	const struct ports *p = arg;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	apply(&sp);
	EXPECT_OK(tcp_try(AF_INET, p->other, false));
}

/* Connecting restricted, binding not (how sessions use it): any port may be bound. */
static void tcp_connect_only(void *arg)
{
	const struct ports *p = arg;
	uint16_t allowed = (uint16_t)p->allowed;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	sp.s.restrict_tcp_connect = true;
	sp.s.connect_ports = &allowed;
	sp.s.n_connect = 1;
	apply(&sp);
	EXPECT_OK(tcp_try(AF_INET, p->allowed, false));
	EXPECT_ERRNO(tcp_try(AF_INET, p->other, false), EACCES);
	EXPECT_OK(tcp_try(AF_INET, 0, true));
}

Test(landlock, tcp_bind_and_connect_follow_the_port_lists)
{
	need_abi(4);
	struct ports p;
	int a = tcp_listener(&p.allowed), b = tcp_listener(&p.other);
	CHILD_OK(tcp_ports, &p);
	CHILD_OK(tcp_unrestricted, &p);
	CHILD_OK(tcp_connect_only, &p);
	close(a);
	close(b);
}

/* ---- scopes ---- */

static int abstract_socket(const char *name, int type, bool do_connect)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	int r;
	if (do_connect) {
		r = type == SOCK_DGRAM ? (int)sendto(s, "x", 1, 0, (struct sockaddr *)&a, len)
				       : connect(s, (struct sockaddr *)&a, len);
		int e = errno;
		close(s);
		errno = e;
		return r < 0 ? -1 : 0;
	}
	if (bind(s, (struct sockaddr *)&a, len) < 0 || (type == SOCK_STREAM && listen(s, 64) < 0)) {
		close(s);
		return -1;
	}
	return s;
}

static void abstract_unix(void *arg)
{
	const char *outside = arg;
	char name[128];
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	sp.s.scope_abstract_unix = true;
	apply(&sp);
	snprintf(name, sizeof(name), "%s-stream", outside);
	EXPECT_ERRNO(abstract_socket(name, SOCK_STREAM, true), EPERM);
	snprintf(name, sizeof(name), "%s-dgram", outside);
	EXPECT_ERRNO(abstract_socket(name, SOCK_DGRAM, true), EPERM);
	/* Sockets made inside the domain stay reachable. */
	snprintf(name, sizeof(name), "%s-inside", outside);
	EXPECT_OK(abstract_socket(name, SOCK_STREAM, false));
	EXPECT_OK(abstract_socket(name, SOCK_STREAM, true));
}

Test(landlock, abstract_sockets_made_outside_the_domain_are_unreachable)
{
	need_abi(6);
	char base[64], name[96];
	snprintf(base, sizeof(base), "mxc-test-ll-%d", getpid());
	snprintf(name, sizeof(name), "%s-stream", base);
	int a = abstract_socket(name, SOCK_STREAM, false);
	snprintf(name, sizeof(name), "%s-dgram", base);
	int b = abstract_socket(name, SOCK_DGRAM, false);
	cr_assert(a >= 0 && b >= 0, "%s", strerror(errno));
	CHILD_OK(abstract_unix, base);
	close(a);
	close(b);
}

/*
 * A process of nobody's outside any domain, dumpable so that the only thing between it and
 * the attacker is Landlock; returns once it is nobody's.
 */
static pid_t spawn_victim(void)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* after the uid change, which clears it */
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	cr_assert_eq(read(p[0], &c, 1), 1, "the process outside the domain did not start");
	close(p[0]);
	return pid;
}

static void end_victim(pid_t pid)
{
	int st;
	cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the process outside the domain was hit");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

static void signals(void *arg)
{
	pid_t victim = *(pid_t *)arg;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	sp.s.scope_signals = true;
	apply(&sp);
	EXPECT_ERRNO(kill(victim, SIGTERM), EPERM);
	EXPECT_ERRNO(kill(victim, 0), EPERM);
	EXPECT_ERRNO(syscall(SYS_tgkill, victim, victim, SIGKILL), EPERM);
	int pidfd = (int)syscall(SYS_pidfd_open, victim, 0);
	if (pidfd >= 0)
		EXPECT_ERRNO(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), EPERM);
	/* Inside the domain: children and the process itself. */
	pid_t in = fork();
	EXPECT(in >= 0, "fork: %s", strerror(errno));
	if (in == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	EXPECT_OK(kill(in, SIGTERM));
	int st;
	EXPECT(waitpid(in, &st, 0) == in && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
	       "the child inside the domain was not signalled");
	EXPECT_OK(kill(getpid(), 0));
}

Test(landlock, signals_to_processes_outside_the_domain_are_refused)
{
	need_abi(6);
	pid_t victim = spawn_victim();
	CHILD_OK(signals, &victim);
	end_victim(victim);
}

static void tracing(void *arg)
{
	pid_t victim = *(pid_t *)arg;
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	apply(&sp);
	EXPECT_ERRNO(ptrace(PTRACE_ATTACH, victim, NULL, NULL), EPERM);
	EXPECT_ERRNO(ptrace(PTRACE_SEIZE, victim, NULL, NULL), EPERM);
}

Test(landlock, processes_outside_the_domain_cannot_be_traced)
{
	need_abi(1);
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = 0;
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope > 0)
		cr_skip_test("Yama restricts ptrace on this host (ptrace_scope %d)", scope);
	pid_t victim = spawn_victim();
	CHILD_OK(tracing, &victim);
	end_victim(victim);
}

/* ---- the spec itself ---- */

static void missing_path(void *arg)
{
	struct spec sp;
	struct mxc_error err = { 0 };
	child_become_nobody();
	spec_tree(&sp);
	spec_add(&sp, "/nonexistent-mxc/here", MXC_LL_READ);
	int r = mxc_landlock_apply(&sp.s, NULL, &err);
	EXPECT(r == -ENOENT, "a missing path gave %d (%s)", r, err.msg);
	EXPECT(strstr(err.msg, "/nonexistent-mxc/here"), "the error does not name the path: %s",
	       err.msg);
	EXPECT(file_is(P(secret, "file"), "secret"), "a failed apply restricted the process");
	sp.paths[sp.s.n_paths - 1].access |= MXC_LL_OPTIONAL;
	apply(&sp);
	EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
}

Test(landlock, a_missing_path_is_an_error_unless_optional)
{
	need_abi(1);
	CHILD_OK(missing_path, NULL);
}

static void without_nnp(void *arg)
{
	struct spec sp;
	struct mxc_error err = { 0 };
	spec_tree(&sp);
	int r = mxc_landlock_apply(&sp.s, NULL, &err);
	EXPECT(r == -EPERM, "applied without no_new_privs: %d", r);
	EXPECT(strstr(err.msg, "no_new_privs"), "unclear message: %s", err.msg);
	EXPECT(file_is(P(secret, "file"), "secret"), "a refused apply restricted the process");
}

Test(landlock, refuses_without_no_new_privs)
{
	CHILD_OK(without_nnp, NULL);
}

static void bad_specs(void *arg)
{
	struct spec sp;
	struct mxc_error err = { 0 };
	child_become_nobody();
	spec_tree(&sp);
	spec_add(&sp, "relative/path", MXC_LL_READ);
	EXPECT(mxc_landlock_apply(&sp.s, NULL, &err) == -EINVAL, "a relative path was taken");
	sp.s.n_paths--;
	spec_add(&sp, ro, 1u << 20);
	EXPECT(mxc_landlock_apply(&sp.s, NULL, &err) == -EINVAL, "unknown bits were taken");
	sp.s.n_paths--;
	spec_add(&sp, NULL, MXC_LL_READ);
	sp.paths[sp.s.n_paths - 1].fd = -1;
	EXPECT(mxc_landlock_apply(&sp.s, NULL, &err) == -EBADF, "a rule without a path was taken");
	EXPECT(file_is(P(secret, "file"), "secret"), "a refused apply restricted the process");
}

Test(landlock, malformed_rules_are_refused)
{
	need_abi(1);
	CHILD_OK(bad_specs, NULL);
}

static void file_rules(void *arg)
{
	struct spec sp;
	child_become_nobody();
	spec_system(&sp);
	/* Every right on files: those that only mean something for directories are left out. */
	spec_add(&sp, P(rw, "data"), MXC_LL_READ | MXC_LL_WRITE | MXC_LL_EXEC | MXC_LL_LIST);
	spec_add(&sp, "/dev/zero", MXC_LL_READ | MXC_LL_WRITE | MXC_LL_DEV);
	apply(&sp);
	int fd = (int)EXPECT_OK(open(P(rw, "data"), O_WRONLY | O_TRUNC | O_CLOEXEC));
	EXPECT_OK(write(fd, "z", 1));
	close(fd);
	EXPECT(file_is(P(rw, "data"), "z"), "the file rule did not allow writing");
	EXPECT_OK(open("/dev/zero", O_RDWR | O_CLOEXEC));
	/* A file rule gives nothing to its directory. */
	EXPECT_ERRNO(open(P(rw, "other"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EACCES);
	EXPECT_ERRNO(open(rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES);
}

Test(landlock, rules_on_files_take_only_file_rights)
{
	need_abi(1);
	CHILD_OK(file_rules, NULL);
}

static void fd_rules(void *arg)
{
	struct spec sp;
	child_become_nobody();
	int tool = open(P(secret, "tool"), O_PATH | O_CLOEXEC);
	EXPECT(tool >= 0, "cannot open the tool: %s", strerror(errno));
	spec_system(&sp);
	spec_add(&sp, NULL, MXC_LL_READ | MXC_LL_EXEC);
	sp.paths[sp.s.n_paths - 1].fd = tool;
	apply(&sp);
	pid_t pid = fork();
	EXPECT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		const char *argv[] = { "tool", NULL };
		syscall(SYS_execveat, tool, "", argv, environ, AT_EMPTY_PATH);
		_exit(127);
	}
	int st;
	EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the program named by descriptor did not run");
	const char *argv[] = { "tool", NULL };
	EXPECT(run(P(secret, "tool"), argv) == 0, "the same file by its path did not run");
	EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
}

Test(landlock, a_descriptor_rule_covers_the_file_it_names)
{
	need_abi(1);
	CHILD_OK(fd_rules, NULL);
}

static void no_symlinks(void *arg)
{
	struct spec sp;
	struct mxc_error err = { 0 };
	child_become_nobody();
	spec_tree(&sp);
	spec_add(&sp, P(rw, "to-secret-dir"), MXC_LL_READ | MXC_LL_NO_SYMLINKS);
	int r = mxc_landlock_apply(&sp.s, NULL, &err);
	EXPECT(r == -ELOOP && strstr(err.msg, "to-secret-dir"), "a symlinked path was taken: %d %s",
	       r, err.msg);
	sp.paths[sp.s.n_paths - 1].path = P(rw, "sub/../to-secret-dir/file");
	r = mxc_landlock_apply(&sp.s, NULL, &err);
	EXPECT(r == -ELOOP, "a path through a symlink was taken: %d %s", r, err.msg);
	sp.paths[sp.s.n_paths - 1].path = ro;
	apply(&sp);
	EXPECT(file_is(P(ro, "file"), "ro"), "cannot read ro/");
	EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
}

Test(landlock, no_symlinks_refuses_a_path_through_a_link)
{
	need_abi(1);
	cr_assert_eq(mkdir(P(rw, "sub"), 0755), 0);
	CHILD_OK(no_symlinks, NULL);
}

/* ---- ABI levels ---- */

struct abi_case {
	int abi;
	bool ask_all; /* TCP, both scopes and logging */
	const char *missing;
};

static void missing_list(void *arg)
{
	const struct abi_case *c = arg;
	struct spec sp;
	char **missing = NULL, joined[256] = "";
	child_become_nobody();
	spec_tree(&sp);
	if (c->ask_all) {
		sp.s.restrict_tcp_connect = sp.s.restrict_tcp_bind = true;
		sp.s.scope_abstract_unix = sp.s.scope_signals = true;
		sp.s.log_denials = true;
	}
	apply_abi(&sp, c->abi, &missing);
	EXPECT(missing != NULL, "no list");
	for (char **m = missing; *m; m++)
		snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
			 m == missing ? "" : ",", *m);
	EXPECT(strcmp(joined, c->missing) == 0, "ABI %d: missing \"%s\", expected \"%s\"", c->abi,
	       joined, c->missing);
	if (c->abi == 0)
		EXPECT(file_is(P(secret, "file"), "secret"), "ABI 0 enforced something");
	else
		EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
}

Test(landlock, each_abi_reports_what_it_cannot_enforce)
{
	static const struct abi_case cases[] = {
		{ 0, true,
		  "filesystem,truncate,tcp ports,device ioctls,abstract unix scope,signal scope,"
		  "denial logging" },
		{ 1, true,
		  "truncate,tcp ports,device ioctls,abstract unix scope,signal scope,denial logging" },
		{ 2, true,
		  "truncate,tcp ports,device ioctls,abstract unix scope,signal scope,denial logging" },
		{ 3, true, "tcp ports,device ioctls,abstract unix scope,signal scope,denial logging" },
		{ 4, true, "device ioctls,abstract unix scope,signal scope,denial logging" },
		{ 5, true, "abstract unix scope,signal scope,denial logging" },
		{ 6, true, "denial logging" },
		{ 7, true, "" },
		{ 0, false, "filesystem,truncate,device ioctls" },
		{ 3, false, "device ioctls" },
		{ 5, false, "" },
		{ 7, false, "" },
	};
	int kernel = mxc_landlock_abi();
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++)
		if (cases[i].abi <= kernel)
			CHILD_OK(missing_list, (void *)&cases[i]);
	if (kernel < MXC_LANDLOCK_ABI_MAX)
		cr_log_info("Landlock ABI %d: levels above it were not tested", kernel);
}

struct level {
	int abi;
	const struct ports *ports;
	const char *abstract;
};

/* Applies the tree's spec, asking for everything, at level->abi. */
static void confine_at(const struct level *l)
{
	struct spec sp;
	uint16_t none = 1;
	child_become_nobody();
	spec_tree(&sp);
	spec_add(&sp, "/dev/ptmx", MXC_LL_READ | MXC_LL_WRITE);
	sp.s.restrict_tcp_connect = sp.s.restrict_tcp_bind = true;
	sp.s.scope_abstract_unix = sp.s.scope_signals = true;
	sp.s.connect_ports = &none;
	sp.s.n_connect = 1;
	apply_abi(&sp, l->abi, NULL);
}

/* Each level enforces what it knows and nothing it does not (the previous level's
 * shortcoming is the next level's refusal). */
static void levels(void *arg)
{
	const struct level *l = arg;
	confine_at(l);
	EXPECT_ERRNO(open(P(secret, "file"), O_RDONLY | O_CLOEXEC), EACCES);
	EXPECT_OK(mkdir(P(rw, "sub"), 0755));
	if (l->abi < 2)
		EXPECT_ERRNO(rename(P(rw, "data"), P(rw, "sub/data")), EXDEV);
	else
		EXPECT_OK(rename(P(rw, "data"), P(rw, "sub/data")));
	if (l->abi < 3)
		EXPECT_OK(truncate(P(ro, "file"), 1));
	else
		EXPECT_ERRNO(truncate(P(ro, "file"), 1), EACCES);
	if (l->abi < 4)
		EXPECT_OK(tcp_try(AF_INET, l->ports->other, false));
	else
		EXPECT_ERRNO(tcp_try(AF_INET, l->ports->other, false), EACCES);
	int fd = (int)EXPECT_OK(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
	unsigned n;
	if (l->abi < 5)
		EXPECT_OK(ioctl(fd, TIOCGPTN, &n));
	else
		EXPECT_ERRNO(ioctl(fd, TIOCGPTN, &n), EACCES);
	char name[96];
	snprintf(name, sizeof(name), "%s-stream", l->abstract);
	if (l->abi < 6)
		EXPECT_OK(abstract_socket(name, SOCK_STREAM, true));
	else
		EXPECT_ERRNO(abstract_socket(name, SOCK_STREAM, true), EPERM);
}

Test(landlock, each_abi_enforces_what_it_knows)
{
	need_abi(1);
	struct ports p;
	int a = tcp_listener(&p.allowed), b = tcp_listener(&p.other);
	char base[64], name[96];
	snprintf(base, sizeof(base), "mxc-test-ll-levels-%d", getpid());
	snprintf(name, sizeof(name), "%s-stream", base);
	int u = abstract_socket(name, SOCK_STREAM, false);
	cr_assert_geq(u, 0);
	for (int abi = 1; abi <= mxc_landlock_abi(); abi++) {
		/* Each level starts from a fresh tree. */
		if (abi > 1) {
			remove_tree();
			make_tree();
		}
		struct level l = { abi, &p, base };
		CHILD_OK(levels, &l);
	}
	close(a);
	close(b);
	close(u);
}

Test(landlock, abi_is_reported)
{
	int abi = mxc_landlock_abi();
	cr_assert(abi >= 0 && abi <= MXC_LANDLOCK_ABI_MAX, "ABI %d", abi);
	long raw = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u);
	if (raw > 0)
		cr_assert_eq(abi, raw > MXC_LANDLOCK_ABI_MAX ? MXC_LANDLOCK_ABI_MAX : raw);
	else
		cr_assert_eq(abi, 0);
}
