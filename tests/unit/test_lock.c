/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_lock.c - one cellgated per pin directory and state directory: the locks of lock.c */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/lock.h"

/* A private directory for the test's lock files. */
static int setup(void **state)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/cg-lock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	return system(cmd) == 0 ? 0 : -1;
}

/* Try the lock from a child process: its cg_lock_take() result (as an exit code) and message. */
static int take_in_child(const char *path, char *msg, size_t len)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256] = "";
		int fd = cg_lock_take(path, "pin directory 'x'", err, sizeof(err));

		(void)!write(pfd[1], err, strlen(err));
		_exit(fd >= 0 ? 0 : fd == -EBUSY ? 1 : 2);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_lock_second_taker_is_refused_with_the_holders_pid(void **state)
{
	char path[256], err[256], msg[256], want[64];
	int fd;

	snprintf(path, sizeof(path), "%s/sub/a.lock", (char *)*state);
	fd = cg_lock_take(path, "pin directory 'x'", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(take_in_child(path, msg, sizeof(msg)), 1);
	snprintf(want, sizeof(want), "another cellgated (pid %d) holds pin directory 'x'",
		 (int)getpid());
	assert_string_equal(msg, want);
	close(fd);
	/* released by close: the next taker gets it */
	assert_int_equal(take_in_child(path, msg, sizeof(msg)), 0);
}

static void test_lock_is_released_when_the_holder_is_killed(void **state)
{
	char path[256], msg[256];
	int pfd[2], status;
	pid_t pid;
	char c;

	snprintf(path, sizeof(path), "%s/k.lock", (char *)*state);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		if (cg_lock_take(path, "x", err, sizeof(err)) < 0)
			_exit(1);
		(void)!write(pfd[1], "y", 1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	assert_int_equal(take_in_child(path, msg, sizeof(msg)), 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(take_in_child(path, msg, sizeof(msg)), 0);
}

static void test_lock_path_is_the_same_for_every_spelling(void **state)
{
	char a[256], b[256], c[256];

	assert_int_equal(cg_lock_path("/run/x", "/sys/fs/bpf/cellgate", a, sizeof(a)), 0);
	assert_string_equal(a, "/run/x/pins%2fsys%2ffs%2fbpf%2fcellgate.lock");
	assert_int_equal(cg_lock_path("/run/x", "/sys/fs/bpf//cellgate/", b, sizeof(b)), 0);
	assert_int_equal(cg_lock_path("/run/x", "/sys/./fs/bpf/cellgate", c, sizeof(c)), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	/* names that could be read as paths or escapes are escaped */
	assert_int_equal(cg_lock_path("/run/x", "/p/a%2fb c", a, sizeof(a)), 0);
	assert_string_equal(a, "/run/x/pins%2fp%2fa%252fb%20c.lock");
	assert_int_equal(cg_lock_path("/run/x", "relative/dir", a, sizeof(a)), -EINVAL);
	assert_int_equal(cg_lock_path("/run/x", "/a/b", a, 12), -ENAMETOOLONG);
	(void)state;
}

static void test_lock_refuses_a_symlink_in_place_of_the_file(void **state)
{
	char path[256], target[256], err[256];

	snprintf(target, sizeof(target), "%s/target", (char *)*state);
	snprintf(path, sizeof(path), "%s/link.lock", (char *)*state);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(cg_lock_take(path, "state directory 's'", err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "cannot lock state directory 's': cannot open"));
	assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
}

static void test_lock_dir_others_can_write_is_refused(void **state)
{
	const char *dir = *state;
	char err[256], sub[256], file[256];

	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(cg_dir_check_safe(dir, "state directory", err, sizeof(err)), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(cg_dir_check_safe(dir, "state directory", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by others (mode 0777)"));
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(cg_dir_check_safe(dir, "state directory", err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(dir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/other", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chown(sub, 65534, 65534), 0);
	assert_int_equal(cg_dir_check_safe(sub, "socket directory", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 65534"));
	snprintf(file, sizeof(file), "%s/file", dir);
	assert_int_equal(close(open(file, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(cg_dir_check_safe(file, "state directory", err, sizeof(err)), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_second_taker_is_refused_with_the_holders_pid,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_is_released_when_the_holder_is_killed,
						setup, teardown),
		cmocka_unit_test(test_lock_path_is_the_same_for_every_spelling),
		cmocka_unit_test_setup_teardown(test_lock_refuses_a_symlink_in_place_of_the_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_dir_others_can_write_is_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
