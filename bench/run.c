// SPDX-License-Identifier: Apache-2.0
/*
 * One timed run: fork+exec the server in its own process group, retry connect+GET on 127.0.0.1
 * until the first HTTP 200, then kill and reap the whole tree and read its rusage.
 *
 * The harness makes itself a child subreaper, so processes that the server's tree orphans come
 * back to it: they are killed and reaped too, and their CPU time is counted.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

/* Time between two connect attempts: bounds the error of a result, costs the same everywhere. */
#define RETRY_NS 200000L
#define TAIL_LEN 600

struct run_ctx {
	pid_t pid;
	int errfd;
	bool exited;
	int status;
	struct rusage ru;
	struct bench_log log;
	char line[4096];
	size_t line_len;
	char tail[TAIL_LEN];
	size_t tail_len;
	double t0;
	double listen_ms;
	double total_ms;
};

static void tail_add(struct run_ctx *c, const char *buf, size_t n)
{
	if (n >= sizeof(c->tail)) {
		memcpy(c->tail, buf + n - (sizeof(c->tail) - 1), sizeof(c->tail) - 1);
		c->tail_len = sizeof(c->tail) - 1;
	} else {
		if (c->tail_len + n >= sizeof(c->tail)) {
			size_t drop = c->tail_len + n - (sizeof(c->tail) - 1);

			memmove(c->tail, c->tail + drop, c->tail_len - drop);
			c->tail_len -= drop;
		}
		memcpy(c->tail + c->tail_len, buf, n);
		c->tail_len += n;
	}
	c->tail[c->tail_len] = '\0';
}

static void line_add(struct run_ctx *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			bench_log_parse_line(&c->log, c->line, c->line_len);
			c->line_len = 0;
		} else if (c->line_len < sizeof(c->line) - 1) {
			c->line[c->line_len++] = buf[i];
		}
	}
}

/* Reads whatever the server wrote to stderr so far; the pipe never fills up. */
static void drain_stderr(struct run_ctx *c)
{
	char buf[4096];
	ssize_t n;

	while (c->errfd >= 0) {
		n = read(c->errfd, buf, sizeof(buf));
		if (n > 0) {
			tail_add(c, buf, (size_t)n);
			line_add(c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			close(c->errfd);
			c->errfd = -1;
		}
		break;
	}
}

/* A short one-line reason from the end of the server's stderr. */
static const char *tail_last_line(struct run_ctx *c)
{
	char *end = c->tail + c->tail_len;
	char *p;

	while (end > c->tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	p = end;
	while (p > c->tail && p[-1] != '\n')
		p--;
	return *p ? p : "(no output)";
}

static void child_exec(const struct bench_spec *spec, int errfd)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	dup2(errfd, STDERR_FILENO);
	if (spec->cwd && chdir(spec->cwd) < 0) {
		dprintf(STDERR_FILENO, "chdir %s: %s\n", spec->cwd, strerror(errno));
		_exit(127);
	}
	execve(spec->argv[0], spec->argv, spec->envp);
	dprintf(STDERR_FILENO, "exec %s: %s\n", spec->argv[0], strerror(errno));
	_exit(127);
}

static int ctx_start(struct run_ctx *c, const struct bench_spec *spec)
{
	int fds[2];

	memset(c, 0, sizeof(*c));
	c->errfd = -1;
	/* Orphans of the server's tree come back to us, so nothing outlives a run. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	c->t0 = bench_now_ms();
	c->pid = fork();
	if (c->pid < 0) {
		int err = -errno;

		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (c->pid == 0)
		child_exec(spec, fds[1]);
	close(fds[1]);
	c->errfd = fds[0];
	return 0;
}

static void wait_short(struct run_ctx *c, long ns)
{
	struct timespec ts = { 0, ns };
	struct pollfd pfd = { c->errfd, POLLIN, 0 };

	if (c->errfd >= 0) {
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			drain_stderr(c);
	} else {
		nanosleep(&ts, NULL);
	}
}

/* Polls @fd for @events and keeps stderr drained; 1 when ready, 0 on timeout. */
static int wait_fd(struct run_ctx *c, int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd pfd[2] = { { fd, events, 0 }, { c->errfd, POLLIN, 0 } };
		double left = deadline - bench_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(pfd, c->errfd >= 0 ? 2 : 1, (int)left + 1);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && pfd[1].revents)
			drain_stderr(c);
		if (r > 0 && pfd[0].revents)
			return 1;
	}
}

/* One connect + GET; returns the HTTP status, or -errno when the server is not there yet. */
static int try_get(struct run_ctx *c, const struct bench_spec *spec, double deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)spec->port) };
	char req[512], resp[64];
	size_t got = 0;
	int fd, err, status = -ECONNRESET;
	socklen_t len = sizeof(err);
	int n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto out;
		}
		if (wait_fd(c, fd, POLLOUT, deadline) <= 0) {
			status = -ETIMEDOUT;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			status = err ? -err : -errno;
			goto out;
		}
	}
	if (c->listen_ms == 0)
		c->listen_ms = bench_now_ms() - c->t0;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: knext-bench\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n",
		     spec->path, spec->port);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	/* The status line is all we need: "HTTP/1.1 200". */
	while (got < 12) {
		ssize_t r;

		if (wait_fd(c, fd, POLLIN, deadline) <= 0) {
			status = -ETIMEDOUT;
			goto out;
		}
		r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	resp[got] = '\0';
	if (strncmp(resp, "HTTP/1.", 7) == 0 && resp[8] == ' ')
		status = atoi(resp + 9);
out:
	close(fd);
	return status;
}

static int scan_children(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char path[64], buf[512], *p;
		FILE *f;
		int ppid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name) >= (int)sizeof(path))
			continue;
		f = fopen(path, "re");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* "pid (comm) state ppid": comm may hold spaces and parentheses. */
		if (!p || !(p = strrchr(buf, ')')))
			continue;
		if (sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == self)
			out[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/* Kills and reaps every child of ours, and every orphan that comes back; max peak RSS seen. */
static long reap_tree(void)
{
	long maxrss = 0;
	double deadline = bench_now_ms() + 10000;

	while (bench_now_ms() < deadline) {
		pid_t kids[256];
		int n = scan_children(kids, 256);
		struct rusage ru;
		int st;
		pid_t p;

		for (int i = 0; i < n; i++) {
			kill(-kids[i], SIGKILL);
			kill(kids[i], SIGKILL);
		}
		p = wait4(-1, &st, n ? 0 : WNOHANG, &ru);
		if (p > 0) {
			if (ru.ru_maxrss > maxrss)
				maxrss = ru.ru_maxrss;
			continue;
		}
		if (p < 0 && errno == ECHILD)
			break;
		if (p == 0) {
			/* Children left, none dead yet: they are on their way out. */
			struct timespec ts = { 0, 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return maxrss;
}

/**
 * bench_reap_all() - kill and reap every child of the calling process (and returned orphans).
 *
 * Return: 0.
 */
int bench_reap_all(void)
{
	reap_tree();
	return 0;
}

/* Waits for the first 200; 0 when it came, -errno with @reason filled otherwise. */
static int ctx_wait_200(struct run_ctx *c, const struct bench_spec *spec, char *reason,
			size_t reason_len)
{
	double deadline = c->t0 + spec->timeout_ms;
	int last = 0;

	for (;;) {
		int r = try_get(c, spec, deadline);

		if (r == 200) {
			c->total_ms = bench_now_ms() - c->t0;
			return 0;
		}
		if (r > 0)
			last = r;
		if (!c->exited && wait4(c->pid, &c->status, WNOHANG, &c->ru) == c->pid)
			c->exited = true;
		if (c->exited) {
			drain_stderr(c);
			snprintf(reason, reason_len, "exited (%s %d) before the first 200: %s",
				 WIFSIGNALED(c->status) ? "signal" : "status",
				 WIFSIGNALED(c->status) ? WTERMSIG(c->status) :
							  WEXITSTATUS(c->status),
				 tail_last_line(c));
			return -ECHILD;
		}
		if (bench_now_ms() >= deadline) {
			drain_stderr(c);
			if (last)
				snprintf(reason, reason_len,
					 "no 200 within %d ms (last status %d): %s",
					 spec->timeout_ms, last, tail_last_line(c));
			else
				snprintf(reason, reason_len, "no 200 within %d ms: %s",
					 spec->timeout_ms, tail_last_line(c));
			return -ETIMEDOUT;
		}
		wait_short(c, RETRY_NS);
	}
}

/* Ends the run: @sig to the main process (SIGTERM waits up to @wait_ms), then the whole tree. */
static long ctx_finish(struct run_ctx *c, int sig, int wait_ms)
{
	long maxrss = 0;

	if (!c->exited) {
		double deadline = bench_now_ms() + wait_ms;

		kill(c->pid, sig);
		if (sig != SIGKILL) {
			while (bench_now_ms() < deadline) {
				if (wait4(c->pid, &c->status, WNOHANG, &c->ru) == c->pid) {
					c->exited = true;
					break;
				}
				drain_stderr(c);
				wait_short(c, 1000000L);
			}
		}
		if (!c->exited) {
			kill(-c->pid, SIGKILL);
			kill(c->pid, SIGKILL);
			if (wait4(c->pid, &c->status, 0, &c->ru) == c->pid)
				c->exited = true;
		}
	}
	maxrss = c->ru.ru_maxrss;
	kill(-c->pid, SIGKILL);
	{
		long more = reap_tree();

		if (more > maxrss)
			maxrss = more;
	}
	drain_stderr(c);
	if (c->line_len) {
		bench_log_parse_line(&c->log, c->line, c->line_len);
		c->line_len = 0;
	}
	if (c->errfd >= 0)
		close(c->errfd);
	c->errfd = -1;
	return maxrss;
}

static double cpu_ms(const struct rusage *a, const struct rusage *b)
{
	return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) * 1e3 +
	       (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e3 +
	       (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) * 1e3 +
	       (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e3;
}

/**
 * bench_run_once() - time one start of a server to its first HTTP 200.
 * @spec:       what to start and where to ask
 * @out:        filled with the run's figures on success
 * @reason:     filled with a one-line reason on failure
 * @reason_len: size of @reason
 *
 * The whole process tree is killed with SIGKILL after the 200 (or the failure) and reaped; its
 * CPU time is the difference of the caller's RUSAGE_CHILDREN around the run, so the caller must
 * not reap other children concurrently.
 *
 * Return: 0, -ECHILD when the server exited first, -ETIMEDOUT, or another -errno.
 */
int bench_run_once(const struct bench_spec *spec, struct bench_sample *out, char *reason,
		   size_t reason_len)
{
	struct rusage before, after, self0, self1;
	struct run_ctx *c;
	long maxrss;
	int err;

	memset(out, 0, sizeof(*out));
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	getrusage(RUSAGE_CHILDREN, &before);
	getrusage(RUSAGE_SELF, &self0);
	err = ctx_start(c, spec);
	if (err) {
		snprintf(reason, reason_len, "fork: %s", strerror(-err));
		free(c);
		return err;
	}
	err = ctx_wait_200(c, spec, reason, reason_len);
	getrusage(RUSAGE_SELF, &self1);
	maxrss = ctx_finish(c, SIGKILL, 0);
	getrusage(RUSAGE_CHILDREN, &after);
	if (!err) {
		out->total_ms = c->total_ms;
		out->listen_ms = c->listen_ms;
		out->maxrss_kb = maxrss;
		out->cpu_ms = cpu_ms(&before, &after);
		out->harness_cpu_ms = cpu_ms(&self0, &self1);
		bench_phases_split(&c->log, out->total_ms, out->listen_ms, &out->phases);
	}
	free(c);
	return err;
}

/**
 * bench_warm_server() - start a server, wait for its first 200, GET once more, stop it gently.
 * @spec:         what to start
 * @term_wait_ms: how long SIGTERM may take before SIGKILL
 * @reason:       filled with a one-line reason on failure
 * @reason_len:   size of @reason
 *
 * Used to fill caches that a runtime writes at exit (Node's NODE_COMPILE_CACHE).
 *
 * Return: 0, or -errno with @reason filled.
 */
int bench_warm_server(const struct bench_spec *spec, int term_wait_ms, char *reason,
		      size_t reason_len)
{
	struct run_ctx *c = malloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = ctx_start(c, spec);
	if (err) {
		snprintf(reason, reason_len, "fork: %s", strerror(-err));
		free(c);
		return err;
	}
	err = ctx_wait_200(c, spec, reason, reason_len);
	if (!err)
		try_get(c, spec, bench_now_ms() + spec->timeout_ms);
	ctx_finish(c, SIGTERM, term_wait_ms);
	free(c);
	return err;
}

/**
 * bench_run_cmd() - run a command to completion and capture its output.
 * @argv:       program (absolute path) and arguments
 * @envp:       its environment
 * @cwd:        working directory, or NULL
 * @timeout_ms: killed after this long
 * @exit_code:  its exit code, 128+signal when killed
 * @output:     stdout and stderr, NUL-terminated and cut to fit
 * @output_len: size of @output
 *
 * Return: 0 when it ran (whatever its exit code), -ETIMEDOUT, or another -errno.
 */
int bench_run_cmd(char *const argv[], char *const envp[], const char *cwd, int timeout_ms,
		  int *exit_code, char *output, size_t output_len)
{
	int fds[2];
	size_t got = 0;
	double deadline = bench_now_ms() + timeout_ms;
	int st = 0, err = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		if (cwd && chdir(cwd) < 0)
			_exit(127);
		execve(argv[0], argv, envp);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		double left = deadline - bench_now_ms();
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)left + 1) <= 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (output_len && got < output_len - 1) {
			size_t take =
				(size_t)n < output_len - 1 - got ? (size_t)n : output_len - 1 - got;

			memcpy(output + got, buf, take);
			got += take;
		}
	}
	close(fds[0]);
	if (output_len)
		output[got] = '\0';
	if (err)
		kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	kill(-pid, SIGKILL);
	*exit_code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return err;
}

/**
 * bench_free_port() - find a TCP port on 127.0.0.1 that nothing listens on right now.
 * @port: the port
 *
 * Return: 0 or -errno.
 */
int bench_free_port(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, err = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		err = -errno;
	else
		*port = ntohs(sa.sin_port);
	close(fd);
	return err;
}
