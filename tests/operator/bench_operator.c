// SPDX-License-Identifier: Apache-2.0
/*
 * operator-bench: knext-operator with N NextApps against the fake API server.
 *   - initial sync: time until every NextApp has its Service and a Ready status, CPU spent;
 *   - RSS (VmRSS, VmHWM) once converged; CPU while idle;
 *   - change -> apply latency: one NextApp changed at a time, time from the change to the
 *     Service PATCH reaching the server; interleaved with a baseline, a bare apply PATCH sent by
 *     this program (the cost of one request, no watch, no operator).
 * Prints one JSON object. Usage: operator-bench KNEXT_OPERATOR [N_APPS] [N_CHANGES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/operator/harness.h"

#define NS "bench"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[i < n ? i : n - 1];
}

/* utime+stime in ms, VmRSS and VmHWM in KiB. */
static void proc_usage(pid_t pid, double *cpu_ms, long *rss_kb, long *hwm_kb)
{
	char path[64], buf[4096], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		/* Fields after the command: state is field 3; utime 14, stime 15. */
		for (i = 0; p && i < 12; i++)
			p = strchr(p + 1, ' ');
		if (p)
			sscanf(p + 1, "%lu %lu", &ut, &st);
	}
	if (f)
		fclose(f);
	*cpu_ms = (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		sscanf(buf, "VmRSS: %ld", rss_kb);
		sscanf(buf, "VmHWM: %ld", hwm_kb);
	}
	if (f)
		fclose(f);
}

static bool ready(struct harness *h, const char *name, long long gen)
{
	json_t *app = fake_get_app(&h->fake, NS, name), *c;
	json_t *st = json_object_get(app, "status");
	bool ok = false;
	size_t i;

	if (json_integer_value(json_object_get(st, "observedGeneration")) == gen &&
	    json_object_get(st, "url"))
		json_array_foreach(json_object_get(st, "conditions"), i, c) {
			if (!strcmp(json_string_value(json_object_get(c, "type")), "Ready") &&
			    !strcmp(json_string_value(json_object_get(c, "status")), "True"))
				ok = true;
		}
	json_decref(app);
	return ok;
}

static size_t discard_cb(char *d, size_t s, size_t n, void *u)
{
	return s * n;
}

/* One bare server-side apply, as the operator sends it; returns its round trip in ms. */
static double baseline_apply(CURL *c, int port, int i)
{
	char url[256], body[512];
	struct curl_slist *hdr =
		curl_slist_append(NULL, "Content-Type: application/apply-patch+yaml");
	double t0;

	snprintf(url, sizeof(url),
		 "http://127.0.0.1:%d/apis/serving.knative.dev/v1/namespaces/baseline/services/"
		 "b?fieldManager=bench&force=true",
		 port);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\",\"metadata\":"
		 "{\"name\":\"b\",\"namespace\":\"baseline\"},\"spec\":{\"n\":%d}}",
		 i);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	t0 = fake_now_ms();
	curl_easy_perform(c);
	t0 = fake_now_ms() - t0;
	curl_slist_free_all(hdr);
	return t0;
}

int main(int argc, char **argv)
{
	int napps = argc > 2 ? atoi(argv[2]) : 1000, nchanges = argc > 3 ? atoi(argv[3]) : 200;
	static const char *const args[] = { "--namespace", NS, "--watch-timeout", "300", NULL };
	double t0, sync_ms, cpu0, idle0, cpu1, cpu2, *lat, *base, deadline;
	long rss = 0, hwm = 0, rss_end = 0, hwm_end = 0;
	unsigned long applies_after_sync, applies_end;
	struct harness h;
	char name[64];
	double *burst, *before_burst, burst_last;
	int i, j, done, nburst, *cur;
	CURL *c;

	if (argc < 2 || napps < 1 || nchanges < 1) {
		fprintf(stderr, "usage: operator-bench KNEXT_OPERATOR [N_APPS] [N_CHANGES]\n");
		return 2;
	}
	setenv("KNEXT_OPERATOR", argv[1], 1);
	lat = calloc((size_t)nchanges, sizeof(*lat));
	cur = calloc((size_t)napps, sizeof(*cur));
	base = calloc((size_t)nchanges, sizeof(*base));
	if (!lat || !base || !cur || harness_init(&h, false))
		return 1;
	for (i = 0; i < napps; i++) {
		snprintf(name, sizeof(name), "app-%04d", i);
		cur[i] = i % 3;
		fake_put_app(&h.fake, NS, name, app_spec(cur[i]));
	}
	t0 = fake_now_ms();
	if (harness_start(&h, args))
		return 1;
	/* Initial sync: every NextApp Ready with its URL. */
	deadline = t0 + 600000;
	for (i = 0; i < napps && fake_now_ms() < deadline;) {
		snprintf(name, sizeof(name), "app-%04d", i);
		if (ready(&h, name, 1))
			i++;
		else
			harness_sleep_ms(5);
	}
	sync_ms = fake_now_ms() - t0;
	if (i < napps) {
		fprintf(stderr, "operator-bench: only %d of %d NextApps converged\n", i, napps);
		harness_close(&h);
		return 1;
	}
	proc_usage(h.pid, &cpu0, &rss, &hwm);
	/* Let the echoes of the sync (our own status writes coming back as events) settle, then
	 * measure idle: bookmarks and nothing else. */
	harness_sleep_ms(2000);
	proc_usage(h.pid, &idle0, &rss, &hwm);
	fake_stats(&h.fake, &applies_after_sync, NULL, NULL, NULL);
	harness_sleep_ms(5000);
	proc_usage(h.pid, &cpu1, &rss, &hwm);

	c = curl_easy_init();
	for (j = 0; j < nchanges; j++) {
		double before;

		base[j] = baseline_apply(c, h.fake.port, j);
		snprintf(name, sizeof(name), "app-%04d", (j * 7) % napps);
		before = fake_last_apply_ms(&h.fake, NS, name);
		t0 = fake_now_ms();
		cur[(j * 7) % napps] = (j * 7) % napps % 3 + 3;
		fake_put_app(&h.fake, NS, name, app_spec(cur[(j * 7) % napps]));
		for (done = 0; !done && fake_now_ms() - t0 < 10000;) {
			double at = fake_last_apply_ms(&h.fake, NS, name);

			if (at > before && at >= t0) {
				lat[j] = at - t0;
				done = 1;
			} else {
				usleep(200);
			}
		}
		if (!done)
			lat[j] = 10000;
		harness_sleep_ms(5);
	}
	curl_easy_cleanup(c);
	proc_usage(h.pid, &cpu2, &rss_end, &hwm_end);
	fake_stats(&h.fake, &applies_end, NULL, NULL, NULL);

	/* A burst: half the NextApps changed at once; each one's latency includes its wait in the
	 * queue, and the last one's is the time to work through the burst. */
	nburst = napps / 2;
	burst = calloc((size_t)nburst, sizeof(*burst));
	before_burst = calloc((size_t)nburst, sizeof(*before_burst));
	if (!burst || !before_burst)
		return 1;
	for (j = 0; j < nburst; j++) {
		snprintf(name, sizeof(name), "app-%04d", j * 2);
		before_burst[j] = fake_last_apply_ms(&h.fake, NS, name);
	}
	t0 = fake_now_ms();
	for (j = 0; j < nburst; j++) {
		snprintf(name, sizeof(name), "app-%04d", j * 2);
		/* Always a real change, whatever the app's current spec. */
		fake_put_app(&h.fake, NS, name, app_spec(cur[j * 2] == 5 ? 4 : 5));
	}
	for (j = 0; j < nburst && fake_now_ms() - t0 < 60000;) {
		double at;

		snprintf(name, sizeof(name), "app-%04d", j * 2);
		at = fake_last_apply_ms(&h.fake, NS, name);
		if (at > before_burst[j]) {
			burst[j++] = at - t0;
		} else {
			harness_sleep_ms(2);
		}
	}
	for (; j < nburst; j++)
		burst[j] = 60000;
	burst_last = pct(burst, nburst, 1.0);

	printf("{\"napps\":%d,\"sync_ms\":%.0f,\"sync_cpu_ms\":%.0f,\"idle_cpu_ms_per_s\":%.2f,"
	       "\"rss_kb\":%ld,\"hwm_kb\":%ld,\"rss_end_kb\":%ld,\"applies_sync\":%lu,"
	       "\"changes\":%d,\"operator_applies_for_changes\":%lu,\"change_cpu_ms\":%.0f,"
	       "\"latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
	       "\"baseline_apply_ms\":{\"p50\":%.2f,\"p99\":%.2f},"
	       "\"burst\":{\"n\":%d,\"p50\":%.1f,\"p99\":%.1f,\"last\":%.1f}}\n",
	       napps, sync_ms, cpu0, (cpu1 - idle0) / 5.0, rss, hwm, rss_end, applies_after_sync,
	       nchanges, applies_end - applies_after_sync - (unsigned long)nchanges, cpu2 - cpu1,
	       pct(lat, nchanges, 0.5), pct(lat, nchanges, 0.99), pct(lat, nchanges, 1.0),
	       pct(base, nchanges, 0.5), pct(base, nchanges, 0.99), nburst, pct(burst, nburst, 0.5),
	       pct(burst, nburst, 0.99), burst_last);
	i = harness_stop(&h, 10000);
	harness_close(&h);
	free(lat);
	free(base);
	free(burst);
	free(cur);
	free(before_burst);
	return i == 0 ? 0 : 1;
}
