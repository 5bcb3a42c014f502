/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_statsd.c - owns the StatsD push backend: the mapping of each
 * metric type to StatsD lines, the counter deltas since the last push that
 * got through, names and DogStatsD tags, and the UDP datagrams.
 *
 * Mapping (docs/push-statsd.md):
 *   counter              name_total:DELTA|c
 *   gauge                name:VALUE|g  (a negative value is sent as
 *                        name:0|g then name:-V|g, since a sign means
 *                        "add" to StatsD)
 *   histogram            name_bucket (one per le), name_sum, name_count:
 *                        DELTA|c; native buckets are not sent (StatsD has
 *                        nothing to carry them), so a native-only
 *                        histogram sends name_sum and name_count alone
 *   summary              name (one per quantile):VALUE|g, name_sum and
 *                        name_count:DELTA|c
 * Without tags, label values follow the name, dot-separated, in label
 * order (name_total.GET.200); with SHMETRICS_PUSH_TAGS they are DogStatsD
 * tags (name_total:1|c|#method:GET,code:200).  NaN and infinite values are
 * not sent (StatsD cannot carry them).
 *
 * A delta is the value minus the value last sent; a value below it (the
 * series was reset) is sent whole.  Deltas of a push are remembered per
 * datagram, once the datagram left without error: what did not go out is
 * carried by the next push.  Zero deltas are skipped, except the first
 * time a series is seen, so that it exists downstream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "push.h"

/* What was last sent of each delta series, by identity. */
struct entry {
    char *key;
    double last;
    bool known; /* sent at least once */
};

struct pending {
    size_t entry;
    double value;
};

struct statsd {
    int fd;
    struct entry *entries;
    size_t nentries, cap_entries;
    uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
    size_t nslots;
    struct pending *pend; /* deltas of the datagram being built */
    size_t npend, cap_pend;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211u;
    return h;
}

static int grow_slots(struct statsd *s)
{
    size_t n = s->nslots ? s->nslots * 2 : 1024;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < s->nentries; i++) {
        const char *k = s->entries[i].key;
        size_t at = hash(k, strlen(k)) & (n - 1);
        while (slots[at])
            at = (at + 1) & (n - 1);
        slots[at] = (uint32_t)i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    return 0;
}

/* The entry of `key`, added if missing; -ENOMEM. */
static int lookup(struct statsd *s, const char *key, size_t len, size_t *out)
{
    if ((s->nentries + 1) * 2 > s->nslots && grow_slots(s) < 0)
        return -ENOMEM;
    size_t at = hash(key, len) & (s->nslots - 1);
    for (; s->slots[at]; at = (at + 1) & (s->nslots - 1)) {
        struct entry *e = &s->entries[s->slots[at] - 1];
        if (strlen(e->key) == len && memcmp(e->key, key, len) == 0) {
            *out = s->slots[at] - 1;
            return 0;
        }
    }
    if (s->nentries == s->cap_entries) {
        size_t cap = s->cap_entries ? s->cap_entries * 2 : 256;
        struct entry *e = realloc(s->entries, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        s->entries = e;
        s->cap_entries = cap;
    }
    char *k = strndup(key, len);
    if (!k)
        return -ENOMEM;
    s->entries[s->nentries] = (struct entry){k, 0, false};
    s->slots[at] = (uint32_t)s->nentries + 1;
    *out = s->nentries++;
    return 0;
}

static void forget(struct shmetrics_pusher *p)
{
    struct statsd *s = p->state;
    for (size_t i = 0; i < s->nentries; i++)
        free(s->entries[i].key);
    s->nentries = 0;
    if (s->slots)
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
}

static void statsd_close(struct shmetrics_pusher *p)
{
    struct statsd *s = p->state;
    forget(p);
    if (s->fd >= 0)
        close(s->fd);
    free(s->entries);
    free(s->slots);
    free(s->pend);
    free(s);
    p->state = NULL;
}

/* HOST:PORT, [V6]:PORT; a connected UDP socket, so that a closed port on
 * the way (ICMP port unreachable) comes back as ECONNREFUSED. */
static int statsd_open(struct shmetrics_pusher *p)
{
    const char *t = p->target;
    const char *colon = strrchr(t, ':');
    if (!colon || colon == t || !colon[1])
        return smx_fail(-EINVAL, "statsd target '%s' is not HOST:PORT", t);
    char host[256], *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return smx_fail(-EINVAL, "statsd target '%s': bad port", t);
    size_t hl = (size_t)(colon - t);
    if (t[0] == '[' && hl >= 2 && t[hl - 1] == ']') {
        t++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return smx_fail(-EINVAL, "statsd target '%s': host name too long", p->target);
    memcpy(host, t, hl);
    host[hl] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai;
    int g = getaddrinfo(host, colon + 1, &hints, &ai);
    if (g != 0)
        return smx_fail(-ENOENT, "statsd target '%s': cannot resolve '%s': %s", p->target, host, gai_strerror(g));
    struct statsd *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return smx_fail(-ENOMEM, "out of memory");
    }
    s->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = s->fd < 0 ? -errno : 0;
    if (rc == 0 && connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0)
        rc = -errno;
    freeaddrinfo(ai);
    p->state = s;
    if (rc < 0) {
        statsd_close(p);
        return smx_fail(rc, "statsd target '%s': %s", p->target, strerror(-rc));
    }
    return 0;
}

/* ------------------------------------------------------------ lines */

/* StatsD separates with ':', '|', '@', '#' and '\n', and folds '.' into a
 * hierarchy: a name or label value keeps [A-Za-z0-9_-], drops '+' (so +Inf
 * is Inf, as the daemon itself would make it), and every other byte becomes
 * '_'.  Tag values keep '.' too. */
static void put_clean(struct smx_buf *b, const char *s, bool keep_dot)
{
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  (keep_dot && c == '.');
        if (c != '+')
            smx_buf_putc(b, ok ? c : '_');
    }
}

/* A label value as a part of the name: an empty one is "_". */
static void put_part(struct smx_buf *b, const char *s)
{
    smx_buf_putc(b, '.');
    if (*s)
        put_clean(b, s, false);
    else
        smx_buf_putc(b, '_');
}

static void put_key(struct shmetrics_pusher *p, struct smx_buf *b, const shmetrics_family_t *f,
                    const shmetrics_sample_t *s)
{
    if (p->prefix) {
        smx_buf_puts(b, p->prefix);
        smx_buf_putc(b, '.');
    }
    put_clean(b, f->name, false);
    put_clean(b, s->suffix, false);
    if (!(p->o.flags & SHMETRICS_PUSH_TAGS))
        for (size_t i = 0; i < s->nlabels; i++)
            put_part(b, s->labels[i].value);
}

static void put_tags(struct shmetrics_pusher *p, struct smx_buf *b, const shmetrics_sample_t *s)
{
    if (!(p->o.flags & SHMETRICS_PUSH_TAGS) || s->nlabels == 0)
        return;
    smx_buf_puts(b, "|#");
    for (size_t i = 0; i < s->nlabels; i++) {
        if (i)
            smx_buf_putc(b, ',');
        put_clean(b, s->labels[i].name, false);
        smx_buf_putc(b, ':');
        put_clean(b, s->labels[i].value, true);
    }
}

/* The exact identity of a sample, for the delta table. */
static void put_identity(struct smx_buf *b, const shmetrics_family_t *f, const shmetrics_sample_t *s)
{
    smx_buf_puts(b, f->name);
    smx_buf_puts(b, s->suffix);
    for (size_t i = 0; i < s->nlabels; i++) {
        smx_buf_putc(b, '\x1f');
        smx_buf_puts(b, s->labels[i].name);
        smx_buf_putc(b, '\x1e');
        smx_buf_puts(b, s->labels[i].value);
    }
}

/* Counts go as deltas; gauges, quantiles, info (its _info sample, always
 * 1) and stateset samples as values. */
static bool is_delta(const shmetrics_family_t *f, const shmetrics_sample_t *s)
{
    if (f->type == SHMETRICS_INFO || f->type == SHMETRICS_STATESET)
        return false;
    return f->type == SHMETRICS_COUNTER || f->type == SHMETRICS_HISTOGRAM || s->suffix[0] != 0;
}

/* --------------------------------------------------------- datagrams */

struct out {
    struct smx_buf dgram;
    uint64_t lines, bytes;
};

/* Send the datagram being built; remember its deltas once it left. */
static int flush(struct shmetrics_pusher *p, struct out *o)
{
    struct statsd *s = p->state;
    if (o->dgram.len == 0)
        return 0;
    size_t len = o->dgram.len;
    if (len && o->dgram.data[len - 1] == '\n')
        len--;
    ssize_t n = send(s->fd, o->dgram.data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    int err = n < 0 ? errno : 0;
    if (!err) {
        /* A closed port answers with ICMP, which the kernel reports on the
         * socket: ask for it before believing the datagram arrived. */
        socklen_t el = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
    }
    if (err)
        return smx_fail(-err, "statsd %s: sending a datagram of %zu bytes: %s", p->target, len, strerror(err));
    for (size_t i = 0; i < s->npend; i++) {
        s->entries[s->pend[i].entry].last = s->pend[i].value;
        s->entries[s->pend[i].entry].known = true;
    }
    o->bytes += len;
    s->npend = 0;
    o->dgram.len = 0;
    return 0;
}

/* Append one line (or a pair, for a negative gauge) as a unit. */
static int emit(struct shmetrics_pusher *p, struct out *o, const char *line, size_t len, size_t entry, double value,
                bool delta)
{
    struct statsd *s = p->state;
    if (o->dgram.len && o->dgram.len + len > p->o.max_datagram) {
        int rc = flush(p, o);
        if (rc < 0)
            return rc;
    }
    smx_buf_put(&o->dgram, line, len);
    if (o->dgram.oom)
        return smx_fail(-ENOMEM, "out of memory");
    if (delta) {
        if (s->npend == s->cap_pend) {
            size_t cap = s->cap_pend ? s->cap_pend * 2 : 64;
            struct pending *pe = realloc(s->pend, cap * sizeof *pe);
            if (!pe)
                return smx_fail(-ENOMEM, "out of memory");
            s->pend = pe;
            s->cap_pend = cap;
        }
        s->pend[s->npend++] = (struct pending){entry, value};
    }
    o->lines++;
    return 0;
}

static int one_sample(struct shmetrics_pusher *p, struct out *o, struct smx_buf *line, struct smx_buf *id,
                      const shmetrics_family_t *f, const shmetrics_sample_t *s)
{
    struct statsd *st = p->state;
    bool delta = is_delta(f, s);
    double v = s->value;
    size_t entry = 0;
    line->len = 0;
    if (!isfinite(v))
        return 0;
    if (delta) {
        id->len = 0;
        put_identity(id, f, s);
        if (id->oom || lookup(st, id->data, id->len, &entry) < 0)
            return smx_fail(-ENOMEM, "out of memory");
        const struct entry *e = &st->entries[entry];
        /* A counter below what was sent was reset: send it whole.  Sums
         * may go down (negative observations). */
        bool reset = strcmp(s->suffix, "_sum") != 0 && v < e->last;
        double d = reset ? v : v - e->last;
        if (d == 0 && e->known)
            return 0;
        put_key(p, line, f, s);
        smx_buf_putc(line, ':');
        smx_buf_double(line, d);
        smx_buf_puts(line, "|c");
    } else {
        if (v < 0) { /* "-5" would mean "subtract 5" */
            put_key(p, line, f, s);
            smx_buf_puts(line, ":0|g");
            put_tags(p, line, s);
            smx_buf_putc(line, '\n');
        }
        put_key(p, line, f, s);
        smx_buf_putc(line, ':');
        smx_buf_double(line, v);
        smx_buf_puts(line, "|g");
    }
    put_tags(p, line, s);
    smx_buf_putc(line, '\n');
    if (line->oom)
        return smx_fail(-ENOMEM, "out of memory");
    return emit(p, o, line->data, line->len, entry, v, delta);
}

static int statsd_push(struct shmetrics_pusher *p, struct smx_push_ctx *c)
{
    struct statsd *st = p->state;
    struct out o = {{0}, 0, 0};
    struct smx_buf line = {0}, id = {0};
    int rc = 0;
    st->npend = 0;
    for (size_t i = 0; rc == 0 && i < c->snap->nfamilies; i++) {
        const shmetrics_family_t *f = &c->snap->families[i];
        size_t end = 0;
        bool only = false;
        for (size_t j = 0; rc == 0 && j < f->nsamples; j++) {
            if (f->type == SHMETRICS_HISTOGRAM && j >= end) {
                end = smx_hist_series_end(f, j);
                smx_hist_native(f, j, end, &only);
            }
            /* A native-only series: no classic bucket to send (its lone
             * +Inf one is its count), and StatsD has no native buckets. */
            if (only && strcmp(f->samples[j].suffix, "_bucket") == 0)
                continue;
            rc = one_sample(p, &o, &line, &id, f, &f->samples[j]);
        }
    }
    if (rc == 0)
        rc = flush(p, &o);
    st->npend = 0;
    free(o.dgram.data);
    free(line.data);
    free(id.data);
    c->samples = o.lines;
    c->bytes = o.bytes;
    return rc;
}

const struct smx_backend smx_backend_statsd = {"statsd", statsd_open, statsd_push, forget, statsd_close};
