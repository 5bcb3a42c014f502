/* SPDX-License-Identifier: MIT */
/*
 * src/read/collect.c - owns the read side: walking the arena's directories,
 * merging each series' per-CPU shards and per-process cells into samples,
 * and handing the result out as a private snapshot, with the count of
 * processes attached, dead and exited that the walk of the process table
 * found, and the pid and start time of the live ones (so that a collector
 * need not walk it again).
 *
 * The walk takes no lock and writes nothing.  Records that are not yet
 * published are skipped; records that fail validation are skipped and
 * counted in snapshot->damaged.  Each cell is read atomically; the snapshot
 * is not a consistent cut across cells (a counter may be read before an
 * update that another, later-read counter already shows).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "shm/guard.h"
#include "shm/layout.h"
#include "shm/names.h"
#include "src/read/reader.h"
#include "src/write/registry.h"

/* ------------------------------------------------------------------ pool */

#define CHUNK 65536

struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

struct snapshot {
    shmetrics_snapshot_t pub;
    uint32_t magic; /* SMX_SNAPSHOT_MAGIC until freed */
    struct chunk *chunks;
    char first_damage[160];     /* why the first damaged record was skipped */
    struct smx_live_proc *live; /* the processes attached and alive, in the pool */
    size_t nlive;
};

/* Count one damaged record; keep the reason of the first. */
static void damage(struct snapshot *s, const char *why)
{
    if (s->pub.damaged++ == 0)
        snprintf(s->first_damage, sizeof s->first_damage, "%s", why);
}

const char *smx_snapshot_first_damage(const shmetrics_snapshot_t *snap)
{
    return snap && snap->damaged ? ((const struct snapshot *)snap)->first_damage : "";
}

size_t smx_snapshot_live(const shmetrics_snapshot_t *snap, const struct smx_live_proc **out)
{
    const struct snapshot *s = (const struct snapshot *)snap;
    *out = s->live;
    return s->nlive;
}

static void *pool_alloc(struct snapshot *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct chunk *c = s->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK ? n : CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = s->chunks;
        c->used = 0;
        c->cap = cap;
        s->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static char *pool_strndup(struct snapshot *s, const char *src, size_t n)
{
    char *p = pool_alloc(s, n + 1);
    if (p) {
        memcpy(p, src, n);
        p[n] = 0;
    }
    return p;
}

void shmetrics_snapshot_free(shmetrics_snapshot_t *snap)
{
    if (!snap)
        return;
    struct snapshot *s = (struct snapshot *)snap;
    if (s->magic != SMX_SNAPSHOT_MAGIC) {
        /* Not freed: it is not ours (or was freed already). */
        smx_fail(-EINVAL, "%s: not a shmetrics snapshot (bad magic 0x%08x), or one already freed", __func__, s->magic);
        return;
    }
    s->magic = 0;
    while (s->chunks) {
        struct chunk *c = s->chunks;
        s->chunks = c->next;
        free(c);
    }
    free(s);
}

/* ------------------------------------------------------------ the merge */

struct fam {
    struct shm_family_view v;
    const char *name, *help, *unit; /* private copies, checked */
    const char **states;            /* statesets: the state names, copied */
    const char **bounds;            /* le or quantile label values, spelled once */
    bool ok;
    uint32_t nseries;
    uint32_t first;      /* into the series order array */
    const char **lnames; /* label names, copied */
    const char *labels;  /* the same, as the copied string list */
};

struct proc {
    uint32_t slot;
    bool live; /* ACTIVE, and its process is still there */
    bool active;
    uint32_t pidnum;
    uint64_t attach_ns;
    uint32_t group;  /* first index in walk.by_pid of the slots of this pid */
    uint32_t ngroup; /* how many slots hold this pid */
    const char *pid; /* in the snapshot's pool */
};

struct walk {
    shmetrics_registry_t *reg;
    uint64_t now_ns;
    uint64_t real_ns; /* CLOCK_REALTIME at the start: creation times are checked against it */
    struct snapshot *snap;
    struct fam *fams;
    uint32_t nfams;
    struct proc *procs;
    uint32_t nprocs;
    uint32_t *by_pid;           /* process indexes sorted by pid */
    struct shm_series_view *sv; /* series read, by record index */
    uint32_t *order;            /* series grouped by family */
};

struct counter_acc {
    uint64_t whole;
    double frac;
};

static void add_counter_block(uint64_t *c, void *arg)
{
    struct counter_acc *acc = arg;
    acc->whole += shmetrics_load_relaxed(&c[SHM_COUNTER_WHOLE]);
    acc->frac += smx_load_double(&c[SHM_COUNTER_FRAC]);
}

int smx_counter_read(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *f,
                     double *value)
{
    struct counter_acc acc = {0, 0};
    int rc = shm_series_blocks(a, v, f, add_counter_block, &acc);
    *value = (double)acc.whole + acc.frac;
    return rc;
}

/* Labels of one sample: the series' own (for the overflow series, key
 * NULL: otel_metric_overflow="true" alone), plus one extra (pid, le,
 * quantile) if set. */
static shmetrics_label_t *sample_labels(struct walk *w, const struct fam *f, const char *key, const char *extra_name,
                                        const char *extra_value, size_t *n)
{
    uint32_t own = key ? f->v.nlabels : 1;
    uint32_t nl = own + (extra_name ? 1 : 0);
    shmetrics_label_t *l = pool_alloc(w->snap, sizeof *l * nl);
    if (!l)
        return NULL;
    if (!key) {
        l[0].name = "otel_metric_overflow";
        l[0].value = "true";
    }
    const char *p = key;
    for (uint32_t i = 0; key && i < f->v.nlabels; i++) {
        l[i].name = f->lnames[i];
        l[i].value = p;
        p += strlen(p) + 1;
    }
    if (extra_name) {
        l[nl - 1].name = extra_name;
        l[nl - 1].value = extra_value;
    }
    *n = nl;
    return l;
}

/* One sample: the series' labels plus an optional extra one. */
static int add_sample(struct walk *w, const struct fam *f, const char *key, const char *suffix, const char *extra,
                      const char *extra_value, double value, shmetrics_sample_t *out, size_t *n)
{
    shmetrics_sample_t *s = &out[(*n)++];
    s->suffix = suffix;
    s->value = value;
    s->created = 0;
    s->native = NULL;
    s->exemplar = NULL;
    s->labels = sample_labels(w, f, key, extra, extra_value, &s->nlabels);
    return s->labels ? 0 : -ENOMEM;
}

/* Group the slots by pid (a pid may hold several: a process that attached
 * twice, or a pid the kernel reused). */
/* The exemplars of a counter (its _total sample, out[0]) or a histogram
 * (its _bucket samples, out[0..nbuckets]).  A damaged block or slot is
 * counted and left out; the series' samples stay. */
static int attach_exemplars(struct walk *w, const struct fam *f, uint32_t series, shmetrics_sample_t *out)
{
    uint32_t nslots = f->v.type == SHM_TYPE_COUNTER ? 1 : f->v.nbuckets + 1;
    const uint64_t *block;
    int rc = shm_exemplar_find(w->reg->arena, series, nslots, &block);
    if (rc == -EBADMSG)
        damage(w->snap, shmetrics_errmsg());
    if (rc < 0)
        return 0;
    for (uint32_t slot = 0; slot < nslots; slot++) {
        struct shm_exemplar e;
        rc = shm_exemplar_read(block, slot, &e);
        if (rc == 0 && !smx_exemplar_ok(&e, w->real_ns))
            rc = smx_fail(-EBADMSG, "exemplar %u: bad labels, value or time", slot);
        if (rc == -EBADMSG)
            damage(w->snap, (smx_fail_prefix(rc, "series record %u", series), shmetrics_errmsg()));
        if (rc < 0)
            continue;
        size_t n = 0;
        for (uint32_t p = 0; p < e.len; p++)
            n += e.text[p] == 0;
        n /= 2;
        shmetrics_exemplar_t *x = pool_alloc(w->snap, sizeof *x);
        shmetrics_label_t *l = pool_alloc(w->snap, sizeof *l * (n ? n : 1));
        char *text = pool_strndup(w->snap, e.text, e.len ? e.len - 1 : 0);
        if (!x || !l || !text)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            l[i].name = text;
            text += strlen(text) + 1;
            l[i].value = text;
            text += strlen(text) + 1;
        }
        *x = (shmetrics_exemplar_t){n, l, e.value, smx_ns_to_s(e.ts_ns)};
        out[slot].exemplar = x;
    }
    return 0;
}

static int by_pid(const void *x, const void *y, void *base)
{
    const struct proc *a = &((const struct proc *)base)[*(const uint32_t *)x];
    const struct proc *b = &((const struct proc *)base)[*(const uint32_t *)y];
    return a->pidnum < b->pidnum ? -1 : a->pidnum > b->pidnum;
}

static int group_by_pid(struct walk *w)
{
    uint32_t *idx = w->by_pid = malloc(sizeof *idx * (w->nprocs ? w->nprocs : 1));
    if (!idx)
        return -ENOMEM;
    for (uint32_t i = 0; i < w->nprocs; i++)
        idx[i] = i;
    qsort_r(idx, w->nprocs, sizeof *idx, by_pid, w->procs);
    for (uint32_t g = 0; g < w->nprocs;) {
        uint32_t e = g;
        while (e < w->nprocs && w->procs[idx[e]].pidnum == w->procs[idx[g]].pidnum)
            e++;
        for (uint32_t k = g; k < e; k++) {
            w->procs[idx[k]].group = g;
            w->procs[idx[k]].ngroup = e - g;
        }
        g = e;
    }
    return 0;
}

/* Slot b outranks slot a of the same pid: attached beats exited, then the
 * later attach, then the higher slot. */
static bool better(const struct proc *b, const struct proc *a)
{
    if (b->active != a->active)
        return b->active;
    if (b->attach_ns != a->attach_ns)
        return b->attach_ns > a->attach_ns;
    return b->slot > a->slot;
}

/* Does a better slot of the same pid hold a value for this series? */
static bool hidden_by_better(const struct walk *w, uint32_t i, uint64_t cell, bool live_only)
{
    const struct proc *p = &w->procs[i];
    for (uint32_t k = p->group; k < p->group + p->ngroup; k++) {
        const struct proc *q = &w->procs[w->by_pid[k]];
        if (q == p || !better(q, p) || (live_only && !q->live))
            continue;
        if (cell + SHM_GAUGE_CELLS <= shm_unit_ready_words(w->reg->arena, q->slot) &&
            shmetrics_load_acquire(&shm_proc_cell(w->reg->arena, q->slot, cell)[SHM_GAUGE_STAMP]) != 0)
            return true;
    }
    return false;
}

/* Merge (v, stamp) into the accumulator of a one-sample mode. */
static void merge(uint32_t mode, bool *any, double *acc, uint64_t *best, double v, uint64_t stamp)
{
    switch (mode) {
    case SHM_MODE_SUM:
        *acc = *any ? *acc + v : v;
        break;
    case SHM_MODE_MIN:
        *acc = !*any || v < *acc ? v : *acc;
        break;
    case SHM_MODE_MAX:
        *acc = !*any || v > *acc ? v : *acc;
        break;
    case SHM_MODE_MOSTRECENT:
        if (!*any || stamp >= *best) {
            *best = stamp;
            *acc = v;
        }
        break;
    }
    *any = true;
}

/* Merge the cells of one series in the process units by the family's
 * mode into *acc (*any: some cell had a stamp; *best_stamp: the largest),
 * or, in modes all and liveall, append one sample per pid.  The live modes
 * read live processes only; sum, min, max and mostrecent also the retired
 * unit (processes whose slot was reclaimed). */
static int unit_merge(struct walk *w, const struct fam *f, uint64_t cell, const char *key, shmetrics_sample_t *out,
                      size_t *n, bool *any_out, double *acc_out, uint64_t *stamp_out)
{
    const struct shm_arena *a = w->reg->arena;
    bool live_only = f->v.mode >= SHM_MODE_LIVE;
    uint32_t mode = live_only ? f->v.mode - SHM_MODE_LIVE : f->v.mode;
    bool any = false;
    double acc = 0;
    uint64_t best_stamp = 0;
    for (uint32_t i = 0; i <= w->nprocs; i++) {
        bool retired = i == w->nprocs;
        if (retired ? live_only || mode == SHM_MODE_ALL : live_only && !w->procs[i].live)
            continue;
        uint32_t slot = retired ? shm_processes_cap(a) : w->procs[i].slot;
        /* Beyond the unit's allocated words, this process never wrote: the
         * pages there may not exist, and reading would allocate them. */
        if (cell + SHM_GAUGE_CELLS > shm_unit_ready_words(a, slot))
            continue;
        const uint64_t *c = shm_proc_cell(a, slot, cell);
        uint64_t stamp = shmetrics_load_acquire(&c[SHM_GAUGE_STAMP]);
        if (stamp == 0)
            continue;
        double v = smx_load_double(&c[SHM_GAUGE_VALUE]);
        if (mode == SHM_MODE_ALL) {
            /* One sample per pid: a pid in two slots (a process that
             * attached twice, or a reused pid) shows the best slot that
             * wrote this series. */
            if (hidden_by_better(w, i, cell, live_only))
                continue;
            int rc = add_sample(w, f, key, "", "pid", w->procs[i].pid, v, out, n);
            if (rc < 0)
                return rc;
            continue;
        }
        merge(mode, &any, &acc, &best_stamp, v, stamp);
    }
    *any_out = any;
    *acc_out = acc;
    *stamp_out = best_stamp;
    return 0;
}

/* Append the samples of one gauge series, merged by the family's mode. */
static int gauge_samples(struct walk *w, const struct fam *f, uint64_t cell, const char *key, shmetrics_sample_t *out,
                         size_t *n)
{
    bool any;
    double acc;
    uint64_t stamp;
    int rc = unit_merge(w, f, cell, key, out, n, &any, &acc, &stamp);
    uint32_t mode = f->v.mode >= SHM_MODE_LIVE ? f->v.mode - SHM_MODE_LIVE : f->v.mode;
    if (rc == 0 && mode != SHM_MODE_ALL && any)
        rc = add_sample(w, f, key, "", NULL, NULL, acc, out, n);
    return rc;
}

/* One sample per state of a stateset series: 1 for the state whose index
 * the most recent cell holds, 0 for the others.  -EBADMSG for an index
 * that names no state (damage). */
static int stateset_samples(struct walk *w, const struct fam *f, const struct shm_series_view *sv, const char *key,
                            shmetrics_sample_t *out, size_t *n)
{
    bool any;
    double idx;
    uint64_t stamp;
    int rc = unit_merge(w, f, sv->cell, key, out, n, &any, &idx, &stamp);
    if (rc < 0 || !any)
        return rc;
    if (!(idx >= 0 && idx < f->v.nstates && idx == floor(idx)))
        return smx_fail(-EBADMSG, "series record %u: state index %g out of range (%u states)", sv->idx, idx,
                        f->v.nstates);
    for (uint32_t i = 0; rc == 0 && i < f->v.nstates; i++)
        rc = add_sample(w, f, key, "", f->name, f->states[i], i == (uint32_t)idx ? 1.0 : 0.0, out, n);
    return rc;
}

static const char *float_label(struct walk *w, double v)
{
    char buf[40];
    smx_label_float(buf, sizeof buf, v);
    return pool_strndup(w->snap, buf, strlen(buf));
}

/* A family's le (histogram, with +Inf last) or quantile label values, made
 * once per scrape and shared by its series. */
static const char **bound_labels(struct walk *w, struct fam *f)
{
    if (f->bounds)
        return f->bounds;
    bool hist = f->v.type == SHM_TYPE_HISTOGRAM;
    uint32_t n = hist ? f->v.nbuckets + 1 : f->v.nquantiles;
    const char **l = pool_alloc(w->snap, sizeof *l * (n ? n : 1));
    for (uint32_t i = 0; l && i < n; i++)
        if (!(l[i] = float_label(w, hist ? (i < f->v.nbuckets ? f->v.buckets[i] : INFINITY) : f->v.quantiles[i])))
            return NULL;
    return f->bounds = l;
}

static void *snap_alloc(void *snap, size_t n)
{
    return pool_alloc(snap, n);
}

/* A histogram series: its classic buckets (a native-only one: the +Inf
 * bucket alone, as client_golang's text has it), _sum and _count, which
 * carries the native buckets of a native histogram. */
static int histogram_samples(struct walk *w, struct fam *f, const struct shm_series_view *sv, const char *key,
                             shmetrics_sample_t *out, size_t *n)
{
    uint64_t cum[SHM_MAX_BUCKETS + 1];
    double sum;
    bool nat = f->v.native_kind != SHM_NATIVE_NONE;
    struct smx_native_acc acc;
    if (nat && smx_native_acc_init(&acc, &f->v) < 0)
        return -ENOMEM;
    int rc = smx_histogram_read(w->reg->arena, sv, &f->v, cum, &sum, nat ? &acc : NULL);
    shmetrics_native_histogram_t *nh = NULL;
    if (rc == 0 && nat) {
        nh = pool_alloc(w->snap, sizeof *nh);
        rc = nh ? smx_native_build(&acc, &f->v, cum[f->v.nbuckets], sum, snap_alloc, w->snap, nh) : -ENOMEM;
    }
    if (nat)
        smx_native_acc_free(&acc);
    if (rc < 0)
        return rc;
    const char **le = bound_labels(w, f);
    rc = le ? 0 : -ENOMEM;
    for (uint32_t b = 0; rc == 0 && b <= f->v.nbuckets; b++)
        rc = add_sample(w, f, key, "_bucket", "le", le[b], (double)cum[b], out, n);
    if (rc == 0)
        rc = add_sample(w, f, key, "_sum", NULL, NULL, sum, out, n);
    if (rc == 0) /* the +Inf bucket, so that the two never disagree */
        rc = add_sample(w, f, key, "_count", NULL, NULL, (double)cum[f->v.nbuckets], out, n);
    if (rc == 0)
        out[*n - 1].native = nh;
    return rc;
}

static int summary_samples(struct walk *w, struct fam *f, const struct shm_series_view *sv, const char *key,
                           shmetrics_sample_t *out, size_t *n)
{
    struct smx_window win = {w->reg->arena, *sv, f->v, (uint64_t)f->v.max_age_ms * 1000000u / f->v.age_buckets};
    double qv[SHM_MAX_QUANTILES];
    uint64_t count;
    double sum;
    int rc = smx_summary_quantiles(&win, w->now_ns, f->v.quantiles, f->v.nquantiles, qv);
    if (rc == 0)
        rc = smx_summary_totals(&win, &count, &sum);
    if (rc < 0)
        return rc;
    const char **ql = bound_labels(w, f);
    if (rc == 0 && !ql)
        rc = -ENOMEM;
    for (uint32_t j = 0; rc == 0 && j < f->v.nquantiles; j++)
        rc = add_sample(w, f, key, "", "quantile", ql[j], qv[j], out, n);
    if (rc == 0)
        rc = add_sample(w, f, key, "_sum", NULL, NULL, sum, out, n);
    if (rc == 0)
        rc = add_sample(w, f, key, "_count", NULL, NULL, (double)count, out, n);
    return rc;
}

/* An info series as the reader knows it: its copied key (NULL for the
 * overflow series), the length of its label values in it, and its most
 * recent cell. */
struct info_row {
    uint32_t rec;
    const char *key;
    size_t key_len, prefix;
    bool any;
    uint64_t stamp;
};

/* The label set of a row: the overflow series after the others, then by
 * label values, then by record. */
static int info_cmp(const void *x, const void *y)
{
    const struct info_row *a = x, *b = y;
    if (!a->key != !b->key)
        return a->key ? -1 : 1;
    if (a->key) {
        int c = memcmp(a->key, b->key, a->prefix < b->prefix ? a->prefix : b->prefix);
        if (c || a->prefix != b->prefix)
            return c ? c : a->prefix < b->prefix ? -1 : 1;
    }
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

static bool same_set(const struct info_row *a, const struct info_row *b)
{
    return !a->key == !b->key && (!a->key || (a->prefix == b->prefix && memcmp(a->key, b->key, a->prefix) == 0));
}

static int by_rec(const void *x, const void *y)
{
    const struct info_row *a = x, *b = y;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

/* The sample of an info value set: name_info{labels, pairs} 1. */
static int info_sample(struct walk *w, const struct fam *f, const struct info_row *r, shmetrics_sample_t *out,
                       size_t *n)
{
    if (!r->key)
        return add_sample(w, f, NULL, "_info", NULL, NULL, 1.0, out, n);
    uint32_t members = 0;
    for (size_t i = 0; i < r->key_len; i++)
        members += r->key[i] == 0;
    uint32_t nl = f->v.nlabels + (members - f->v.nlabels) / 2;
    shmetrics_label_t *l = pool_alloc(w->snap, sizeof *l * (nl ? nl : 1));
    if (!l)
        return -ENOMEM;
    const char *p = r->key;
    for (uint32_t i = 0; i < nl; i++) {
        if (i < f->v.nlabels) {
            l[i].name = f->lnames[i];
        } else {
            l[i].name = p;
            p += strlen(p) + 1;
        }
        l[i].value = p;
        p += strlen(p) + 1;
    }
    shmetrics_sample_t *s = &out[(*n)++];
    *s = (shmetrics_sample_t){.suffix = "_info", .nlabels = nl, .labels = l, .value = 1.0};
    return 0;
}

/* The samples of an info family: per label set, the value set whose cell
 * was written last (largest stamp over its cells in every process, as a
 * mostrecent gauge; a tie goes to the later record), in record order. */
static int info_samples(struct walk *w, struct fam *f, const struct shm_series_view *sv, const uint32_t *order,
                        shmetrics_sample_t *out, size_t *n)
{
    struct info_row *rows = malloc(sizeof *rows * (f->nseries ? f->nseries : 1));
    if (!rows)
        return -ENOMEM;
    uint32_t nr = 0;
    int rc = 0;
    for (uint32_t j = 0; rc == 0 && j < f->nseries; j++) {
        const struct shm_series_view *s = &sv[order[f->first + j]];
        struct info_row *r = &rows[nr];
        *r = (struct info_row){.rec = s->idx};
        if (!(s->flags & SHM_SERIES_OVERFLOW)) {
            char *key = pool_strndup(w->snap, s->key, s->key_len);
            if (!key) {
                rc = -ENOMEM;
                break;
            }
            if (!smx_info_key_ok(key, s->key_len, f->v.nlabels, f->labels, f->v.labels_len)) {
                char why[64];
                snprintf(why, sizeof why, "series record %u: changed while it was read", s->idx);
                damage(w->snap, why);
                continue;
            }
            r->key = key;
            r->key_len = s->key_len;
            for (uint32_t i = 0; i < f->v.nlabels; i++)
                r->prefix += strlen(key + r->prefix) + 1;
        }
        double v;
        rc = unit_merge(w, f, s->cell, r->key, out, n, &r->any, &v, &r->stamp);
        nr++;
    }
    if (rc == 0)
        qsort(rows, nr, sizeof *rows, info_cmp);
    /* The winner of each label set, moved to the front. */
    uint32_t nwin = 0;
    for (uint32_t g = 0; rc == 0 && g < nr;) {
        uint32_t e = g, best = UINT32_MAX;
        for (; e < nr && same_set(&rows[g], &rows[e]); e++)
            if (rows[e].any && (best == UINT32_MAX || rows[e].stamp >= rows[best].stamp))
                best = e;
        if (best != UINT32_MAX)
            rows[nwin++] = rows[best];
        g = e;
    }
    if (rc == 0)
        qsort(rows, nwin, sizeof *rows, by_rec);
    for (uint32_t i = 0; rc == 0 && i < nwin; i++)
        rc = info_sample(w, f, &rows[i], out, n);
    free(rows);
    return rc;
}

/* Samples per series of a family, at most. */
static size_t samples_per_series(const struct walk *w, const struct fam *f)
{
    switch (f->v.type) {
    case SHM_TYPE_GAUGE:
        return f->v.mode == SHM_MODE_ALL || f->v.mode == SHM_MODE_LIVEALL ? w->nprocs : 1;
    case SHM_TYPE_HISTOGRAM:
        return f->v.nbuckets + 3;
    case SHM_TYPE_SUMMARY:
        return f->v.nquantiles + 2;
    case SHM_TYPE_STATESET:
        return f->v.nstates;
    default:
        return 1;
    }
}

/* Bucket bounds and quantiles, copied and checked again like the strings
 * (a NaN quantile would reach a float-to-integer conversion).  -EBADMSG if
 * a copy fails the rules. */
static int copy_numbers(struct walk *w, struct shm_family_view *v)
{
    double *b = v->nbuckets ? pool_alloc(w->snap, sizeof *b * v->nbuckets) : NULL;
    double *q = v->nquantiles ? pool_alloc(w->snap, sizeof *q * v->nquantiles) : NULL;
    if ((v->nbuckets && !b) || (v->nquantiles && !q))
        return -ENOMEM;
    if (b)
        v->buckets = memcpy(b, v->buckets, sizeof *b * v->nbuckets);
    if (q)
        v->quantiles = memcpy(q, v->quantiles, sizeof *q * v->nquantiles);
    return smx_numbers_ok(b, v->nbuckets, false) && smx_numbers_ok(q, v->nquantiles, true) ? 0 : -EBADMSG;
}

static int walk_families(struct walk *w)
{
    const struct shm_arena *a = w->reg->arena;
    w->nfams = shm_families_used(a);
    w->fams = calloc(w->nfams ? w->nfams : 1, sizeof *w->fams);
    if (!w->fams)
        return -ENOMEM;
    for (uint32_t i = 0; i < w->nfams; i++) {
        struct fam *f = &w->fams[i];
        int rc = shm_family_view(a, i, &f->v);
        if (rc == -EBADMSG)
            damage(w->snap, shmetrics_errmsg());
        if (rc < 0)
            continue;
        f->lnames = pool_alloc(w->snap, sizeof(char *) * (f->v.nlabels ? f->v.nlabels : 1));
        if (!f->lnames)
            return -ENOMEM;
        /* Copy, then check the copies: the arena's bytes may change between
         * the view's validation and the copy. */
        char *labels = pool_strndup(w->snap, f->v.labels, f->v.labels_len);
        char *name = pool_strndup(w->snap, f->v.name, f->v.name_len);
        char *help = pool_strndup(w->snap, f->v.help, f->v.help_len);
        char *unit = pool_strndup(w->snap, f->v.unit, f->v.unit_len);
        char *states = pool_strndup(w->snap, f->v.states, f->v.states_len);
        f->states = pool_alloc(w->snap, sizeof(char *) * (f->v.nstates ? f->v.nstates : 1));
        if (!labels || !name || !help || !unit || !states || !f->states)
            return -ENOMEM;
        int nrc = copy_numbers(w, &f->v);
        if (nrc == -ENOMEM)
            return nrc;
        if (!smx_label_list_ok(labels, f->v.labels_len, f->v.nlabels) || !smx_metric_name_ok(name, f->v.name_len) ||
            !smx_utf8_ok(help, f->v.help_len) || nrc < 0 || (f->v.unit_len && !smx_unit_ok(unit, f->v.unit_len)) ||
            (f->v.nstates && !smx_state_list_ok(states, f->v.states_len, f->v.nstates))) {
            char why[64];
            snprintf(why, sizeof why, "family record %u: changed while it was read", i);
            damage(w->snap, why);
            continue;
        }
        const char *p = labels;
        for (uint32_t j = 0; j < f->v.nlabels; j++) {
            f->lnames[j] = p;
            p += strlen(p) + 1;
        }
        p = states;
        for (uint32_t j = 0; j < f->v.nstates; j++) {
            f->states[j] = p;
            p += strlen(p) + 1;
        }
        if (!smx_family_labels_ok(name, f->lnames, f->v.nlabels, f->v.type, f->v.mode)) {
            char why[96];
            snprintf(why, sizeof why, "family record %u: a label name repeats, or is one its type adds", i);
            damage(w->snap, why);
            continue;
        }
        f->name = name;
        f->help = help;
        f->unit = unit;
        f->labels = labels;
        f->ok = true;
    }
    /* No two families may expose one name: the first record keeps it. */
    struct smx_exposed *ex = smx_exposed_new(w->nfams);
    if (!ex)
        return -ENOMEM;
    for (uint32_t i = 0; i < w->nfams; i++) {
        struct fam *f = &w->fams[i];
        if (f->ok && !smx_exposed_claim(ex, i, f->name, f->v.type)) {
            char why[96];
            snprintf(why, sizeof why, "family record %u: %s exposes a name another family exposes", i, f->name);
            damage(w->snap, why);
            f->ok = false;
        }
    }
    smx_exposed_free(ex);
    return 0;
}

static int walk_procs(struct walk *w)
{
    const struct shm_arena *a = w->reg->arena;
    uint32_t cap = shm_processes_cap(a);
    w->procs = calloc(cap, sizeof *w->procs);
    w->snap->live = pool_alloc(w->snap, sizeof *w->snap->live * (cap ? cap : 1));
    if (!w->procs || !w->snap->live)
        return -ENOMEM;
    for (uint32_t i = 0; i < cap; i++) {
        struct shm_proc_view pv;
        int rc = shm_proc_view(a, i, &pv);
        if (rc == -EBADMSG)
            damage(w->snap, shmetrics_errmsg());
        if (rc < 0)
            continue;
        char pid[16];
        int n = snprintf(pid, sizeof pid, "%u", pv.pid);
        w->procs[w->nprocs].slot = i;
        w->procs[w->nprocs].live = shm_proc_alive(&pv);
        w->procs[w->nprocs].active = pv.state == SHM_PROC_ACTIVE;
        /* As shmetrics_processes tells them apart: exited, else alive. */
        if (pv.state == SHM_PROC_EXITED)
            w->snap->pub.procs_exited++;
        else if (w->procs[w->nprocs].live) {
            w->snap->pub.procs_attached++;
            w->snap->live[w->snap->nlive++] = (struct smx_live_proc){pv.pid, pv.start_time};
        } else
            w->snap->pub.procs_dead++;
        w->procs[w->nprocs].pidnum = pv.pid;
        w->procs[w->nprocs].attach_ns = pv.attach_ns;
        if (!(w->procs[w->nprocs].pid = pool_strndup(w->snap, pid, (size_t)n)))
            return -ENOMEM;
        w->nprocs++;
    }
    return 0;
}

static int build(struct walk *w)
{
    const struct shm_arena *a = w->reg->arena;
    struct snapshot *snap = w->snap;
    int rc = walk_families(w);
    if (rc == 0)
        rc = walk_procs(w);
    if (rc < 0)
        return rc;
    if ((rc = group_by_pid(w)) < 0)
        return rc;

    /* Group valid series by family: count, then place. */
    uint32_t ns = shm_series_used(a);
    struct shm_series_view *sv = w->sv = calloc(ns ? ns : 1, sizeof *sv);
    uint32_t *order = w->order = calloc(ns ? ns : 1, sizeof *order);
    if (!sv || !order)
        return -ENOMEM;
    for (uint32_t i = 0; i < ns; i++) {
        struct shm_series_view v;
        rc = shm_series_view(a, i, NULL, &v);
        /* A family published after the family walk, or one that failed
         * (and was counted) there: skip its series without counting. */
        if (rc == 0 && (v.family >= w->nfams || !w->fams[v.family].ok))
            rc = -EAGAIN;
        if (rc == 0)
            rc = shm_series_view(a, i, &w->fams[v.family].v, &v);
        if (rc == -EBADMSG || rc == -EINVAL)
            damage(snap, shmetrics_errmsg());
        if (rc < 0) {
            sv[i].family = UINT32_MAX;
            continue;
        }
        sv[i] = v;
        w->fams[v.family].nseries++;
        snap->pub.nseries++;
    }
    uint32_t pos = 0;
    for (uint32_t f = 0; f < w->nfams; f++) {
        w->fams[f].first = pos;
        pos += w->fams[f].nseries;
        w->fams[f].nseries = 0;
    }
    for (uint32_t i = 0; i < ns; i++)
        if (sv[i].family != UINT32_MAX) {
            struct fam *f = &w->fams[sv[i].family];
            order[f->first + f->nseries++] = i;
        }

    uint32_t nok = 0;
    for (uint32_t f = 0; f < w->nfams; f++)
        nok += w->fams[f].ok;
    shmetrics_family_t *out = pool_alloc(snap, sizeof *out * (nok ? nok : 1));
    rc = out ? 0 : -ENOMEM;
    size_t k = 0;
    for (uint32_t fi = 0; rc == 0 && fi < w->nfams; fi++) {
        struct fam *f = &w->fams[fi];
        if (!f->ok)
            continue;
        shmetrics_family_t *o = &out[k++];
        o->name = f->name;
        o->help = f->help;
        o->type = (shmetrics_type_t)f->v.type;
        o->gauge_mode = (shmetrics_gauge_mode_t)f->v.mode;
        o->unit = f->unit;
        size_t per = samples_per_series(w, f);
        shmetrics_sample_t *samples = pool_alloc(snap, sizeof *samples * (f->nseries * per + 1));
        if (!o->name || !o->help || !samples) {
            rc = -ENOMEM;
            break;
        }
        size_t n = 0;
        if (f->v.type == SHM_TYPE_INFO) {
            rc = info_samples(w, f, sv, order, samples, &n);
            o->samples = samples;
            o->nsamples = n;
            continue;
        }
        for (uint32_t j = 0; rc == 0 && j < f->nseries; j++) {
            const struct shm_series_view *s = &sv[order[f->first + j]];
            bool overflow = s->flags & SHM_SERIES_OVERFLOW;
            char *key = overflow ? NULL : pool_strndup(snap, s->key, s->key_len);
            if (!overflow && !key) {
                rc = -ENOMEM;
                break;
            }
            if (key && !smx_value_list_ok(key, s->key_len, f->v.nlabels)) {
                char why[64];
                snprintf(why, sizeof why, "series record %u: changed while it was read", order[f->first + j]);
                damage(snap, why); /* changed since its view was checked */
                continue;
            }
            /* Counters, histograms and summaries carry their creation time,
             * which must be one: set, and not more than a day ahead. */
            bool dated = f->v.type == SHM_TYPE_COUNTER || f->v.type == SHM_TYPE_HISTOGRAM ||
                         f->v.type == SHM_TYPE_SUMMARY;
            if (dated && !smx_created_ok(s->created_ns, w->real_ns)) {
                char why[96];
                snprintf(why, sizeof why, "series record %u: creation time %llu ns is not plausible",
                         order[f->first + j], (unsigned long long)s->created_ns);
                damage(snap, why);
                continue;
            }
            size_t first = n;
            switch (f->v.type) {
            case SHM_TYPE_GAUGE:
                rc = gauge_samples(w, f, s->cell, key, samples, &n);
                break;
            case SHM_TYPE_STATESET:
                rc = stateset_samples(w, f, s, key, samples, &n);
                break;
            case SHM_TYPE_HISTOGRAM:
                rc = histogram_samples(w, f, s, key, samples, &n);
                break;
            case SHM_TYPE_SUMMARY:
                rc = summary_samples(w, f, s, key, samples, &n);
                break;
            default: {
                double value;
                rc = smx_counter_read(a, s, &f->v, &value);
                if (rc == 0)
                    rc = add_sample(w, f, key, "_total", NULL, NULL, value, samples, &n);
                break;
            }
            }
            if (rc == 0 && (f->v.type == SHM_TYPE_COUNTER || f->v.type == SHM_TYPE_HISTOGRAM))
                rc = attach_exemplars(w, f, order[f->first + j], samples + first);
            if (rc == -EBADMSG) {
                /* A damaged stripe set, a state that is none: the series is
                 * skipped, the rest read. */
                damage(snap, shmetrics_errmsg());
                n = first;
                rc = 0;
            }
            for (size_t k = first; dated && k < n; k++)
                samples[k].created = smx_ns_to_s(s->created_ns);
        }
        o->samples = samples;
        o->nsamples = n;
    }
    snap->pub.families = out;
    snap->pub.nfamilies = k;
    return rc;
}

int shmetrics_collect(shmetrics_registry_t *reg, shmetrics_snapshot_t **out)
{
    return shmetrics_collect_at(reg, smx_coarse_ns(), out);
}

int shmetrics_collect_at(shmetrics_registry_t *reg, uint64_t now_ns, shmetrics_snapshot_t **out)
{
    if (!reg || !out)
        return smx_fail(-EINVAL, "no registry or out pointer given");
    if (smx_registry_check(reg, __func__) < 0)
        return -EINVAL;
    struct snapshot *snap = calloc(1, sizeof *snap);
    struct walk *w = calloc(1, sizeof *w);
    if (!snap || !w) {
        free(snap);
        free(w);
        return smx_fail(-ENOMEM, "out of memory");
    }
    snap->magic = SMX_SNAPSHOT_MAGIC;
    *w = (struct walk){.reg = reg, .now_ns = now_ns, .real_ns = smx_real_ns(), .snap = snap};
    /* The arena file may be truncated under us, or a page of it may find no
     * memory in a full filesystem: a SIGBUS while reading it lands here
     * (shm/guard.c).  `w` is in memory, so what build() set
     * before the fault is there to free. */
    sigjmp_buf jb;
    int rc;
    if (sigsetjmp(jb, 1)) {
        rc = -EFAULT;
    } else {
        shm_guard_enter(&jb);
        rc = build(w);
        shm_guard_leave();
    }
    free(w->fams);
    free(w->procs);
    free(w->by_pid);
    free(w->sv);
    free(w->order);
    free(w);
    if (rc < 0) {
        shmetrics_snapshot_free(&snap->pub);
        return rc == -EFAULT ? shm_arena_fault(reg->arena, "collecting metrics")
                             : smx_fail(rc, "collecting metrics: out of memory");
    }
    *out = &snap->pub;
    return 0;
}
