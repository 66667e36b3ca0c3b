// SPDX-License-Identifier: Apache-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cachefs/fileio.h"

/* Writes "abcdef" in three pieces with pauses, then closes: the reader sees short reads. */
static void *trickle(void *arg)
{
	int fd = *(int *)arg;

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(write(fd, "abcdef" + 2 * i, 2), 2);
		usleep(20000);
	}
	close(fd);
	return NULL;
}

/* read_upto() of @len bytes from a pipe that @writer fills (and closes) on its own thread. */
static ssize_t read_from(void *(*writer)(void *), char *buf, size_t len)
{
	int p[2];
	pthread_t t;
	ssize_t n;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pthread_create(&t, NULL, writer, &p[1]), 0);
	n = read_upto(p[0], buf, len);
	pthread_join(t, NULL);
	close(p[0]);
	return n;
}

Test(fileio, short_reads_are_joined_until_the_end)
{
	char buf[16] = "";

	/* More wanted than there is: the whole of it, then the end of the file. */
	cr_assert_eq(read_from(trickle, buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "abcdef");
}

Test(fileio, stops_at_len)
{
	int p[2];
	char buf[4] = "";

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "abcdef", 6), 6);
	cr_assert_eq(read_upto(p[0], buf, 3), 3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	close(p[0]);
	close(p[1]);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Writes "xy" after the reader was interrupted by SIGALRM once. */
static void *late(void *arg)
{
	int fd = *(int *)arg;
	sigset_t alarm;

	/* The alarm is for the reader's thread. */
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm, NULL);
	usleep(100000);
	cr_assert_eq(write(fd, "xy", 2), 2);
	close(fd);
	return NULL;
}

Test(fileio, a_signal_does_not_end_the_read)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: read() gets EINTR */
	char buf[8] = "";

	sigaction(SIGALRM, &sa, NULL);
	ualarm(30000, 0);
	cr_assert_eq(read_from(late, buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "xy");
}

Test(fileio, a_bad_descriptor_is_an_error)
{
	char buf[4];

	cr_assert_eq(read_upto(-1, buf, sizeof(buf)), -EBADF);
}
