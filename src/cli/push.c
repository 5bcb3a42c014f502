/* SPDX-License-Identifier: MIT */
/*
 * src/cli/push.c - owns `shmetrics push`: open the arena read-only and push
 * it to StatsD, an OTLP receiver, a remote-write endpoint or nowhere (null),
 * once or every interval until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_PAIRS 64

struct push_args {
    const char *arena, *backend, *target, *prefix, *encoding, *service;
    uint32_t interval_ms, timeout_ms, retry_min_ms, retry_max_ms, max_datagram;
    bool once, tags, no_self, no_procs;
    shmetrics_label_t resource[MAX_PAIRS + 1], labels[MAX_PAIRS];
    char *pair_buf[2 * MAX_PAIRS];
    size_t nresource, nlabels, nbuf;
    const char *headers[MAX_PAIRS];
    size_t nheaders;
};

/* KEY=VALUE into `out`; false if there is no '=' or no key. */
static bool parse_pair(struct push_args *a, const char *s, shmetrics_label_t *out)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return false;
    char *key = strndup(s, (size_t)(eq - s));
    if (!key)
        return false;
    a->pair_buf[a->nbuf++] = key;
    *out = (shmetrics_label_t){key, eq + 1};
    return true;
}

static void args_free(struct push_args *a)
{
    for (size_t i = 0; i < a->nbuf; i++)
        free(a->pair_buf[i]);
}

/* Returns -1 to go on, or an exit status. */
static int parse(int argc, char **argv, struct push_args *a)
{
    const struct verb *v = &verb_push;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(v->usage, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--once") == 0) {
            a->once = true;
            continue;
        }
        if (strcmp(arg, "--tags") == 0) {
            a->tags = true;
            continue;
        }
        if (strcmp(arg, "--no-self-metrics") == 0) {
            a->no_self = true;
            continue;
        }
        if (strcmp(arg, "--no-process-metrics") == 0) {
            a->no_procs = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error(v, "%s needs a value, or is unknown", arg);
        const char *val = argv[++i];
        uint32_t *dur = strcmp(arg, "--interval") == 0    ? &a->interval_ms
                        : strcmp(arg, "--timeout") == 0   ? &a->timeout_ms
                        : strcmp(arg, "--retry-min") == 0 ? &a->retry_min_ms
                        : strcmp(arg, "--retry-max") == 0 ? &a->retry_max_ms
                                                          : NULL;
        if (dur) {
            if (!cli_parse_duration(val, dur))
                return cli_usage_error(v, "%s takes a duration from 1ms to 24h (10s, 500ms, 2m), not '%s'", arg, val);
        } else if (strcmp(arg, "--arena") == 0) {
            a->arena = val;
        } else if (strcmp(arg, "--backend") == 0) {
            a->backend = val;
        } else if (strcmp(arg, "--target") == 0) {
            a->target = val;
        } else if (strcmp(arg, "--prefix") == 0) {
            a->prefix = val;
        } else if (strcmp(arg, "--otlp-encoding") == 0) {
            if (strcmp(val, "protobuf") != 0 && strcmp(val, "json") != 0)
                return cli_usage_error(v, "--otlp-encoding is protobuf or json, not '%s'", val);
            a->encoding = val;
        } else if (strcmp(arg, "--service-name") == 0) {
            a->service = val;
        } else if (strcmp(arg, "--max-datagram") == 0) {
            if (!cli_parse_u32(val, 64, 65507, &a->max_datagram))
                return cli_usage_error(v, "--max-datagram takes a whole number from 64 to 65507, not '%s'", val);
        } else if (strcmp(arg, "--resource") == 0 || strcmp(arg, "--label") == 0) {
            bool res = arg[2] == 'r';
            size_t *n = res ? &a->nresource : &a->nlabels;
            if (*n == MAX_PAIRS)
                return cli_usage_error(v, "more than %d %s options", MAX_PAIRS, arg);
            if (!parse_pair(a, val, res ? &a->resource[*n] : &a->labels[*n]))
                return cli_usage_error(v, "%s takes KEY=VALUE, not '%s'", arg, val);
            (*n)++;
        } else if (strcmp(arg, "--header") == 0) {
            if (a->nheaders == MAX_PAIRS)
                return cli_usage_error(v, "more than %d --header options", MAX_PAIRS);
            a->headers[a->nheaders++] = val;
        } else {
            return cli_usage_error(v, "unknown option %s", arg);
        }
    }
    if (!a->backend)
        return cli_usage_error(v, "no backend: give --backend statsd|otlp|remote-write|null");
    shmetrics_push_backend_t b;
    if (shmetrics_push_backend_parse(a->backend, &b) < 0)
        return cli_usage_error(v, "%s", shmetrics_errmsg());
    const char *misplaced = b != SHMETRICS_PUSH_STATSD && a->tags            ? "--tags"
                            : b != SHMETRICS_PUSH_STATSD && a->prefix        ? "--prefix"
                            : b != SHMETRICS_PUSH_STATSD && a->max_datagram  ? "--max-datagram"
                            : b != SHMETRICS_PUSH_OTLP && a->encoding        ? "--otlp-encoding"
                            : b != SHMETRICS_PUSH_OTLP && a->service         ? "--service-name"
                            : b != SHMETRICS_PUSH_OTLP && a->nresource       ? "--resource"
                            : b != SHMETRICS_PUSH_REMOTE_WRITE && a->nlabels ? "--label"
                            : (b == SHMETRICS_PUSH_STATSD || b == SHMETRICS_PUSH_NULL) && a->nheaders ? "--header"
                                                                                                      : NULL;
    if (misplaced)
        return cli_usage_error(v, "%s does not apply to the %s backend", misplaced, a->backend);
    if (b != SHMETRICS_PUSH_NULL && !a->target)
        return cli_usage_error(v, "the %s backend needs --target", a->backend);
    if (!cli_arena(a->arena))
        return cli_usage_error(v, "no arena: give --arena PATH or set SHMETRICS_ARENA");
    return -1;
}

static int run_push(int argc, char **argv)
{
    struct push_args a;
    memset(&a, 0, sizeof a);
    int st = parse(argc, argv, &a);
    if (st >= 0) {
        args_free(&a);
        return st;
    }
    const char *arena = cli_arena(a.arena);
    if (a.service)
        a.resource[a.nresource++] = (shmetrics_label_t){"service.name", a.service};
    shmetrics_push_options_t po = {
        .target = a.target,
        .flags = (a.tags ? SHMETRICS_PUSH_TAGS : 0) | (a.no_self ? SHMETRICS_PUSH_NO_SELF : 0) |
                 (a.no_procs ? SHMETRICS_PUSH_NO_PROCESS_METRICS : 0) |
                 (a.encoding && strcmp(a.encoding, "json") == 0 ? SHMETRICS_PUSH_OTLP_JSON : 0),
        .interval_ms = a.interval_ms,
        .timeout_ms = a.timeout_ms,
        .retry_min_ms = a.retry_min_ms,
        .retry_max_ms = a.retry_max_ms,
        .prefix = a.prefix,
        .max_datagram = a.max_datagram,
        .resource = a.resource,
        .nresource = a.nresource,
        .labels = a.labels,
        .nlabels = a.nlabels,
        .headers = a.headers,
        .nheaders = a.nheaders,
    };
    shmetrics_push_backend_parse(a.backend, &po.backend);

    sigset_t stop;
    shmetrics_registry_t *reg;
    int rc = cli_open_collector(arena, &stop, &reg);
    if (rc) {
        args_free(&a);
        return rc;
    }
    shmetrics_pusher_t *p;
    rc = a.once ? shmetrics_pusher_create(reg, &po, &p) : shmetrics_pusher_start(reg, &po, &p);
    if (rc < 0) {
        shmetrics_shutdown(reg, 0);
        args_free(&a);
        return cli_fail("starting the pusher", rc);
    }
    const char *target = a.target ? a.target : "nowhere";
    shmetrics_push_stats_t s;
    if (a.once) {
        rc = shmetrics_pusher_push(p);
        if (rc < 0) {
            cli_fail("pushing", rc);
        } else {
            shmetrics_pusher_stats(p, &s);
            printf("pushed %s to %s %s: %llu samples, %llu bytes\n", arena, a.backend, target,
                   (unsigned long long)s.samples, (unsigned long long)s.bytes);
        }
        shmetrics_pusher_stop(p);
        shmetrics_shutdown(reg, 0);
        args_free(&a);
        return rc < 0 ? EXIT_FAIL : EXIT_OK;
    }
    printf("pushing %s to %s %s every %g s\n", arena, a.backend, target, (a.interval_ms ? a.interval_ms : 10000) / 1e3);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    /* One last push, taking turns with the thread, so that the count
     * below includes it. */
    if ((rc = shmetrics_pusher_push(p)) < 0)
        fprintf(stderr, "shmetrics push: the last push failed: %s\n", shmetrics_errmsg());
    shmetrics_pusher_stats(p, &s);
    shmetrics_pusher_stop(p);
    shmetrics_shutdown(reg, 0);
    args_free(&a);
    fprintf(stderr, "shmetrics push: stopped by %s after %llu pushes, %llu failed\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", (unsigned long long)s.attempts, (unsigned long long)s.failures);
    return EXIT_OK;
}

const struct verb verb_push = {
    "push",
    "push the arena to StatsD, OpenTelemetry (OTLP) or remote-write",
    "usage: shmetrics push [--arena PATH] --backend statsd|otlp|remote-write|null\n"
    "                      [--target ADDR] [--interval DURATION] [--once] [OPTIONS]\n"
    "\n"
    "Opens the arena read-only and sends it to a backend, at once and then every\n"
    "interval until SIGTERM or SIGINT (one last push is made then), or once with\n"
    "--once.  A push that fails is logged on stderr and retried after --retry-min,\n"
    "the delay doubling up to --retry-max; nothing is lost meanwhile, the next push\n"
    "that gets through carries the cumulative values.  The pusher's own metrics\n"
    "(shmetrics_push_*) are sent along, and each attached worker's process_*\n"
    "metrics.  Prints 'pushing ARENA to BACKEND TARGET every N s' once it runs.\n"
    "\n"
    "backends and their --target:\n"
    "  statsd         HOST:PORT, UDP: counters as deltas (|c), gauges (|g)\n"
    "  otlp           http://HOST:PORT[/PATH] (default path /v1/metrics): OTLP/HTTP\n"
    "  remote-write   http://HOST:PORT[/PATH] (default path /api/v1/write):\n"
    "                 Prometheus remote-write 1.0\n"
    "  null           none: metrics switched off, a push does nothing\n"
    "\n"
    "  --arena PATH            the arena (default: $SHMETRICS_ARENA)\n"
    "  --backend NAME          statsd, otlp, remote-write or null\n"
    "  --target ADDR           where to push (see above)\n"
    "  --interval DURATION     between pushes (default 10s; 500ms, 2m, 1h also)\n"
    "  --once                  push once; exit 0 if it got through, else 1\n"
    "  --timeout DURATION      one HTTP request, connecting included (default 5s)\n"
    "  --retry-min DURATION    first retry after a failure (default 1s)\n"
    "  --retry-max DURATION    longest delay between retries (default 60s)\n"
    "  --no-self-metrics       leave the shmetrics_push_* metrics out, and the\n"
    "                          process_* too: the arena's metrics alone are sent\n"
    "  --no-process-metrics    leave the workers' process_* metrics (read from /proc,\n"
    "                          labelled pid) out\n"
    "statsd:\n"
    "  --prefix PREFIX         put PREFIX. before every name\n"
    "  --tags                  labels as DogStatsD tags (|#k:v) instead of in the name\n"
    "  --max-datagram BYTES    UDP payload size (default 1432)\n"
    "otlp:\n"
    "  --otlp-encoding ENC     protobuf (default) or json\n"
    "  --service-name NAME     the service.name resource attribute (default shmetrics)\n"
    "  --resource KEY=VALUE    a resource attribute (repeat for more)\n"
    "remote-write:\n"
    "  --label NAME=VALUE      a label added to every series (repeat for more)\n"
    "otlp and remote-write:\n"
    "  --header 'NAME: VALUE'  an extra HTTP header, e.g. Authorization (repeat)\n"
    "  --help                  this message\n",
    run_push,
};
