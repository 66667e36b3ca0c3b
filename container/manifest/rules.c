// SPDX-License-Identifier: Apache-2.0
/*
 * The value rules the cluster applies, written down once for the NextApp validation and the
 * Service check: Kubernetes names, environment variable names, quantities (k8s.io/apimachinery),
 * Go durations (Knative parses its duration annotations with time.ParseDuration) and image
 * references (go-containerregistry's pkg/name as vendored by knative.dev/serving, v0.20.3, which
 * the webhook calls with name.WeakValidation). Each rule names the function it follows.
 */
#include <ctype.h>
#include <strings.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* k8s.io/apimachinery util/validation IsDNS1123Label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
bool mf_dns_label(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		if (lower_alnum(s[i]))
			continue;
		if (s[i] == '-' && i != 0 && i != n - 1)
			continue;
		return false;
	}
	return true;
}

/* util/validation IsDNS1035Label (NameIsDNS1035Label): a DNS-1123 label starting with a letter. */
bool mf_dns1035_label(const char *s)
{
	return mf_dns_label(s, 63) && s[0] >= 'a' && s[0] <= 'z';
}

/* util/validation IsDNS1123Subdomain: dot-separated DNS-1123 labels, <= 253 in all. */
bool mf_dns_subdomain(const char *s)
{
	char label[254];
	const char *p = s, *dot;
	size_t n;

	if (!*s || strlen(s) > 253)
		return false;
	for (;;) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63)
			return false;
		memcpy(label, p, n);
		label[n] = '\0';
		if (!mf_dns_label(label, 63))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

/*
 * util/validation IsRelaxedEnvVarName, the rule the API server applies to container env names
 * since RelaxedEnvironmentVariableValidation is on by default: non-empty, printable ASCII, no '='.
 */
bool mf_env_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '=')
			return false;
	return true;
}

/* util/validation IsConfigMapKey: [-._a-zA-Z0-9]+, <= 253, not "." or "..". */
bool mf_config_key(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || !strcmp(s, ".") || !strcmp(s, "..") || !strncmp(s, "..", 2))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* util/validation IsValidLabelValue: empty, or ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], <= 63. */
bool mf_label_value(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0)
		return true;
	if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/*
 * apimachinery api/resource ParseQuantity: [+-]?digits[.digits] then a binary suffix (Ki..Ei), a
 * decimal one (n u m "" k M G T P E) or an exponent (e|E)[+-]?digits. The value is for
 * comparisons (requests <= limits): the digits are kept as an integer and scaled by one exact
 * power of two and one exact power of ten, so equal quantities ("1", "1000m", "1e0") compare equal.
 */
bool mf_quantity_value(const char *s, long double *out)
{
	static const struct {
		const char *sfx;
		int pow2, pow10;
	} sfx[] = {
		{ "Ki", 10, 0 }, { "Mi", 20, 0 }, { "Gi", 30, 0 }, { "Ti", 40, 0 },
		{ "Pi", 50, 0 }, { "Ei", 60, 0 }, { "n", 0, -9 },  { "u", 0, -6 },
		{ "m", 0, -3 },	 { "", 0, 0 },	  { "k", 0, 3 },   { "M", 0, 6 },
		{ "G", 0, 9 },	 { "T", 0, 12 },  { "P", 0, 15 },  { "E", 0, 18 },
	};
	long double v = 0, ten = 1;
	const char *p = s;
	bool neg = false, digits = false;
	int pow2 = 0, pow10 = 0, ex = 0, sign = 1, i;
	size_t k;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; isdigit((unsigned char)*p); p++, digits = true)
		v = v * 10 + (*p - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits = true, pow10--)
			v = v * 10 + (*p - '0');
	if (!digits)
		return false;
	if ((*p == 'e' || *p == 'E') &&
	    (isdigit((unsigned char)p[1]) ||
	     ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		p++;
		if (*p == '+' || *p == '-')
			sign = *p++ == '-' ? -1 : 1;
		for (; isdigit((unsigned char)*p) && ex < 10000; p++)
			ex = ex * 10 + (*p - '0');
		if (*p)
			return false;
		pow10 += sign * ex;
	} else {
		for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++)
			if (!strcmp(p, sfx[k].sfx))
				break;
		if (k == sizeof(sfx) / sizeof(sfx[0]))
			return false;
		pow2 = sfx[k].pow2;
		pow10 += sfx[k].pow10;
	}
	for (i = 0; i < pow2; i++)
		v *= 2;
	for (i = 0; i < (pow10 < 0 ? -pow10 : pow10) && i < 4000; i++)
		ten *= 10;
	v = pow10 < 0 ? v / ten : v * ten;
	*out = neg ? -v : v;
	return true;
}

bool mf_quantity(const char *s)
{
	long double v;

	return mf_quantity_value(s, &v);
}

/*
 * Go's time.ParseDuration, which Knative's annotation validation uses: an optional sign, then "0"
 * or one or more decimal numbers (fraction allowed) each with a unit ns us µs μs ms s m h, in any
 * order. Sets @ns to the duration in nanoseconds.
 */
bool mf_go_duration(const char *s, long long *ns)
{
	static const struct {
		const char *unit;
		long double mul;
	} units[] = {
		{ "ns", 1 },	{ "us", 1e3L }, { "\xc2\xb5s", 1e3L }, { "\xce\xbcs", 1e3L },
		{ "ms", 1e6L }, { "s", 1e9L },	{ "m", 60e9L },	       { "h", 3600e9L },
	};
	long double total = 0;
	const char *p = s;
	bool neg = false;
	size_t i, best;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*ns = 0;
		return true;
	}
	if (!*p)
		return false;
	while (*p) {
		long double v = 0, scale = 1;
		bool digits = false;

		for (; isdigit((unsigned char)*p); p++, digits = true)
			v = v * 10 + (*p - '0');
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++, digits = true)
				v += (*p - '0') * (scale /= 10);
		if (!digits)
			return false;
		/* The longest unit that matches: "ms" before "m". */
		best = sizeof(units) / sizeof(units[0]);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strncmp(p, units[i].unit, strlen(units[i].unit)) &&
			    (best == sizeof(units) / sizeof(units[0]) ||
			     strlen(units[i].unit) > strlen(units[best].unit)))
				best = i;
		if (best == sizeof(units) / sizeof(units[0]))
			return false;
		p += strlen(units[best].unit);
		total += v * units[best].mul;
		if (total > 9223372036854775807.0L)
			return false;
	}
	*ns = (long long)(neg ? -total : total);
	return true;
}

static int why(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int why(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (size) {
		va_start(ap, fmt);
		vsnprintf(buf, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* pkg/name checkElement: @min..@max characters, each from @allowed. */
static int check_element(const char *what, const char *s, size_t n, const char *allowed, size_t min,
			 size_t max, char *buf, size_t size)
{
	size_t i;

	if (n < min || n > max)
		return why(buf, size, "image %s \"%.*s\" must be %zu to %zu characters long", what,
			   (int)(n > 80 ? 80 : n), s, min, max);
	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return why(buf, size, "image %s \"%.*s\" contains '%c': allowed are %s",
				   what, (int)(n > 80 ? 80 : n), s,
				   isprint((unsigned char)s[i]) ? s[i] : '?',
				   allowed[0] == 'a' && strchr(allowed, 'A') ?
					   "letters, digits, '_', '-' and '.'" :
					   "lowercase letters, digits, '_', '-', '.' and '/'");
	return 0;
}

/*
 * pkg/name checkRegistry: "//" + name must parse as a URL whose host is name: host characters
 * (RFC 3986 unreserved and sub-delims, or a bracketed IPv6 address) and an optional numeric port.
 */
static int check_registry(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, host = n;

	for (i = n; i > 0; i--) {
		if (s[i - 1] == ']')
			break;
		if (s[i - 1] == ':') {
			host = i - 1;
			break;
		}
	}
	for (i = host + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return why(buf, size, "image registry \"%.*s\" has an invalid port", (int)n,
				   s);
	for (i = 0; i < host; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._~!$&'()*+,;=[]:", s[i]))
			return why(buf, size, "image registry \"%.*s\" contains '%c'", (int)n, s,
				   isprint((unsigned char)s[i]) ? s[i] : '?');
	return 0;
}

/* pkg/name NewRepository (weak): [registry/]repository, repository 2..255 of [a-z0-9_-./]. */
static int check_repository(const char *s, size_t n, char *buf, size_t size)
{
	const char *slash = memchr(s, '/', n);
	size_t reg = 0;

	if (n == 0)
		return why(buf, size, "image repository name is missing");
	/* The first part is a registry when it is "localhost" or holds a '.' or a ':'. */
	if (slash) {
		size_t k = (size_t)(slash - s);

		if ((k == 9 && !strncmp(s, "localhost", 9)) || memchr(s, '.', k) ||
		    memchr(s, ':', k)) {
			if (check_registry(s, k, buf, size))
				return -EINVAL;
			reg = k + 1;
		}
	}
	return check_element("repository", s + reg, n - reg,
			     "abcdefghijklmnopqrstuvwxyz0123456789_-./", 2, 255, buf, size);
}

/* pkg/name NewTag (weak): a tag after the last ':' that is not followed by a '/', 1..128. */
static int check_tag_ref(const char *s, size_t n, char *buf, size_t size)
{
	const char *colon = NULL;
	size_t i;

	for (i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (colon && !memchr(colon + 1, '/', n - (size_t)(colon + 1 - s))) {
		size_t tn = n - (size_t)(colon + 1 - s);

		/* An empty tag is not checked in weak mode: "repo:" is repo with the default. */
		if (tn && check_element("tag", colon + 1, tn,
					"abcdefghijklmnopqrstuvwxyz0123456789_-."
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
					1, 128, buf, size))
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	return check_repository(s, n, buf, size);
}

int mf_image_ref(const char *s, bool need_digest, char *buf, size_t size)
{
	const char *at = strchr(s, '@');
	char tag_why[MANIFEST_REASON_MAX];
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return why(buf, size,
				   "image reference contains whitespace or control characters");
	/* pkg/name ParseReference: a tag reference, else a digest reference. */
	if (!need_digest && !check_tag_ref(s, strlen(s), tag_why, sizeof(tag_why)))
		return 0;
	if (!at) {
		if (need_digest)
			return why(buf, size, "not pinned by digest");
		snprintf(buf, size, "%s", tag_why);
		return -EINVAL;
	}
	/* pkg/name NewDigest: exactly one '@', then sha256: and 64 lowercase hex (go-digest). */
	if (strchr(at + 1, '@'))
		return why(buf, size, "image reference must contain exactly one '@'");
	if (strncmp(at + 1, "sha256:", 7))
		return why(buf, size, "image digest must be sha256:<64 lowercase hex digits>");
	for (i = 0; at[8 + i]; i++)
		if (!isxdigit((unsigned char)at[8 + i]) || isupper((unsigned char)at[8 + i]))
			break;
	if (i != 64 || at[8 + i])
		return why(
			buf, size,
			"image digest must be sha256: followed by exactly 64 lowercase hex digits");
	return check_tag_ref(s, (size_t)(at - s), buf, size);
}

/*
 * What sigs.k8s.io/yaml (YAML 1.1, how kubectl and the API server read YAML) makes of a plain
 * scalar that is neither a string nor null: a bool (true, yes, on, ... in any casing) or a
 * number (decimal with optional fraction and exponent, 0x hex, 0o octal, .inf, .nan).
 */
bool mf_plain_typed(const char *s)
{
	static const char *const words[] = { "true", "false", "yes",  "no",    "on",	"off",
					     "y",    "n",     ".inf", "-.inf", "+.inf", ".nan" };
	const char *p = s;
	bool digits = false;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && p[2])
		return strspn(p + 2, p[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567") ==
		       strlen(p + 2);
	for (; isdigit((unsigned char)*p) || *p == '_'; p++)
		digits |= *p != '_';
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p) || *p == '_'; p++)
			digits |= *p != '_';
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return !*p;
}
