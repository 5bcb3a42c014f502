/*
 * src/server_body.c - owns what a scrape returns: content negotiation
 * (Accept, Accept-Encoding, ?format=), the collector's own metrics added
 * to the arena's (and a log line when the count of damaged records
 * changes), and gzip.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "base/error.h"
#include "registry.h"
#include "server.h"

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

int smx_negotiate(const char *format_arg, const char *accept, shmetrics_format_t *fmt)
{
    if (format_arg)
        return shmetrics_format_parse(format_arg, fmt);
    *fmt = SHMETRICS_FORMAT_PROMETHEUS;
    if (accept) {
        double om = accept_q(accept, "application/openmetrics-text");
        double text = accept_q(accept, "text/plain");
        if (om > 0 && om > text)
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

/* ------------------------------------------------------ self metrics */

#define SELF_FAMILIES 11

struct self {
    shmetrics_family_t fam[SELF_FAMILIES];
    shmetrics_sample_t smp[SELF_FAMILIES + 3];
    shmetrics_label_t proc_labels[3];
    size_t n, ns;
};

static void self_add(struct self *s, const char *name, const char *help, shmetrics_type_t type, double value)
{
    shmetrics_sample_t *smp = &s->smp[s->ns++];
    *smp = (shmetrics_sample_t){type == SHMETRICS_COUNTER ? "_total" : "", 0, NULL, value};
    s->fam[s->n++] = (shmetrics_family_t){name, help, type, SHMETRICS_MODE_ALL, 1, smp};
}

static uint64_t arena_bytes_used(const shmetrics_arena_info_t *in)
{
    /* Everything before the records' free room, plus what is handed out. */
    uint64_t fixed = in->file_bytes - (uint64_t)in->shards * in->cpu_cells_cap * 8 -
                     (uint64_t)in->processes_cap * in->proc_cells_cap * 8 - in->heap_bytes -
                     (uint64_t)(in->families_cap - in->families_used) * 128 -
                     (uint64_t)(in->series_cap - in->series_used) * 64;
    return fixed + in->heap_used + (uint64_t)in->shards * in->cpu_cells_used * 8 +
           (uint64_t)in->processes_cap * in->proc_cells_used * 8;
}

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
    if (!__atomic_compare_exchange_n(&st->damage_logged_ns, &last, now_ns, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return; /* another thread logs now */
    __atomic_store_n(&st->logged_damaged, snap->damaged, __ATOMIC_RELAXED);
    fprintf(stderr, "shmetrics serve: %llu damaged records skipped in this scrape (%llu when last logged)%s%s\n",
            (unsigned long long)snap->damaged, (unsigned long long)was, snap->damaged ? "; the first: " : "",
            smx_snapshot_first_damage(snap));
}

shmetrics_registry_t *smx_current_registry(struct smx_server_state *st)
{
    shmetrics_registry_t *reg = __atomic_load_n(&st->reg, __ATOMIC_ACQUIRE);
    if (!shmetrics_arena_replaced(reg))
        return reg;
    pthread_mutex_lock(&st->lock);
    reg = st->reg;
    shmetrics_registry_t *fresh;
    shmetrics_options_t o = {.path = st->path, .flags = SHMETRICS_OPEN_READONLY};
    /* Scrapes on other threads may still read the old one: it stays open
     * (and mapped) until the server stops. */
    if (st->nold < sizeof st->old / sizeof st->old[0] && shmetrics_arena_replaced(reg) &&
        shmetrics_open(&o, &fresh) == 0) {
        st->old[st->nold++] = reg;
        __atomic_store_n(&st->reg, fresh, __ATOMIC_RELEASE);
        __atomic_add_fetch(&st->reattached, 1, __ATOMIC_RELAXED);
        reg = fresh;
    }
    pthread_mutex_unlock(&st->lock);
    return reg;
}

int smx_scrape(struct smx_server_state *st, shmetrics_format_t fmt, char **body, size_t *len)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    shmetrics_registry_t *reg = smx_current_registry(st);
    shmetrics_snapshot_t *snap;
    int rc = shmetrics_collect(reg, &snap);
    if (rc < 0)
        return rc;
    log_damage(st, snap, (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec);
    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    size_t nproc = 0, count[3] = {0, 0, 0}; /* attached, dead, exited */
    shmetrics_processes(reg, NULL, 0, &nproc);
    shmetrics_process_t *procs = calloc(nproc ? nproc : 1, sizeof *procs);
    size_t got = 0;
    if (procs && shmetrics_processes(reg, procs, nproc, &got) == 0)
        for (size_t i = 0; i < got && i < nproc; i++)
            count[procs[i].exited ? 2 : procs[i].alive ? 0 : 1]++;
    free(procs);
    struct self s;
    memset(&s, 0, sizeof s);
    uint64_t scrapes = __atomic_add_fetch(&st->scrapes, 1, __ATOMIC_RELAXED);
    double last = (double)__atomic_load_n(&st->last_scrape_ns, __ATOMIC_RELAXED) / 1e9;
    self_add(&s, "shmetrics_collector_scrapes", "Scrapes served by this collector.", SHMETRICS_COUNTER,
             (double)scrapes);
    self_add(&s, "shmetrics_collector_reattached", "Times the arena was unlinked and re-created, and re-attached.",
             SHMETRICS_COUNTER, (double)__atomic_load_n(&st->reattached, __ATOMIC_RELAXED));
    self_add(&s, "shmetrics_collector_last_scrape_duration_seconds",
             "Time the previous scrape took to read the arena and encode it.", SHMETRICS_GAUGE, last);
    self_add(&s, "shmetrics_arena_families", "Metric families in the arena.", SHMETRICS_GAUGE,
             (double)snap->nfamilies);
    self_add(&s, "shmetrics_arena_series", "Series read from the arena.", SHMETRICS_GAUGE, (double)snap->nseries);
    self_add(&s, "shmetrics_arena_bytes_used", "Arena bytes in use: tables, records, heap and cells handed out.",
             SHMETRICS_GAUGE, (double)arena_bytes_used(&in));
    self_add(&s, "shmetrics_arena_bytes_capacity", "Size of the arena file.", SHMETRICS_GAUGE,
             (double)in.file_bytes);
    self_add(&s, "shmetrics_arena_registrations_refused",
             "Registrations refused because a region of the arena was full.", SHMETRICS_COUNTER,
             (double)in.refused);
    self_add(&s, "shmetrics_arena_damaged_records", "Records skipped in the last scrape because they failed validation.",
             SHMETRICS_GAUGE, (double)snap->damaged);
    /* Processes: one family, a sample per state. */
    static const char *const states[3] = {"attached", "dead", "exited"};
    shmetrics_sample_t *ps = &s.smp[s.ns];
    for (int i = 0; i < 3; i++) {
        s.proc_labels[i] = (shmetrics_label_t){"state", states[i]};
        ps[i] = (shmetrics_sample_t){"", 1, &s.proc_labels[i], (double)count[i]};
    }
    s.ns += 3;
    s.fam[s.n++] = (shmetrics_family_t){"shmetrics_arena_processes",
                                        "Processes holding a slot in the arena: attached, dead without detaching "
                                        "(reclaimed by the next writer to attach), exited (kept for mode all).",
                                        SHMETRICS_GAUGE, SHMETRICS_MODE_ALL, 3, ps};

    /* The arena's families, then the collector's own. */
    shmetrics_family_t *all = malloc(sizeof *all * (snap->nfamilies + s.n));
    if (!all) {
        shmetrics_snapshot_free(snap);
        return smx_fail(-ENOMEM, "out of memory");
    }
    memcpy(all, snap->families, sizeof *all * snap->nfamilies);
    memcpy(all + snap->nfamilies, s.fam, sizeof *all * s.n);
    shmetrics_snapshot_t merged = {snap->nfamilies + s.n, all, snap->damaged, snap->nseries};
    rc = shmetrics_format(&merged, fmt, body, len);
    free(all);
    shmetrics_snapshot_free(snap);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    __atomic_store_n(&st->last_scrape_ns, ns, __ATOMIC_RELAXED);
    return rc;
}
