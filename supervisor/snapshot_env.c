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

/* One environment line of the record: "env NAME=VALUE" or "unset NAME". 1 when the process's
 * environment agrees, 0 when not (the name goes to @why), -1 for a malformed line. */
static int env_line_ok(const char *line, size_t n, int set, char *why, size_t why_len)
{
	char name[256];
	const char *eq = set ? memchr(line, '=', n) : line + n, *have;
	size_t name_len = (size_t)(eq ? eq - line : 0);
	int same;

	if (!eq || name_len == 0 || name_len >= sizeof(name) || memchr(line, '\\', name_len))
		return -1;
	memcpy(name, line, name_len);
	name[name_len] = '\0';
	have = getenv(name);
	if (set)
		same = have && escaped_equal(have, eq + 1, n - name_len - 1);
	else
		same = !have;
	if (!same)
		why_add(why, why_len, name, name_len);
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
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		size_t n = (size_t)((nl ? nl : end) - p), klen;

		sp = memchr(p, ' ', n);
		if (!sp)
			goto bad;
		klen = (size_t)(sp - p);
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, sizeof(k) - 1) == 0)
		n -= klen + 1;
		sp++;
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
		p = nl ? nl + 1 : end;
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
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char name[256], *value;
		const char *eq;

		if (n > 6 && memcmp(p, "unset ", 6) == 0 && n - 6 < sizeof(name)) {
			memcpy(name, p + 6, n - 6);
			name[n - 6] = '\0';
			if (unsetenv(name) < 0)
				return -EBADMSG;
		} else if (n > 4 && memcmp(p, "env ", 4) == 0 && (eq = memchr(p + 4, '=', n - 4)) &&
			   eq > p + 4 && (size_t)(eq - p - 4) < sizeof(name)) {
			size_t name_len = (size_t)(eq - p - 4), vlen = n - 4 - name_len - 1, k = 0;

			memcpy(name, p + 4, name_len);
			name[name_len] = '\0';
			if (!(value = malloc(vlen + 1)))
				return -ENOMEM;
			/* The builder's escapes: \\ and \n. */
			for (size_t i = 0; i < vlen; i++) {
				char c = eq[1 + i];

				if (c == '\\' && i + 1 < vlen) {
					c = eq[2 + i] == 'n' ? '\n' : eq[2 + i];
					i++;
				}
				value[k++] = c;
			}
			value[k] = '\0';
			if (setenv(name, value, 1) < 0) {
				free(value);
				return -EBADMSG;
			}
			free(value);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

uint64_t snapshot_blob_hash(const char *version, const char *arch)
{
	char key[96];
	int n = snprintf(key, sizeof(key), "node-%s-%s", version, arch);

	return XXH3_64bits(key, n > 0 && (size_t)n < sizeof(key) ? (size_t)n : 0);
}
