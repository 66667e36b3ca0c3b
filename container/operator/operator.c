// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "container/operator/controller.h"
#include "container/operator/httpd.h"
#include "container/operator/kubeconfig.h"
#include "container/operator/operator.h"

struct options {
	const char *kubeconfig;
	const char *context;
	const char *namespace;
	const char *metrics_addr;
	unsigned int workers;
	size_t queue_cap;
	long watch_timeout_s;
	long resync_s;
	unsigned int list_page;
};

struct logger {
	pthread_mutex_t lock;
	struct timespec start;
};

static void log_emit(void *ud, const char *level, const char *event, json_t *fields)
{
	struct logger *lg = ud;
	struct timespec now;
	json_t *line;
	char *text;

	clock_gettime(CLOCK_MONOTONIC, &now);
	line = json_pack("{s:f,s:s,s:s}", "ts_ms",
			 (double)(now.tv_sec - lg->start.tv_sec) * 1e3 +
				 (double)(now.tv_nsec - lg->start.tv_nsec) / 1e6,
			 "level", level, "event", event);
	if (line && fields)
		json_object_update(line, fields);
	json_decref(fields);
	text = line ? json_dumps(line,
				 JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) :
		      NULL;
	json_decref(line);
	if (!text)
		return;
	pthread_mutex_lock(&lg->lock);
	fprintf(stderr, "%s\n", text);
	pthread_mutex_unlock(&lg->lock);
	free(text);
}

static void usage(FILE *f)
{
	fputs("usage: knext-operator [options]\n"
	      "  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, else in-cluster,\n"
	      "                        else ~/.kube/config)\n"
	      "  --context NAME        kubeconfig context (default: current-context)\n"
	      "  -n, --namespace NS    watch one namespace (default: the whole cluster;\n"
	      "                        also $KNEXT_OPERATOR_NAMESPACE)\n"
	      "  --metrics-addr H:P    /healthz /readyz /metrics address (default 0.0.0.0:8081)\n"
	      "  --workers N           reconcile threads (default 2)\n"
	      "  --queue-size N        bound on queued NextApps (default 65536)\n"
	      "  --watch-timeout S     timeoutSeconds of each watch (default 300)\n"
	      "  --list-page N         objects per list page (default 500)\n"
	      "  --resync S            queue every NextApp again this often, 0 = never (default 600)\n"
	      "  -h, --help            this text\n",
	      f);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "workers", required_argument, NULL, 'w' },
		{ "queue-size", required_argument, NULL, 'q' },
		{ "watch-timeout", required_argument, NULL, 't' },
		{ "resync", required_argument, NULL, 'r' },
		{ "list-page", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	char *end;
	int ch;

	*o = (struct options){ .metrics_addr = "0.0.0.0:8081",
			       .workers = 2,
			       .queue_cap = 65536,
			       .watch_timeout_s = 300,
			       .resync_s = 600 };
	o->kubeconfig = getenv("KUBECONFIG");
	o->namespace = getenv("KNEXT_OPERATOR_NAMESPACE");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		v = optarg ? strtol(optarg, &end, 10) : 0;
		switch (ch) {
		case 'k':
			o->kubeconfig = optarg;
			break;
		case 'c':
			o->context = optarg;
			break;
		case 'n':
			o->namespace = optarg;
			break;
		case 'm':
			o->metrics_addr = optarg;
			break;
		case 'w':
			if (*end || v < 1 || v > CONTROLLER_MAX_WORKERS)
				return -EINVAL;
			o->workers = (unsigned int)v;
			break;
		case 'q':
			if (*end || v < 1)
				return -EINVAL;
			o->queue_cap = (size_t)v;
			break;
		case 't':
			if (*end || v < 1)
				return -EINVAL;
			o->watch_timeout_s = v;
			break;
		case 'r':
			if (*end || v < 0)
				return -EINVAL;
			o->resync_s = v;
			break;
		case 'p':
			if (*end || v < 1 || v > 100000)
				return -EINVAL;
			o->list_page = (unsigned int)v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (o->namespace && !*o->namespace)
		o->namespace = NULL;
	if (o->kubeconfig && !*o->kubeconfig)
		o->kubeconfig = NULL;
	return 0;
}

/* --kubeconfig / $KUBECONFIG, else the pod's service account, else ~/.kube/config. */
static int load_config(const struct options *o, struct kube_config *kc, char *reason, size_t len)
{
	char path[4096];
	const char *home = getenv("HOME");
	int r;

	if (o->kubeconfig)
		return kube_config_from_file(kc, o->kubeconfig, o->context, reason, len);
	r = kube_config_from_cluster(kc, NULL, reason, len);
	if (r != -ENOENT)
		return r;
	kube_config_close(kc);
	snprintf(path, sizeof(path), "%s/.kube/config", home ? home : "");
	return kube_config_from_file(kc, path, o->context, reason, len);
}

static int handler_cb(void *ud, const char *path, char **body)
{
	struct controller *c = ud;

	if (!strcmp(path, "/healthz") || !strcmp(path, "/livez")) {
		*body = strdup("ok\n");
		return 200;
	}
	if (!strcmp(path, "/readyz")) {
		bool ok = controller_synced(c);

		*body = strdup(ok ? "ok\n" : "informers not synced\n");
		return ok ? 200 : 503;
	}
	if (!strcmp(path, "/metrics"))
		return controller_metrics(c, body) ? 500 : 200;
	return 404;
}

static int run(const struct options *o, struct kube_config *kube, struct oplog *log, sigset_t *sigs)
{
	struct controller_config cc = { 0 };
	struct controller ctl;
	struct httpd httpd;
	atomic_bool stop = false;
	struct timespec tick = { 1, 0 }, last, now;
	siginfo_t si;
	int r, sig;

	cc.kube = kube;
	cc.namespace = o->namespace;
	cc.workers = o->workers;
	cc.queue_cap = o->queue_cap;
	cc.watch_timeout_s = o->watch_timeout_s;
	cc.list_limit = o->list_page;
	cc.stop = &stop;
	cc.log = log;
	r = controller_init(&ctl, &cc);
	if (r) {
		oplog_emit(log, "error", "start_failed", json_pack("{s:i}", "errno", -r));
		return 1;
	}
	r = httpd_init(&httpd, o->metrics_addr, handler_cb, &ctl);
	if (r) {
		oplog_emit(log, "error", "start_failed",
			   json_pack("{s:s,s:s}", "what", "metrics-addr", "reason", strerror(-r)));
		controller_close(&ctl);
		return 1;
	}
	oplog_emit(log, "info", "listening", json_pack("{s:i}", "port", httpd.port));
	r = controller_start(&ctl);
	oplog_emit(log, r ? "error" : "info", r ? "start_failed" : "started",
		   json_pack("{s:s,s:s,s:i}", "server", kube->server, "namespace",
			     o->namespace ? o->namespace : "", "workers", (int)o->workers));
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!r) {
		sig = sigtimedwait(sigs, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			oplog_emit(log, "info", "signal", json_pack("{s:i}", "signal", sig));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (o->resync_s && now.tv_sec - last.tv_sec >= o->resync_s) {
			last = now;
			controller_resync(&ctl);
		}
	}
	atomic_store(&stop, true);
	controller_stop(&ctl);
	httpd_close(&httpd);
	oplog_emit(log, "info", "stopped", NULL);
	controller_close(&ctl);
	return r ? 1 : 0;
}

int operator_cli_main(int argc, char **argv)
{
	struct logger lg = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct oplog log = { log_emit, &lg };
	struct kube_config kube;
	struct options o;
	char reason[512] = "";
	sigset_t sigs;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &lg.start);
	/* jansson seeds its hash function lazily; do it before there are threads to race. */
	json_object_seed(0);
	r = parse_args(argc, argv, &o);
	if (r > 0)
		return 0;
	if (r) {
		usage(stderr);
		return 2;
	}
	/* Every thread inherits this mask; only the main thread takes the signals, synchronously. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = load_config(&o, &kube, reason, sizeof(reason));
	if (r) {
		oplog_emit(&log, "error", "config_failed",
			   json_pack("{s:i,s:s}", "errno", -r, "reason", reason));
		kube_config_close(&kube);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		kube_config_close(&kube);
		return 1;
	}
	r = run(&o, &kube, &log, &sigs);
	curl_global_cleanup();
	kube_config_close(&kube);
	return r;
}
