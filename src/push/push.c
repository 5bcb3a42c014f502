/* SPDX-License-Identifier: MIT */
/*
 * src/push/push.c - owns the pusher: options, its thread and schedule, retries
 * with exponential backoff, logging, and its counts, which go along with
 * the arena's metrics as the pusher's own.  Reading the arena (re-attaching
 * to a re-created one) and appending those metrics are src/read/reader.c's.
 * The backends (src/push_*.c) only encode and send one snapshot.
 *
 * Threading: one thread per started pusher sleeps on a condition variable
 * (CLOCK_MONOTONIC) until the next push is due or it is stopped.  A push
 * holds `lock`, so shmetrics_pusher_push from another thread takes turns
 * with it.  Stopping wakes the thread and raises `abort_io`, which ends an
 * HTTP request in flight.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/names.h"
#include "push.h"
#include "src/read/procstat.h"

static const char *const backend_names[] = {"null", "statsd", "otlp", "remote-write"};
static const struct smx_backend *const backends[] = {&smx_backend_null, &smx_backend_statsd, &smx_backend_otlp,
                                                     &smx_backend_remote_write};

int shmetrics_push_backend_parse(const char *name, shmetrics_push_backend_t *out)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, backend_names[i]) == 0) {
            *out = (shmetrics_push_backend_t)i;
            return 0;
        }
    return smx_fail(-EINVAL, "unknown push backend '%s': use statsd, otlp, remote-write or null",
                    name ? name : "(null)");
}

const char *shmetrics_push_backend_name(shmetrics_push_backend_t b)
{
    return (unsigned)b < 4 ? backend_names[b] : NULL;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(struct shmetrics_pusher *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct shmetrics_pusher *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->o.log)
        p->o.log(p->o.log_arg, line);
    else
        fprintf(stderr, "shmetrics push: %s\n", line);
}

/* ------------------------------------------------------------ options */

static int copy_labels(const shmetrics_label_t *in, size_t n, shmetrics_label_t **out, const char *what)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (!in)
        return smx_fail(-EINVAL, "%zu %s given, but no array", n, what);
    if (n > 64)
        return smx_fail(-EINVAL, "%zu %s: at most 64", n, what);
    shmetrics_label_t *l = calloc(n, sizeof *l);
    if (!l)
        return smx_fail(-ENOMEM, "out of memory");
    *out = l;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].name || !*in[i].name || !in[i].value)
            return smx_fail(-EINVAL, "%s %zu has no name or no value", what, i + 1);
        l[i].name = strdup(in[i].name);
        l[i].value = strdup(in[i].value);
        if (!l[i].name || !l[i].value)
            return smx_fail(-ENOMEM, "out of memory");
    }
    return 0;
}

static void free_labels(shmetrics_label_t *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free((char *)l[i].name);
        free((char *)l[i].value);
    }
    free(l);
}

/* A legacy label name (base/names.h) that does not start with __. */
static int check_label_name(const char *s)
{
    if (!*s || (s[0] == '_' && s[1] == '_'))
        return -1;
    for (size_t i = 0; s[i]; i++)
        if (!smx_name_byte_ok((unsigned char)s[i], i == 0, false))
            return -1;
    return 0;
}

static int copy_options(struct shmetrics_pusher *p, const shmetrics_push_options_t *in)
{
    shmetrics_push_options_t *o = &p->o;
    *o = *in;
    if ((unsigned)o->backend >= 4)
        return smx_fail(-EINVAL, "unknown push backend %d", (int)o->backend);
    if (o->flags & ~0x1fu)
        return smx_fail(-EINVAL, "unknown push flags 0x%x", o->flags & ~0x1fu);
    if (o->backend != SHMETRICS_PUSH_NULL && (!o->target || !*o->target))
        return smx_fail(-EINVAL, "the %s backend needs a target", backend_names[o->backend]);
    o->interval_ms = o->interval_ms ? o->interval_ms : 10000;
    o->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    o->retry_min_ms = o->retry_min_ms ? o->retry_min_ms : 1000;
    o->retry_max_ms = o->retry_max_ms ? o->retry_max_ms : 60000;
    o->max_datagram = o->max_datagram ? o->max_datagram : 1432;
    if (o->retry_min_ms > o->retry_max_ms)
        return smx_fail(-EINVAL, "the first retry (%u ms) comes after the longest backoff (%u ms)", o->retry_min_ms,
                        o->retry_max_ms);
    if (o->max_datagram < 64 || o->max_datagram > 65507)
        return smx_fail(-EINVAL, "a datagram of %u bytes: from 64 to 65507", o->max_datagram);
    for (size_t i = 0; i < o->nlabels; i++)
        if (o->labels && o->labels[i].name && check_label_name(o->labels[i].name) < 0)
            return smx_fail(-EINVAL, "'%s' is not a valid label name", o->labels[i].name);
    if (o->target && !(p->target = strdup(o->target)))
        return smx_fail(-ENOMEM, "out of memory");
    if (o->prefix && *o->prefix && !(p->prefix = strdup(o->prefix)))
        return smx_fail(-ENOMEM, "out of memory");
    o->target = p->target;
    o->prefix = p->prefix;
    int rc = copy_labels(in->resource, in->nresource, &p->resource, "resource attribute");
    if (rc == 0)
        rc = copy_labels(in->labels, in->nlabels, &p->labels, "label");
    if (rc < 0)
        return rc;
    o->resource = p->resource;
    o->labels = p->labels;
    if (o->nheaders && !o->headers)
        return smx_fail(-EINVAL, "%zu headers given, but no array", o->nheaders);
    if (o->nheaders > 64)
        return smx_fail(-EINVAL, "%zu headers: at most 64", o->nheaders);
    p->headers = calloc(o->nheaders ? o->nheaders : 1, sizeof *p->headers);
    if (!p->headers)
        return smx_fail(-ENOMEM, "out of memory");
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *h = in->headers[i];
        const char *colon = h ? strchr(h, ':') : NULL;
        if (!colon || colon == h || strpbrk(h, "\r\n"))
            return smx_fail(-EINVAL, "header '%s' is not 'Name: value'", h ? h : "(null)");
        if (!(p->headers[i] = strdup(h)))
            return smx_fail(-ENOMEM, "out of memory");
    }
    o->headers = (const char *const *)p->headers;
    return 0;
}

static void pusher_free(struct shmetrics_pusher *p)
{
    p->magic = 0;
    if (p->state && p->be)
        p->be->close(p);
    smx_reader_fini(&p->rd);
    free(p->target);
    free(p->prefix);
    free_labels(p->resource, p->o.nresource);
    free_labels(p->labels, p->o.nlabels);
    for (size_t i = 0; p->headers && i < p->o.nheaders; i++)
        free(p->headers[i]);
    free(p->headers);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->wake_lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}

int shmetrics_pusher_create(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts, shmetrics_pusher_t **out)
{
    if (!reg || !opts || !out)
        return smx_fail(-EINVAL, "no registry, options or out pointer given");
    struct shmetrics_pusher *p = calloc(1, sizeof *p);
    if (!p)
        return smx_fail(-ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->wake_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    int rc = copy_options(p, opts);
    /* One push at a time (under `lock`): a replaced registry is shut down
     * at once. */
    if (rc == 0)
        rc = smx_reader_init(&p->rd, reg, false);
    if (rc == 0) {
        p->be = backends[p->o.backend];
        rc = p->be->open(p);
    }
    if (rc < 0) {
        pusher_free(p);
        return rc;
    }
    p->magic = SMX_PUSHER_MAGIC;
    *out = p;
    return 0;
}

/* ------------------------------------------------------------ a push */

static int push_locked(struct shmetrics_pusher *p)
{
    uint64_t t0 = mono_ns();
    p->stats.attempts++;
    struct smx_push_ctx c = {0};
    int rc = 0;
    if (p->o.backend != SHMETRICS_PUSH_NULL) {
        bool fresh;
        shmetrics_registry_t *reg = smx_reader_registry(&p->rd, &fresh);
        if (fresh) {
            p->stats.reattached = smx_reader_reattached(&p->rd);
            if (p->be->forget)
                p->be->forget(p);
        }
        shmetrics_snapshot_t *snap;
        rc = shmetrics_collect(reg, &snap);
        if (rc < 0)
            rc = smx_fail_prefix(rc, "reading the arena");
        shmetrics_arena_info_t in;
        if (rc == 0 && (rc = shmetrics_arena_info(reg, &in)) < 0)
            shmetrics_snapshot_free(snap);
        if (rc == 0) {
            /* The arena's families, then the pusher's own (its counts
             * before this push, this attempt included), then the workers'
             * process metrics, read from /proc now: NO_SELF leaves out all
             * the pusher adds, the arena's families alone go. */
            bool own = !(p->o.flags & SHMETRICS_PUSH_NO_SELF);
            bool workers = own && !(p->o.flags & SHMETRICS_PUSH_NO_PROCESS_METRICS);
            shmetrics_label_t backend = {"backend", backend_names[p->o.backend]};
            struct smx_self_in self = {.who = SMX_SELF_PUSH, .label = &backend, .snap = snap, .push = &p->stats};
            struct smx_procs procs = {0};
            if (workers && (rc = smx_procs_read(snap, &procs)) == 0)
                self.procs = &procs;
            shmetrics_snapshot_t merged = *snap;
            if (rc == 0 && own)
                rc = smx_self_append(&self, &merged);
            if (rc == 0) {
                c.snap = &merged;
                c.now_ns = real_ns();
                c.start_ns = in.created_ns && in.created_ns < c.now_ns ? in.created_ns : c.now_ns;
                rc = p->be->push(p, &c);
                if (own)
                    smx_self_free(&merged);
            }
            smx_procs_free(&procs);
            shmetrics_snapshot_free(snap);
        }
    }
    shmetrics_push_stats_t *st = &p->stats;
    st->last_duration_ns = mono_ns() - t0;
    if (rc == 0) {
        if (st->consecutive_failures)
            logf_(p, "%s %s: pushes get through again, after %u failed", backend_names[p->o.backend],
                  p->target ? p->target : "", st->consecutive_failures);
        st->consecutive_failures = 0;
        st->last_success_ns = real_ns();
        st->samples += c.samples;
        st->bytes += c.bytes;
    } else {
        st->failures++;
        st->consecutive_failures++;
    }
    return rc;
}

int shmetrics_pusher_push(shmetrics_pusher_t *p)
{
    int rc = smx_check_magic(p, p ? p->magic : 0, SMX_PUSHER_MAGIC, "pusher", __func__);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->lock);
    rc = push_locked(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void shmetrics_pusher_stats(shmetrics_pusher_t *p, shmetrics_push_stats_t *out)
{
    if (!out || smx_check_magic(p, p ? p->magic : 0, SMX_PUSHER_MAGIC, "pusher", __func__) < 0)
        return;
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

/* ----------------------------------------------------------- the thread */

/* The delay before the next try after `failures` failures in a row. */
static uint64_t backoff_ms(const struct shmetrics_pusher *p, uint32_t failures)
{
    uint64_t d = p->o.retry_min_ms;
    for (uint32_t i = 1; i < failures && d < p->o.retry_max_ms; i++)
        d *= 2;
    return d < p->o.retry_max_ms ? d : p->o.retry_max_ms;
}

/* Sleep until `when` (CLOCK_MONOTONIC ns) or a stop; true if stopping. */
static bool sleep_until(struct shmetrics_pusher *p, uint64_t when)
{
    struct timespec ts = {(time_t)(when / 1000000000u), (long)(when % 1000000000u)};
    pthread_mutex_lock(&p->wake_lock);
    while (!p->stopping && mono_ns() < when)
        if (pthread_cond_timedwait(&p->wake, &p->wake_lock, &ts) == ETIMEDOUT)
            break;
    bool stop = p->stopping;
    pthread_mutex_unlock(&p->wake_lock);
    return stop;
}

static void *push_thread(void *arg)
{
    struct shmetrics_pusher *p = arg;
    uint64_t next = mono_ns();
    while (!sleep_until(p, next)) {
        uint64_t started = mono_ns();
        pthread_mutex_lock(&p->lock);
        int rc = push_locked(p);
        uint32_t failures = p->stats.consecutive_failures;
        if (rc < 0) {
            uint64_t d = backoff_ms(p, failures);
            logf_(p, "%s %s: push failed (%u in a row): %s; next try in %.3g s", backend_names[p->o.backend],
                  p->target ? p->target : "", failures, shmetrics_errmsg(), (double)d / 1e3);
            next = mono_ns() + d * 1000000u;
        } else {
            next = started + (uint64_t)p->o.interval_ms * 1000000u;
        }
        pthread_mutex_unlock(&p->lock);
    }
    if (p->o.flags & SHMETRICS_PUSH_FINAL) {
        __atomic_store_n(&p->abort_io, 0, __ATOMIC_RELEASE);
        pthread_mutex_lock(&p->lock);
        if (push_locked(p) < 0)
            logf_(p, "%s %s: the last push failed: %s", backend_names[p->o.backend], p->target ? p->target : "",
                  shmetrics_errmsg());
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

int shmetrics_pusher_start(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts, shmetrics_pusher_t **out)
{
    shmetrics_pusher_t *p;
    int rc = shmetrics_pusher_create(reg, opts, &p);
    if (rc < 0)
        return rc;
    if ((rc = pthread_create(&p->thread, NULL, push_thread, p)) != 0) {
        pusher_free(p);
        return smx_fail(-rc, "cannot start the push thread: %s", strerror(rc));
    }
    p->thread_started = true;
    *out = p;
    return 0;
}

void shmetrics_pusher_stop(shmetrics_pusher_t *p)
{
    if (!p || smx_check_magic(p, p->magic, SMX_PUSHER_MAGIC, "pusher", __func__) < 0)
        return;
    if (p->thread_started) {
        pthread_mutex_lock(&p->wake_lock);
        p->stopping = true;
        __atomic_store_n(&p->abort_io, 1, __ATOMIC_RELEASE);
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->wake_lock);
        pthread_join(p->thread, NULL);
    } else if (p->o.flags & SHMETRICS_PUSH_FINAL) {
        shmetrics_pusher_push(p);
    }
    pusher_free(p);
}

int shmetrics_push(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts)
{
    shmetrics_pusher_t *p;
    int rc = shmetrics_pusher_create(reg, opts, &p);
    if (rc < 0)
        return rc;
    rc = shmetrics_pusher_push(p);
    if (rc < 0) {
        /* Keep the push's message: stopping may fail calls of its own. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", shmetrics_errmsg());
        p->o.flags &= ~SHMETRICS_PUSH_FINAL;
        shmetrics_pusher_stop(p);
        return smx_fail(rc, "%s", msg);
    }
    p->o.flags &= ~SHMETRICS_PUSH_FINAL;
    shmetrics_pusher_stop(p);
    return 0;
}
