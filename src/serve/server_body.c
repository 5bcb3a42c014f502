/* SPDX-License-Identifier: MIT */
/*
 * src/serve/server_body.c - owns what a scrape returns: content negotiation
 * (Accept, Accept-Encoding, ?format=), the scrape itself (the arena read
 * and the collector's own metrics appended through src/read/reader.c, the
 * workers' process metrics read through src/read/procstat.c, a log line
 * when the count of damaged records changes), and gzip.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/error.h"
#include "server.h"
#include "src/read/procstat.h"
#include "webconfig.h"

/* The q of the most specific media range (or coding) in `accept` that
 * matches `type`: an exact match beats "major/ *", which beats "* / *" or
 * "*"; -1 if none matches. */
static double accept_q(const char *accept, const char *type)
{
    double q_best = -1;
    int spec_best = -1;
    size_t tlen = strlen(type);
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : tlen;
    for (const char *p = accept; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t mlen = strcspn(p, ";, ");
        if (mlen > len)
            mlen = len;
        int spec = -1;
        if (mlen == tlen && strncasecmp(p, type, tlen) == 0)
            spec = 2;
        else if (slash && mlen == major + 2 && strncasecmp(p, type, major) == 0 && strncmp(p + major, "/*", 2) == 0)
            spec = 1;
        else if ((mlen == 3 && strncmp(p, "*/*", 3) == 0) || (mlen == 1 && *p == '*'))
            spec = 0;
        if (spec > spec_best) {
            double q = 1;
            for (const char *qp = p; (qp = memchr(qp, ';', len - (size_t)(qp - p))) != NULL;) {
                qp++;
                while (*qp == ' ')
                    qp++;
                if (strncmp(qp, "q=", 2) == 0)
                    q = strtod(qp + 2, NULL);
            }
            spec_best = spec;
            q_best = q;
        }
        p = end;
    }
    return q_best;
}

/* Does the parameter at p (up to end) read NAME=VALUE?  The name's case
 * is ignored, spaces around '=' are not allowed (RFC 9110), and the value
 * may be quoted. */
static bool param_is(const char *p, const char *end, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    if ((size_t)(end - p) < n + 1 || strncasecmp(p, name, n) != 0 || p[n] != '=')
        return false;
    p += n + 1;
    if (end - p >= 2 && *p == '"' && end[-1] == '"')
        p++, end--;
    return (size_t)(end - p) == v && strncmp(p, value, v) == 0;
}

/* The q of the protobuf format in `accept`: the highest of the media
 * ranges application/vnd.google.protobuf that name both
 * proto=io.prometheus.client.MetricFamily and encoding=delimited (the
 * format's text encodings are not served, and no wildcard stands for a
 * binary format); -1 if none does. */
static double protobuf_q(const char *accept)
{
    static const char type[] = "application/vnd.google.protobuf";
    double q_best = -1;
    for (const char *p = accept; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        size_t mlen = strcspn(p, ";, ");
        bool proto = false, delimited = false;
        double q = 1;
        if (mlen == sizeof type - 1 && strncasecmp(p, type, mlen) == 0) {
            for (const char *a = memchr(p, ';', (size_t)(end - p)); a; a = memchr(a, ';', (size_t)(end - a))) {
                a++;
                const char *b = memchr(a, ';', (size_t)(end - a));
                const char *pe = b ? b : end;
                proto = proto || param_is(a, pe, "proto", "io.prometheus.client.MetricFamily");
                delimited = delimited || param_is(a, pe, "encoding", "delimited");
                while (a < pe && *a == ' ')
                    a++;
                if (strncasecmp(a, "q=", 2) == 0)
                    q = strtod(a + 2, NULL);
            }
            if (proto && delimited && (q > q_best))
                q_best = q;
        }
        p = end;
    }
    return q_best;
}

/* The escaping scheme of the first escaping= parameter in `accept`
 * (Prometheus 3 gives each of its media ranges the same one). */
static const struct {
    const char *name;
    unsigned flag;
} schemes[] = {
    {"underscores", 0},
    {"allow-utf-8", SHMETRICS_FORMAT_UTF8},
    {"dots", SHMETRICS_FORMAT_ESCAPE_DOTS},
    {"values", SHMETRICS_FORMAT_ESCAPE_VALUES},
};

static void escaping_of(const char *accept, struct smx_negotiated *n)
{
    for (const char *p = accept; p && (p = strchr(p, ';')); p++) {
        const char *a = p + 1, *end = a + strcspn(a, ";,");
        for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
            if (param_is(a, end, "escaping", schemes[i].name)) {
                n->flags = schemes[i].flag;
                n->escaping = schemes[i].name;
                return;
            }
    }
}

int smx_negotiate(const char *format_arg, const char *accept, shmetrics_format_t *fmt, struct smx_negotiated *n)
{
    *n = (struct smx_negotiated){0, NULL};
    escaping_of(accept, n);
    if (format_arg)
        return shmetrics_format_parse(format_arg, fmt);
    *fmt = SHMETRICS_FORMAT_PROMETHEUS;
    if (accept) {
        double pb = protobuf_q(accept);
        double om = accept_q(accept, "application/openmetrics-text");
        double text = accept_q(accept, "text/plain");
        if (pb > 0 && pb > om && pb > text)
            *fmt = SHMETRICS_FORMAT_PROTOBUF;
        else if (om > 0 && om > text)
            *fmt = SHMETRICS_FORMAT_OPENMETRICS;
    }
    return 0;
}

bool smx_accepts_gzip(const char *accept_encoding)
{
    return accept_encoding && accept_q(accept_encoding, "gzip") > 0;
}

int smx_gzip(const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return smx_fail(-ENOMEM, "cannot start gzip");
    size_t cap = deflateBound(&z, len);
    char *buf = malloc(cap ? cap : 1);
    if (!buf) {
        deflateEnd(&z);
        return smx_fail(-ENOMEM, "out of memory for gzip");
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return smx_fail(-EIO, "gzip failed");
    }
    *out = buf;
    return 0;
}

/* ---------------------------------------------------------- a scrape */

/* Damage goes to the log when its count changes, at most once every
 * DAMAGE_LOG_NS: an arena damaged without end must not flood the log (nor
 * block scrapes on a log pipe that is read slowly). */
#define DAMAGE_LOG_NS 10000000000ull

static void log_damage(struct smx_server_state *st, const shmetrics_snapshot_t *snap, uint64_t now_ns)
{
    uint64_t was = __atomic_load_n(&st->logged_damaged, __ATOMIC_RELAXED);
    uint64_t last = __atomic_load_n(&st->damage_logged_ns, __ATOMIC_RELAXED);
    if (snap->damaged == was || (last && now_ns - last < DAMAGE_LOG_NS))
        return;
    if (!__atomic_compare_exchange_n(&st->damage_logged_ns, &last, now_ns, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return; /* another thread logs now */
    __atomic_store_n(&st->logged_damaged, snap->damaged, __ATOMIC_RELAXED);
    fprintf(stderr, "shmetrics serve: %llu damaged records skipped in this scrape (%llu when last logged)%s%s\n",
            (unsigned long long)snap->damaged, (unsigned long long)was, snap->damaged ? "; the first: " : "",
            smx_snapshot_first_damage(snap));
}

_Static_assert(sizeof(((struct smx_self_in *)0)->conns_closed) / sizeof(uint64_t) == SMX_CONN_NREASONS,
               "one count of closed connections per reason");
_Static_assert(sizeof(((struct smx_self_in *)0)->auth_checks) / sizeof(uint64_t) == SMX_AUTH_NRESULTS,
               "one count of password checks per result");

/* The process's resident memory (the second field of /proc/self/statm,
 * in pages); 0 if it cannot be read. */
static uint64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long long size, resident;
    int n = f ? fscanf(f, "%llu %llu", &size, &resident) : 0;
    if (f)
        fclose(f);
    return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

int smx_scrape(struct smx_server_state *st, shmetrics_format_t fmt, unsigned flags, char **body, size_t *len)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    shmetrics_registry_t *reg = smx_reader_registry(&st->rd, NULL);
    shmetrics_snapshot_t *snap;
    int rc = shmetrics_collect(reg, &snap);
    if (rc < 0)
        return rc;
    log_damage(st, snap, (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec);
    shmetrics_arena_info_t in = {0};
    shmetrics_arena_info(reg, &in);
    struct smx_self_in self = {
        .who = SMX_SELF_SERVE,
        .snap = snap,
        .arena = &in,
        .scrapes = __atomic_add_fetch(&st->scrapes, 1, __ATOMIC_RELAXED),
        .last_scrape_ns = __atomic_load_n(&st->last_scrape_ns, __ATOMIC_RELAXED),
        .reattached = smx_reader_reattached(&st->rd),
        .resident_bytes = resident_bytes(),
    };
    struct smx_conn_stats cs;
    smx_conns_stats(&st->conns, &cs);
    self.conns_open = cs.open;
    self.conns_max = cs.max;
    for (int i = 0; i < SMX_CONN_NREASONS; i++)
        self.conns_closed[i] = cs.closed[i];
    smx_web_auth_checks(st->web, self.auth_checks);
    /* The workers' process metrics, read from /proc now. */
    struct smx_procs procs = {0};
    if (st->process_metrics && (rc = smx_procs_read(snap, &procs)) == 0)
        self.procs = &procs;
    /* The arena's families, then the collector's own, then the workers'. */
    shmetrics_snapshot_t merged;
    if (rc == 0)
        rc = smx_self_append(&self, &merged);
    if (rc == 0) {
        rc = shmetrics_format_with(&merged, fmt, st->format_flags | flags, body, len);
        smx_self_free(&merged);
    }
    smx_procs_free(&procs);
    shmetrics_snapshot_free(snap);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    __atomic_store_n(&st->last_scrape_ns, ns, __ATOMIC_RELAXED);
    return rc;
}
