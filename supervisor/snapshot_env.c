// SPDX-License-Identifier: Apache-2.0
/*
 * The check that a pod may use a startup snapshot: its record (kind 8, FORMAT.md) against this
 * start's app directory, runtime binary and environment. Shared by PID 1 (exec mode) and
 * knext-node (the embedded restore), so it depends on libc alone.
 */
#include "supervisor/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

/* Appends @s to @why as one more name of a list ("a, b"); a full buffer ends with "...". */
static void why_add(char *why, size_t why_len, const char *s, size_t n)
{
	size_t at = strlen(why);

	if (at + n + 6 >= why_len) {
		if (at + 4 < why_len && (at < 3 || strcmp(why + at - 3, "...") != 0))
			strcpy(why + at, "...");
		return;
	}
	if (at > 0 && why[at - 1] != ' ')
		why[at++] = ',', why[at++] = ' ';
	memcpy(why + at, s, n);
	why[at + n] = '\0';
}

/* Whether @raw, escaped as the builder escapes values (\\ and \n), equals @esc (@n bytes). */
static int escaped_equal(const char *raw, const char *esc, size_t n)
{
	size_t i = 0;

	for (; *raw; raw++) {
		if (*raw == '\\' || *raw == '\n') {
			if (i + 2 > n || esc[i] != '\\' ||
			    esc[i + 1] != (*raw == '\\' ? '\\' : 'n'))
				return 0;
			i += 2;
		} else {
			if (i >= n || esc[i] != *raw)
				return 0;
			i++;
		}
	}
	return i == n;
}

/* One line of the record at *@p (before @end): "KEY VALUE", the key in @key/@klen, the rest in
 * @val/@vlen; *@p moves to the next line. -1 for a line without a space. */
static int next_line(const char **p, const char *end, const char **key, size_t *klen,
		     const char **val, size_t *vlen)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	const char *sp = memchr(*p, ' ', n);

	if (!sp)
		return -1;
	*key = *p;
	*klen = (size_t)(sp - *p);
	*val = sp + 1;
	*vlen = n - *klen - 1;
	*p = nl ? nl + 1 : end;
	return 0;
}

/* The name of an environment line ("env NAME=VALUE" or "unset NAME", @line past the key) into
 * @name, and for "env" where the escaped value begins; -1 for a malformed line. */
static int env_line_name(const char *line, size_t n, int set, char name[256], const char **value)
{
	const char *eq = set ? memchr(line, '=', n) : line + n;
	size_t name_len = (size_t)(eq ? eq - line : 0);

	if (!eq || name_len == 0 || name_len >= 256 || memchr(line, '\\', name_len))
		return -1;
	memcpy(name, line, name_len);
	name[name_len] = '\0';
	*value = set ? eq + 1 : NULL;
	return 0;
}

/* One environment line of the record: 1 when the process's environment agrees, 0 when not (the
 * name goes to @why), -1 for a malformed line. */
static int env_line_ok(const char *line, size_t n, int set, char *why, size_t why_len)
{
	char name[256];
	const char *value, *have;
	int same;

	if (env_line_name(line, n, set, name, &value) < 0)
		return -1;
	have = getenv(name);
	if (set)
		same = have && escaped_equal(have, value, (size_t)(line + n - value));
	else
		same = !have;
	if (!same)
		why_add(why, why_len, name, strlen(name));
	return same;
}

/* A decimal of at most 19 digits, the whole of @n bytes; -1 otherwise. */
static long long number(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int snapshot_env_check(const char *rec, size_t len, const char *app, const char *exe, char *why,
		       size_t why_len)
{
	char names[512] = "";
	const char *p = rec, *end = rec + len;
	int version = 0, app_ok = 0, exe_ok = exe == NULL;
	long long size = -1, mtime = -1;
	struct stat st;

	why[0] = '\0';
	while (p < end) {
		const char *k, *sp;
		size_t klen, n;

		if (next_line(&p, end, &k, &klen, &sp, &n) < 0)
			goto bad;
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(k, s, sizeof(s) - 1) == 0)
		if (KEY("knext-snapshot")) {
			version = n == 1 && *sp == '1';
		} else if (KEY("app")) {
			app_ok = escaped_equal(app, sp, n);
		} else if (KEY("exe")) {
			exe_ok = exe == NULL || escaped_equal(exe, sp, n);
		} else if (KEY("exe-size")) {
			size = number(sp, n);
		} else if (KEY("exe-mtime-ns")) {
			mtime = number(sp, n);
		} else if (KEY("env") || KEY("unset")) {
			if (env_line_ok(sp, n, KEY("env"), names, sizeof(names)) < 0)
				goto bad;
		}
#undef KEY
	}
	if (!version)
		goto bad;
	if (!app_ok) {
		snprintf(why, why_len, "made for another app directory than %s", app);
		return -ESTALE;
	}
	if (exe && exe_ok &&
	    (stat(exe, &st) < 0 || st.st_size != size ||
	     (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != mtime))
		exe_ok = 0;
	if (!exe_ok) {
		snprintf(why, why_len, "made by another runtime than %s", exe);
		return -ESTALE;
	}
	if (names[0]) {
		snprintf(why, why_len, "the environment differs in %s", names);
		return -ESTALE;
	}
	return 0;
bad:
	snprintf(why, why_len, "unreadable snapshot record");
	return -EBADMSG;
}

int snapshot_env_apply(const char *rec, size_t len)
{
	const char *p = rec, *end = rec + len;

	while (p < end) {
		const char *k, *line, *value;
		size_t klen, n, k_out = 0;
		char name[256], *raw;
		int set;

		if (next_line(&p, end, &k, &klen, &line, &n) < 0)
			return -EBADMSG;
		set = klen == 3 && memcmp(k, "env", 3) == 0;
		if (!set && !(klen == 5 && memcmp(k, "unset", 5) == 0))
			continue;
		if (env_line_name(line, n, set, name, &value) < 0)
			return -EBADMSG;
		if (!set) {
			if (unsetenv(name) < 0)
				return -EBADMSG;
			continue;
		}
		if (!(raw = malloc(n + 1)))
			return -ENOMEM;
		/* The builder's escapes: \\ and \n. */
		for (const char *v = value; v < line + n; v++) {
			char c = *v;

			if (c == '\\' && v + 1 < line + n) {
				c = v[1] == 'n' ? '\n' : v[1];
				v++;
			}
			raw[k_out++] = c;
		}
		raw[k_out] = '\0';
		if (setenv(name, raw, 1) < 0) {
			free(raw);
			return -EBADMSG;
		}
		free(raw);
	}
	return 0;
}

uint64_t snapshot_blob_hash(const char *version, const char *arch)
{
	char key[96];
	int n = snprintf(key, sizeof(key), "node-%s-%s", version, arch);

	return XXH3_64bits(key, n > 0 && (size_t)n < sizeof(key) ? (size_t)n : 0);
}
