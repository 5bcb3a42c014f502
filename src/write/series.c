/* SPDX-License-Identifier: MIT */
/*
 * src/write/series.c - owns series handles: resolving label values to a series
 * through the process's lock-free cache (cds_lfht keyed by metric and
 * values), registering it in the arena on a miss, and the out-of-line
 * parts of the hot paths (fractional counter increments, gauge CAS loops,
 * claiming the process slot on a first gauge write).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/error.h"
#include "registry.h"
#include "shm/hash.h"
#include "shm/layout.h"
#include "shm/names.h"

#define KEY_STACK 512

struct series_key {
    const struct smx_metric *metric;
    const char *key;
    size_t len;
};

static int series_match(struct cds_lfht_node *node, const void *key)
{
    const struct smx_series *s = caa_container_of(node, struct smx_series, node);
    const struct series_key *k = key;
    SMX_FOUND(s);
    return s->metric == k->metric && s->key_len == k->len && memcmp(s->key, k->key, k->len) == 0;
}

/* The series {metric=`metric`} of one of the registry's own counters
 * (`*family`: reg->self_*), registering the family in the arena the first
 * time it is needed. */
static int self_series(shmetrics_registry_t *reg, struct smx_metric **family, const char *name, const char *help,
                       const char *metric, shmetrics_counter_series_t **out)
{
    struct smx_metric *f = shmetrics_load_acquire(family);
    if (!f) {
        static const char *const lbl[] = {"metric"};
        shmetrics_spec_t spec = {.name = name,
                                 .help = help,
                                 .label_names = lbl,
                                 .nlabels = 1,
                                 .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
        int rc = smx_metric_register(reg, &spec, SHMETRICS_COUNTER, &f);
        if (rc < 0)
            return rc;
        shmetrics_store_release(family, f);
    }
    return shmetrics_counter_labelv((shmetrics_counter_t *)f, 1, &metric, out);
}

/* Fill the handle of a new series from its cells. */
static int handle_init(struct smx_series *s, uint64_t cell)
{
    const struct smx_metric *m = s->metric;
    shmetrics_registry_t *reg = m->reg;
    uint64_t *pool = shm_pool(reg->arena);
    struct shmetrics_cells_ cells = {pool + cell, 0, SHM_STRIPE_WORDS(m->ncells)};
    switch (m->type) {
    case SHMETRICS_INFO:
    case SHMETRICS_STATESET:
        /* Mostrecent gauges: the gauge handle leads both handles. */
        s->h.gauge.unit = &reg->proc_unit;
        s->h.gauge.off = (size_t)cell * SHM_CELL_BYTES;
        s->h.gauge.stamped = 1;
        s->h.gauge.reg = reg;
        if (m->type == SHMETRICS_STATESET)
            s->h.enumeration.nstates = m->nstates;
        break;
    case SHMETRICS_GAUGE:
        s->h.gauge.unit = &reg->proc_unit;
        s->h.gauge.off = (size_t)cell * SHM_CELL_BYTES;
        s->h.gauge.stamped = m->mode == SHMETRICS_MODE_MOSTRECENT || m->mode == SHMETRICS_MODE_LIVEMOSTRECENT;
        s->h.gauge.reg = reg;
        s->h.gauge.min_interval_ns = (uint64_t)m->min_interval_us * 1000u;
        if (s->h.gauge.min_interval_ns)
            return self_series(reg, &reg->self_sets_dropped, "shmetrics_gauge_sets_dropped",
                               "Sets of rate-limited gauges dropped because they came too soon.", m->name,
                               &s->h.gauge.drops);
        break;
    case SHMETRICS_HISTOGRAM:
        s->h.histogram = (struct shmetrics_histogram_series){cells, m->nbuckets, m->bounds,
                                                             m->native_kind != SHM_NATIVE_NONE ? &m->native : NULL};
        break;
    case SHMETRICS_SUMMARY:
        s->h.summary = (struct shmetrics_summary_series){
            cells, m->age_buckets, (uint64_t)m->max_age_ms * 1000000u / m->age_buckets, SHM_AGE_SLOT_WORDS};
        break;
    case SHMETRICS_COUNTER:
        s->h.counter = (struct shmetrics_counter_series){cells};
        break;
    default:
        /* A metric object is built from a validated family view. */
        SMX_UNREACHABLE();
    }
    return 0;
}

/* Claim this process's slot in the process table if it has none yet; a
 * full table leaves it without one (its gauges then fail with -ENOSPC).
 * Under reg->lock. */
static void claim_slot_locked(shmetrics_registry_t *reg)
{
    uint32_t slot;
    if (!reg->have_slot && shm_proc_claim(reg->arena, &slot) == 0) {
        reg->proc_slot = slot;
        reg->have_slot = true;
    }
}

/* A gauge's cell in this process's unit must be real before the first
 * write: claim the slot if there is none yet, then allocate the unit up to
 * the cell. */
static int gauge_ready(struct smx_series *s)
{
    shmetrics_registry_t *reg = s->metric->reg;
    if (!shmetrics_gauge_cell_(&s->h.gauge)) /* no slot, or its unit could not be allocated */
        return smx_fail_prefix(-ENOSPC, "%s", s->metric->name);
    /* The slot another thread may have claimed: read under the lock it
     * was written under. */
    SMX_CHECK_ZERO(pthread_mutex_lock(&reg->lock));
    uint32_t slot = reg->proc_slot;
    SMX_CHECK_ZERO(pthread_mutex_unlock(&reg->lock));
    int rc = shm_unit_ready(reg->arena, slot, s->h.gauge.off / sizeof(uint64_t) + SHM_GAUGE_CELLS);
    return rc < 0 ? smx_fail_prefix(rc, "%s", s->metric->name) : 0;
}

/* As in prometheus_client, a gauge series this process has resolved reads
 * 0 for this process until it is set: mark the cell written.  An enum or
 * info series (`oldest`) is stamped 1, older than any set: a process that
 * only resolved it shows its first state (or no pairs) until some process
 * sets it, and never hides a set made before. */
static int gauge_touch(struct shmetrics_gauge_series *g, bool oldest)
{
    uint64_t *cell = shmetrics_gauge_cell_(g);
    if (!cell)
        return -ENOSPC;
    /* A rate-limited gauge's stamp is its last accepted set: 1 is none. */
    shmetrics_cas_seq_cst(&cell[SHM_GAUGE_STAMP], (uint64_t)0,
                          g->stamped && !g->min_interval_ns && !oldest ? shmetrics_now_ns_() : (uint64_t)1);
    return 0;
}

static int series_create(struct smx_metric *m, const struct series_key *k, uint64_t hash, size_t n,
                         const char *const *values, struct smx_series **out)
{
    shmetrics_registry_t *reg = m->reg;
    for (uint32_t i = 0; i < n; i++)
        if (!smx_utf8_ok(values[i], strlen(values[i])))
            return smx_fail(-EINVAL, "label value %u of %s is not valid UTF-8", i + 1, m->name);
    if (shm_arena_readonly(reg->arena))
        return smx_fail(-EROFS, "cannot add a series to %s: the arena is open read-only", m->name);
    uint32_t idx, flags = 0;
    uint64_t cell;
    int rc = shm_series_register(reg->arena, m->idx, k->key, k->len, 0, &idx, &cell);
    if (rc == -EDQUOT) {
        /* Over the metric's cardinality limit: this label set shares the
         * overflow series (key: every value empty). */
        char empty[SHM_MAX_LABELS];
        memset(empty, 0, sizeof empty);
        flags = SHM_SERIES_OVERFLOW;
        rc = shm_series_register(reg->arena, m->idx, empty, m->nlabels, flags, &idx, &cell);
        /* Count the fold, best effort; but not a fold of that count itself
         * (the count's record may say it is over its limit, as a damaged
         * arena may): that would count again, and so on until the stack ran
         * out. */
        shmetrics_counter_series_t *over;
        if (rc == 0 && m != shmetrics_load_acquire(&reg->self_overflow) &&
            self_series(reg, &reg->self_overflow, "shmetrics_cardinality_overflow",
                        "Label sets folded into their metric's overflow series (per process, per label set).", m->name,
                        &over) == 0)
            shmetrics_counter_add(over, 1);
    }
    if (rc < 0)
        return rc;
    struct smx_series *s = calloc(1, sizeof *s + k->len);
    if (!s)
        return smx_fail(-ENOMEM, "out of memory");
    s->metric = m;
    s->hash = hash;
    s->idx = idx;
    s->flags = flags;
    s->key_len = k->len;
    memcpy(s->key, k->key, k->len);
    /* Every process that writes holds a slot, so that the collector knows
     * it (the workers' process_* metrics), whatever it writes; a gauge's
     * cells need one. */
    SMX_CHECK_ZERO(pthread_mutex_lock(&reg->lock));
    claim_slot_locked(reg);
    SMX_CHECK_ZERO(pthread_mutex_unlock(&reg->lock));
    if ((rc = handle_init(s, cell)) < 0 ||
        (SHM_TYPE_IN_UNITS(m->type) &&
         ((rc = gauge_ready(s)) < 0 || (rc = gauge_touch(&s->h.gauge, m->type != SHMETRICS_GAUGE)) < 0))) {
        free(s);
        return rc;
    }
    cds_lfht_node_init(&s->node);
    SMX_PUBLISHED(s);
    struct series_key mine = {m, s->key, s->key_len};
    urcu_bp_read_lock();
    struct cds_lfht_node *got = cds_lfht_add_unique(reg->series, hash, series_match, &mine, &s->node);
    urcu_bp_read_unlock();
    if (got != &s->node) {
        free(s);
        s = caa_container_of(got, struct smx_series, node);
    }
    *out = s;
    return 0;
}

/* The key of a label set: each value followed by a NUL, in `stack` when
 * it fits, else in a malloc'd buffer (*key != stack: the caller frees). */
static int encode_key(const struct smx_metric *m, size_t n, const char *const *values, char *stack, char **key,
                      size_t *len)
{
    if (n != m->nlabels)
        return smx_fail(-EINVAL, "%s has %u label names, %zu values given", m->name, m->nlabels, n);
    size_t total = 0, lens[SHM_MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        if (!values[i])
            return smx_fail(-EINVAL, "label value %zu of %s is NULL", i + 1, m->name);
        size_t l = lens[i] = strlen(values[i]);
        if (l > SHM_MAX_LABEL_VALUE)
            return smx_fail(-EINVAL, "label value %zu of %s is longer than %u bytes", i + 1, m->name,
                            SHM_MAX_LABEL_VALUE);
        total += l + 1;
    }
    *key = total > KEY_STACK ? malloc(total) : stack;
    if (!*key)
        return smx_fail(-ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(*key + o, values[i], lens[i] + 1);
        o += lens[i] + 1;
    }
    *len = total;
    return 0;
}

/* The series of an encoded key (label values, and an info series' pairs),
 * registered on a miss; `values` are its members, for the checks of a new
 * series. */
static int series_get_key(struct smx_metric *m, const char *key, size_t len, size_t n, const char *const *values,
                          struct smx_series **out)
{
    int rc = 0;
    struct series_key k = {m, key, len};
    uint64_t hash = shm_hash_series(m->idx, key, len);
    struct cds_lfht_iter iter;
    urcu_bp_read_lock();
    cds_lfht_lookup(m->reg->series, hash, series_match, &k, &iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
    urcu_bp_read_unlock();
    if (!node) {
        rc = series_create(m, &k, hash, n, values, out);
    } else {
        struct smx_series *s = caa_container_of(node, struct smx_series, node);
        uint32_t idx;
        uint64_t cell;
        /* Removed since it was cached (by any process)?  Look only when the
         * arena's removal count moved since this entry was last checked. */
        /* Acquire: a record removed before the count moved reads REMOVED. */
        uint64_t removals = shmetrics_load_acquire(m->reg->removals);
        bool moved = removals != shmetrics_load_relaxed(&s->removals_seen);
        if (moved && shm_series_removed(m->reg->arena, s->idx) && !shm_arena_readonly(m->reg->arena)) {
            char empty[SHM_MAX_LABELS] = {0};
            bool over = s->flags & SHM_SERIES_OVERFLOW;
            rc = shm_series_register(m->reg->arena, m->idx, over ? empty : key, over ? m->nlabels : len, s->flags, &idx,
                                     &cell);
        }
        /* Written only when it moved: threads sharing this entry keep its
         * cache line read-only. */
        if (rc == 0 && moved)
            shmetrics_store_relaxed(&s->removals_seen, removals);
        *out = s;
    }
    return rc;
}

int smx_series_get(struct smx_metric *m, size_t n, const char *const *values, struct smx_series **out)
{
    if (!m || !out)
        return smx_fail(-EINVAL, "no metric or out pointer given");
    char stack[KEY_STACK], *key;
    size_t len;
    int rc = encode_key(m, n, values, stack, &key, &len);
    if (rc < 0)
        return rc;
    rc = series_get_key(m, key, len, n, values, out);
    if (key != stack)
        free(key);
    return rc;
}

int smx_info_series_get(struct smx_metric *m, const char *key, size_t key_len, const shmetrics_label_t *pairs, size_t n,
                        struct smx_series **out)
{
    /* Checked by the caller: n + labels <= SHM_MAX_LABELS, names and
     * values.  The members: label values (from the key), then pairs. */
    const char *values[3 * SHM_MAX_LABELS] = {0};
    size_t nv = 0, len = key_len;
    for (const char *p = key; p < key + key_len; p += strlen(p) + 1)
        values[nv++] = p;
    for (size_t i = 0; i < n; i++) {
        values[nv++] = pairs[i].name;
        values[nv++] = pairs[i].value;
        len += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
    }
    char stack[KEY_STACK] = {0};
    char *full = len > KEY_STACK ? malloc(len) : stack;
    if (!full)
        return smx_fail(-ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t l = strlen(values[i]) + 1;
        memcpy(full + o, values[i], l);
        o += l;
    }
    int rc = series_get_key(m, full, len, nv, values, out);
    if (full != stack)
        free(full);
    return rc;
}

int smx_series_remove(struct smx_metric *m, size_t n, const char *const *values)
{
    if (!m)
        return smx_fail(-EINVAL, "no metric given");
    if (shm_arena_readonly(m->reg->arena))
        return smx_fail(-EROFS, "cannot remove a series of %s: the arena is open read-only", m->name);
    char stack[KEY_STACK], *key;
    size_t len;
    int rc = encode_key(m, n, values, stack, &key, &len);
    if (rc < 0)
        return rc;
    uint32_t idx;
    struct shm_family_view f;
    if ((rc = shm_family_view(m->reg->arena, m->idx, &f)) == 0 &&
        (rc = shm_series_find(m->reg->arena, m->idx, key, len, 0, &idx)) == 0)
        rc = shm_series_remove(m->reg->arena, idx, &f);
    if (m->type == SHMETRICS_INFO && (rc == 0 || rc == -ENOENT)) {
        /* And every value set of the label set: the series whose keys
         * start with its label values. */
        struct shm_arena *a = m->reg->arena;
        uint32_t ns = shm_series_used(a);
        for (uint32_t i = 0; i < ns; i++) {
            struct shm_series_view v;
            if (shm_series_with_family(a, i, &v, &f) == 0 && v.family == m->idx && !(v.flags & SHM_SERIES_OVERFLOW) &&
                v.key_len > len && memcmp(v.key, key, len) == 0 && shm_series_remove(a, i, &f) == 0)
                rc = 0;
        }
    }
    if (key != stack)
        free(key);
    return rc == -ENOENT ? smx_fail(-ENOENT, "%s has no such label set", m->name) : rc;
}

int smx_series_clear(struct smx_metric *m)
{
    if (!m)
        return smx_fail(-EINVAL, "no metric given");
    struct shm_arena *a = m->reg->arena;
    if (shm_arena_readonly(a))
        return smx_fail(-EROFS, "cannot clear %s: the arena is open read-only", m->name);
    uint32_t ns = shm_series_used(a);
    for (uint32_t i = 0; i < ns; i++) {
        struct shm_series_view v;
        struct shm_family_view f;
        if (shm_series_with_family(a, i, &v, &f) == 0 && v.family == m->idx)
            shm_series_remove(a, i, &f);
    }
    return 0;
}

/* Collect the NULL-ended variadic values. */
static int collect_args(const struct smx_metric *m, va_list ap, const char **values, size_t *n)
{
    size_t i = 0;
    const char *v;
    while ((v = va_arg(ap, const char *)) != NULL) {
        if (i == SHM_MAX_LABELS)
            return smx_fail(-EINVAL, "%s has %u label names, more than %u values given", m->name, m->nlabels,
                            SHM_MAX_LABELS);
        values[i++] = v;
    }
    *n = i;
    return 0;
}

/* The handle of a typed entry point: its magic and its type checked. */
#define SMX_METRIC_OF(m, TYPE) (smx_metric_check((m) ? &(m)->m : NULL, SHMETRICS_##TYPE, __func__))

/* The prologue of a variadic entry point: check the handle, then collect
 * the NULL-ended label values after argument `last` into values[0..n). */
#define SMX_VALUES_AFTER(last, m, TYPE, values, n, rc)       \
    do {                                                     \
        if (((rc) = SMX_METRIC_OF(m, TYPE)) == 0) {          \
            va_list ap_;                                     \
            va_start(ap_, last);                             \
            (rc) = collect_args(&(m)->m, ap_, values, &(n)); \
            va_end(ap_);                                     \
        }                                                    \
    } while (0)

/* The two look-up entry points of each metric type, typed for the caller
 * and sharing smx_series_get. */
#define SMX_LABEL_FUNCTIONS(type, TYPE, member)                                                    \
    int shmetrics_##type##_labelv(shmetrics_##type##_t *m, size_t n, const char *const *values,    \
                                  shmetrics_##type##_series_t **out)                               \
    {                                                                                              \
        struct smx_series *s;                                                                      \
        int rc = SMX_METRIC_OF(m, TYPE);                                                           \
        if (rc == 0 && (rc = smx_series_get(&m->m, n, values, &s)) == 0)                           \
            *out = &s->h.member;                                                                   \
        return rc;                                                                                 \
    }                                                                                              \
    int shmetrics_##type##_labels(shmetrics_##type##_t *m, shmetrics_##type##_series_t **out, ...) \
    {                                                                                              \
        const char *values[SHM_MAX_LABELS];                                                        \
        size_t n = 0;                                                                              \
        int rc;                                                                                    \
        SMX_VALUES_AFTER(out, m, TYPE, values, n, rc);                                             \
        struct smx_series *s; /* the handle was checked above: not again */                        \
        if (rc == 0 && (rc = smx_series_get(&m->m, n, values, &s)) == 0)                           \
            *out = &s->h.member;                                                                   \
        return rc;                                                                                 \
    }

/* Removal, typed the same way. */
#define SMX_REMOVE_FUNCTIONS(type, TYPE)                                                         \
    int shmetrics_##type##_removev(shmetrics_##type##_t *m, size_t n, const char *const *values) \
    {                                                                                            \
        int rc = SMX_METRIC_OF(m, TYPE);                                                         \
        return rc < 0 ? rc : smx_series_remove(&m->m, n, values);                                \
    }                                                                                            \
    int shmetrics_##type##_remove(shmetrics_##type##_t *m, ...)                                  \
    {                                                                                            \
        const char *values[SHM_MAX_LABELS];                                                      \
        size_t n = 0;                                                                            \
        int rc;                                                                                  \
        SMX_VALUES_AFTER(m, m, TYPE, values, n, rc);                                             \
        return rc < 0 ? rc : smx_series_remove(&m->m, n, values);                                \
    }                                                                                            \
    int shmetrics_##type##_clear(shmetrics_##type##_t *m)                                        \
    {                                                                                            \
        int rc = SMX_METRIC_OF(m, TYPE);                                                         \
        return rc < 0 ? rc : smx_series_clear(&m->m);                                            \
    }

SMX_REMOVE_FUNCTIONS(counter, COUNTER)
SMX_REMOVE_FUNCTIONS(gauge, GAUGE)
SMX_REMOVE_FUNCTIONS(histogram, HISTOGRAM)
SMX_REMOVE_FUNCTIONS(summary, SUMMARY)
SMX_REMOVE_FUNCTIONS(info, INFO)
SMX_REMOVE_FUNCTIONS(enum, STATESET)

SMX_LABEL_FUNCTIONS(counter, COUNTER, counter)
SMX_LABEL_FUNCTIONS(gauge, GAUGE, gauge)
SMX_LABEL_FUNCTIONS(histogram, HISTOGRAM, histogram)
SMX_LABEL_FUNCTIONS(summary, SUMMARY, summary)
SMX_LABEL_FUNCTIONS(info, INFO, info)
SMX_LABEL_FUNCTIONS(enum, STATESET, enumeration)

/* ------------------------------------------------- out-of-line hot parts */

uint32_t shmetrics_cpu_slow_(void)
{
    int c = sched_getcpu();
    return c < 0 ? 0u : (uint32_t)c;
}

uint64_t shmetrics_now_ns_(void)
{
    return smx_real_ns();
}

int shmetrics_bad_value_(const char *op, double v)
{
    return smx_fail(-EINVAL, "%s: %g is %s; the value is unchanged", op, v,
                    isnan(v)   ? "not a number"
                    : isinf(v) ? "infinite"
                               : "negative");
}

/* Add `delta` to the double in *cell with a CAS loop. */
void shmetrics_add_double_(uint64_t *cell, double delta)
{
    uint64_t old = shmetrics_load_relaxed(cell);
    for (;;) {
        double d;
        memcpy(&d, &old, sizeof d);
        d += delta;
        uint64_t nbits;
        memcpy(&nbits, &d, sizeof nbits);
        uint64_t seen = shmetrics_cas_seq_cst(cell, old, nbits);
        if (seen == old)
            return;
        old = seen;
    }
}

int shmetrics_counter_inc_slow_(struct shmetrics_counter_series *s, double amount)
{
    if (!(amount >= 0.0) || isinf(amount))
        return shmetrics_bad_value_("counter increment", amount);
    shmetrics_add_double_(shmetrics_cells_(&s->cells) + SHM_COUNTER_FRAC, amount);
    return 0;
}

_Thread_local int32_t shmetrics_cpu_hook_ = -1;

void shmetrics_cpu_simulate(int32_t cpu)
{
    shmetrics_cpu_hook_ = cpu < 0 ? -1 : cpu;
}

/* The series behind a handle's cells: every handle the library hands out
 * is the union in a struct smx_series, each type's cells first. */
_Static_assert(offsetof(struct shmetrics_counter_series, cells) == 0, "counter cells first");
_Static_assert(offsetof(struct shmetrics_histogram_series, cells) == 0, "histogram cells first");
_Static_assert(offsetof(struct shmetrics_summary_series, cells) == 0, "summary cells first");

static const struct smx_series *series_of(const struct shmetrics_cells_ *c)
{
    return caa_container_of((const void *)c, const struct smx_series, h);
}

shmetrics_registry_t *smx_counter_registry(const shmetrics_counter_series_t *s)
{
    return series_of(&s->cells)->metric->reg;
}

uint64_t *shmetrics_cells_grow_(struct shmetrics_cells_ *c)
{
    const struct smx_series *s = series_of(c);
    const struct smx_metric *m = s->metric;
    struct shm_arena *a = m->reg->arena;
    uint64_t base_word = (uint64_t)(c->base - shm_pool(a));
    uint32_t cpu = shmetrics_cpu_();
    /* A CAS on the base block failed, or this CPU is beyond the process's
     * copy of the set: grow the series if the arena's newest set has no
     * stripe for this CPU either (and nobody else is growing it). */
    uint64_t d = shmetrics_load_acquire(&c->base[0]);
    uint32_t lg = (uint32_t)(d & SHM_DIR_LG_MASK);
    if (!(d & (SHM_DIR_NOGROW | SHM_DIR_GROWING)) && (lg == 0 || (cpu >> lg) != 0))
        shm_stripes_grow(a, s->idx, base_word, m->ncells, m->type, d, cpu);
    /* Then take a copy of the newest set, checked (a damaged one is not
     * copied: the base block serves). */
    uint64_t *first;
    bool nogrow;
    uintptr_t sp = 0;
    if (shm_stripes_newest(a, s->idx, base_word, m->ncells, m->type, &first, &lg, &nogrow) == 0 && (lg || nogrow))
        sp = (uintptr_t)first | lg | (nogrow ? SHMETRICS_STRIPES_NOGROW : 0u);
    shmetrics_store_relaxed(&c->stripes, sp);
    if (sp == 0)
        return c->base + 1;
    uint64_t *cells = shmetrics_stripe_(c, sp);
    /* Still beyond the newest set (another writer is growing it): this
     * update folds onto the stripes there are. */
    return cells ? cells : shmetrics_stripe_(c, sp | SHMETRICS_STRIPES_NOGROW);
}

void smx_cells_views(const struct shmetrics_cells_ *c, const struct shm_arena **a, struct shm_series_view *v,
                     struct shm_family_view *f)
{
    const struct smx_series *s = series_of(c);
    const struct smx_metric *m = s->metric;
    *a = m->reg->arena;
    memset(v, 0, sizeof *v);
    memset(f, 0, sizeof *f);
    v->idx = s->idx;
    v->family = m->idx;
    v->cell = (uint64_t)(c->base - shm_pool(*a));
    f->idx = m->idx;
    f->type = m->type;
    f->ncells = m->ncells;
    f->nbuckets = m->nbuckets;
    f->age_buckets = m->age_buckets;
    f->max_age_ms = m->max_age_ms;
    f->native_kind = m->native_kind;
    f->native_schema = m->native_schema;
    f->native_zero_threshold = m->native_zero_threshold;
    f->native_max_buckets = m->native_max_buckets;
    f->native_min_exponent = m->native_min_exponent;
    f->native_max_exponent = m->native_max_exponent;
}

char *shmetrics_gauge_unit_slow_(struct shmetrics_gauge_series *g)
{
    shmetrics_registry_t *reg = g->reg;
    SMX_CHECK_ZERO(pthread_mutex_lock(&reg->lock));
    char *u = reg->proc_unit;
    if (!u) {
        claim_slot_locked(reg);
        /* The cells every series registered so far may take in this unit
         * are made real before any write can reach them. */
        if (reg->have_slot && shm_unit_ready(reg->arena, reg->proc_slot, shm_proc_cells_used(reg->arena)) == 0) {
            u = (char *)shm_proc_cell(reg->arena, reg->proc_slot, 0);
            shmetrics_store_release(&reg->proc_unit, u);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return u;
}

int shmetrics_gauge_add_slow_(struct shmetrics_gauge_series *g, double delta)
{
    if (isnan(delta) || isinf(delta))
        return shmetrics_bad_value_("gauge change", delta);
    uint64_t *cell = shmetrics_gauge_cell_(g);
    if (!cell)
        return -ENOSPC;
    shmetrics_add_double_(&cell[SHM_GAUGE_VALUE], delta);
    /* A rate-limited gauge's stamp is its last accepted set: inc and dec
     * leave it alone (they are not limited). */
    if (!g->min_interval_ns)
        shmetrics_store_release(&cell[SHM_GAUGE_STAMP], g->stamped ? shmetrics_now_ns_() : (uint64_t)1);
    else
        shmetrics_cas_seq_cst(&cell[SHM_GAUGE_STAMP], (uint64_t)0, (uint64_t)1);
    return 0;
}

int shmetrics_gauge_set_limited_(struct shmetrics_gauge_series *g, double v, uint64_t now_ns)
{
    uint64_t *cell = shmetrics_gauge_cell_(g);
    if (!cell)
        return -ENOSPC;
    uint64_t now = now_ns ? now_ns : shmetrics_now_ns_();
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (!g->min_interval_ns) {
        shmetrics_store_relaxed(&cell[SHM_GAUGE_VALUE], bits);
        shmetrics_store_release(&cell[SHM_GAUGE_STAMP], g->stamped ? now : (uint64_t)1);
        return 0;
    }
    /* The stamp is the time of the last accepted set (1: none yet).  Only
     * the thread that moves it forward by CAS may write the value. */
    uint64_t last = shmetrics_load_acquire(&cell[SHM_GAUGE_STAMP]);
    if ((last > 1 && now - last < g->min_interval_ns && now >= last) ||
        shmetrics_cas_seq_cst(&cell[SHM_GAUGE_STAMP], last, now) != last) {
        if (g->drops)
            shmetrics_counter_add(g->drops, 1);
        return 1;
    }
    shmetrics_store_relaxed(&cell[SHM_GAUGE_VALUE], bits);
    return 0;
}

double shmetrics_counter_sum(const shmetrics_counter_series_t *s)
{
    const struct shm_arena *a;
    struct shm_series_view v;
    struct shm_family_view f;
    smx_cells_views(&s->cells, &a, &v, &f);
    double d = 0;
    smx_counter_read(a, &v, &f, &d);
    return d;
}

double shmetrics_gauge_local(shmetrics_gauge_series_t *g)
{
    char *u = shmetrics_load_acquire((char **)g->unit);
    if (!u)
        return 0;
    uint64_t bits = shmetrics_load_relaxed((uint64_t *)(u + g->off) + SHM_GAUGE_VALUE);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
