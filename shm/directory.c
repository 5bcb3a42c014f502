/* SPDX-License-Identifier: MIT */
/*
 * shm/directory.c - owns the family and series directories: how processes
 * that register the same name or label set at the same moment converge on
 * one record, and how readers validate what they find.
 *
 * The protocol, and why it never blocks.
 *
 * A directory is an array of fixed-size records plus an open-addressing
 * index (linear probing, a power of two of uint32 buckets, at least twice
 * the record capacity).  A bucket holds 0 (empty) or 1 + a record index.
 * Buckets only ever go from 0 to a record; nothing is removed, so a probe
 * that reaches an empty bucket has proved the key absent at that moment.
 *
 *   1. Look the key up.  Found: go to 4.
 *   2. Allocate a series' cells first (so that a full pool or filesystem
 *      refuses the registration before anything else is taken), then heap
 *      bytes for the key's strings and a record (a spare kept from an
 *      earlier lost race, or a fresh one from the bump allocator), and fill
 *      the record completely while it is private: `ready` is 0, the record
 *      is in no bucket, and readers skip it.
 *   3. Probe again and compare-and-swap the first empty bucket from 0 to our
 *      record.  The CAS is sequentially consistent, so everything written in
 *      step 2 is visible to whoever reads the bucket.  If a bucket on the way
 *      turns out to hold the same key (another process won), keep our
 *      record as this process's spare and use the winner's.
 *   4. Complete the record: a family needs nothing more; a series whose
 *      `cells` word is still 0 (a writer killed between its allocations, or
 *      a damaged record) gets cells allocated and installed by a CAS from 0.  Then
 *      store `ready` = READY with release order.
 *
 * Step 4 also brings back a removed series (state REMOVED, its cells
 * zeroed by the remover): registering its key again finds the record and
 * completes it to READY, in the same cells.
 *
 * Step 4 is idempotent and anyone may run it, so a process SIGKILLed
 * between steps 3 and 4 never blocks the others: the next process that
 * finds the record completes it.  To keep two completers from both
 * allocating cells in the common case, a finder first waits a bounded time
 * (SERIES_HELP_WAIT_NS) for the creator; a completer that loses the cells CAS
 * counts its cells as abandoned.  A process killed in step 2 loses one record
 * and a few heap bytes, never more; both are bounded by the number of kills.
 *
 * Readers trust nothing: a record is used only when its `ready` word (read
 * with acquire order) says READY, and then every field is bounds-checked
 * against the private copy of the header and every string is re-validated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "arena_priv.h"
#include "base/clock.h"
#include "base/error.h"
#include "hash.h"
#include "names.h"

#define NO_INSERT UINT32_MAX
#define SERIES_HELP_WAIT_NS 20000000ull

typedef int (*match_fn)(const struct shm_arena *a, uint32_t rec, uint64_t hash, const void *key);

/*
 * Walk the probe sequence of `hash`.  Returns 1 with *found = a record whose
 * key matches; 0 with *found = `insert` once that record was installed in an
 * empty bucket; -ENOENT when the key is absent and nothing was to be
 * inserted; -ENOSPC when every bucket is taken.
 */
static int index_probe(const struct shm_arena *a, uint32_t *buckets, uint32_t nbuckets, uint32_t cap, uint64_t hash,
                       match_fn match, const void *key, uint32_t insert, uint32_t *found)
{
    uint32_t mask = nbuckets - 1;
    for (uint32_t i = 0; i < nbuckets; i++) {
        uint32_t *b = &buckets[(uint32_t)(hash + i) & mask];
        uint32_t v = shmetrics_load_acquire(b);
        if (v == 0) {
            if (insert == NO_INSERT)
                return -ENOENT;
            if (a->rdonly)
                return -EROFS;
            v = shmetrics_cas_seq_cst(b, 0u, insert + 1);
            if (v == 0) {
                *found = insert;
                return 0;
            }
        }
        if (v - 1 < cap && match(a, v - 1, hash, key)) {
            *found = v - 1;
            return 1;
        }
    }
    return -ENOSPC;
}

/* Is [off, off+len] (the NUL included) inside the heap? */
static int heap_range_ok(const struct shm_arena *a, uint32_t off, uint32_t len)
{
    return (uint64_t)off + len < a->h.heap_bytes;
}

static void spare_put(struct shm_arena *a, uint32_t *spare, uint32_t idx)
{
    if (shmetrics_cas_seq_cst(spare, 0u, idx + 1) != 0)
        shm_count_abandoned(a);
}

static int record_take(struct shm_arena *a, uint32_t *spare, uint32_t *used, uint32_t cap, const char *what,
                       uint32_t *idx)
{
    uint32_t s = shmetrics_load_relaxed(spare);
    while (s) {
        uint32_t seen = shmetrics_cas_seq_cst(spare, s, 0u);
        if (seen == s) {
            *idx = s - 1;
            return 0;
        }
        s = seen;
    }
    return shm_record_alloc(a, used, cap, what, idx);
}

/* ---------------------------------------------------------------- families */

struct family_key {
    const char *name;
    size_t len;
};

static int family_match(const struct shm_arena *a, uint32_t rec, uint64_t hash, const void *key)
{
    const struct family_key *k = key;
    const struct shm_family *f = &shm_families(a)[rec];
    if (shmetrics_load_relaxed(&f->hash) != hash)
        return 0;
    uint32_t off = shmetrics_load_relaxed(&f->name_off);
    uint32_t len = shmetrics_load_relaxed(&f->name_len);
    return len == k->len && heap_range_ok(a, off, len) && memcmp(shm_heap(a) + off, k->name, len) == 0;
}

static void family_complete(struct shm_arena *a, uint32_t idx)
{
    struct shm_family *f = &shm_families(a)[idx];
    if (shmetrics_load_acquire(&f->ready) != SHM_REC_READY)
        shmetrics_store_release(&f->ready, SHM_REC_READY);
}

int shm_family_find(struct shm_arena *a, const char *name, size_t len, uint32_t *idx)
{
    struct family_key k = {name, len};
    uint64_t hash = shm_hash_family(name, len);
    int rc = index_probe(a, shm_family_index(a), a->h.family_buckets, a->h.families_cap, hash, family_match, &k,
                         NO_INSERT, idx);
    if (rc == 1)
        return 0;
    return smx_fail(-ENOENT, "no metric named %.*s", (int)len, name);
}

int shm_family_register(struct shm_arena *a, const struct shm_family_spec *sp, uint32_t *idx, bool *created)
{
    if (a->rdonly)
        return smx_fail(-EROFS, "the arena is open read-only");
    struct family_key k = {sp->name, sp->name_len};
    uint64_t hash = shm_hash_family(sp->name, sp->name_len);
    uint32_t *index = shm_family_index(a);
    uint32_t found;
    *created = false;
    int rc = index_probe(a, index, a->h.family_buckets, a->h.families_cap, hash, family_match, &k, NO_INSERT, &found);
    if (rc == 1) {
        family_complete(a, found);
        *idx = found;
        return 0;
    }

    uint32_t name_off, help_off, labels_off, buckets_off = 0, quantiles_off = 0, unit_off = 0, states_off = 0, rec;
    if ((rc = shm_heap_alloc(a, sp->name, sp->name_len, &name_off)) < 0 ||
        (sp->unit_len && (rc = shm_heap_alloc(a, sp->unit, sp->unit_len, &unit_off)) < 0) ||
        (sp->nstates && (rc = shm_heap_alloc(a, sp->states, sp->states_len, &states_off)) < 0) ||
        (rc = shm_heap_alloc(a, sp->help, sp->help_len, &help_off)) < 0 ||
        (rc = shm_heap_alloc(a, sp->labels, sp->labels_len, &labels_off)) < 0 ||
        (sp->nbuckets && (rc = shm_heap_alloc(a, sp->buckets, sp->nbuckets * sizeof(double), &buckets_off)) < 0) ||
        (sp->nquantiles &&
         (rc = shm_heap_alloc(a, sp->quantiles, sp->nquantiles * sizeof(double), &quantiles_off)) < 0) ||
        (rc = record_take(a, &a->spare_family, &a->sh->families_used, a->h.families_cap, "family", &rec)) < 0)
        return smx_fail_prefix(rc, "registering %.*s", (int)sp->name_len, sp->name);

    struct shm_family *f = &shm_families(a)[rec];
    f->type = sp->type;
    f->hash = hash;
    f->name_off = name_off;
    f->name_len = (uint32_t)sp->name_len;
    f->help_off = help_off;
    f->help_len = (uint32_t)sp->help_len;
    f->labels_off = labels_off;
    f->labels_len = (uint32_t)sp->labels_len;
    f->nlabels = sp->nlabels;
    f->mode = sp->mode;
    f->buckets_off = buckets_off;
    f->nbuckets = sp->nbuckets;
    f->ncells = sp->ncells;
    f->quantiles_off = quantiles_off;
    f->nquantiles = sp->nquantiles;
    f->max_age_ms = sp->max_age_ms;
    f->age_buckets = sp->age_buckets;
    f->min_interval_us = sp->min_interval_us;
    f->max_series = sp->max_series;
    f->unit_off = unit_off;
    f->unit_len = (uint32_t)sp->unit_len;
    f->states_off = states_off;
    f->states_len = (uint32_t)sp->states_len;
    f->nstates = sp->nstates;
    f->native_kind = (uint8_t)sp->native_kind;
    f->native_schema = (int8_t)sp->native_schema;
    f->native_zero_threshold = sp->native_zero_threshold;
    f->native_max_buckets = sp->native_max_buckets;
    f->native_min_exponent = (int16_t)sp->native_min_exponent;
    f->native_max_exponent = (int16_t)sp->native_max_exponent;

    rc = index_probe(a, index, a->h.family_buckets, a->h.families_cap, hash, family_match, &k, rec, &found);
    if (rc == 0) {
        shmetrics_store_release(&f->ready, SHM_REC_READY);
        *created = true;
    } else {
        spare_put(a, &a->spare_family, rec);
        if (rc < 0)
            return smx_fail(rc, "arena full: the family index has no free bucket");
        family_complete(a, found);
    }
    *idx = found;
    return 0;
}

uint32_t shm_families_used(const struct shm_arena *a)
{
    uint32_t n = shmetrics_load_acquire(&a->sh->families_used);
    return n < a->h.families_cap ? n : a->h.families_cap;
}

static uint32_t expected_cells(const struct shm_family *f)
{
    switch (f->type) {
    case SHM_TYPE_COUNTER:
        return SHM_COUNTER_CELLS;
    case SHM_TYPE_GAUGE:
    case SHM_TYPE_INFO:
    case SHM_TYPE_STATESET:
        return SHM_GAUGE_CELLS;
    case SHM_TYPE_HISTOGRAM:
        if (f->native_kind == SHM_NATIVE_NONE)
            return SHM_HISTOGRAM_CELLS(f->nbuckets);
        return SHM_NATIVE_CELLS(f->native_kind, f->nbuckets,
                                (uint32_t)(shm_native_hi(f->native_schema, f->native_max_exponent) -
                                           shm_native_lo(f->native_schema, f->native_min_exponent) + 1));
    case SHM_TYPE_SUMMARY:
        return SHM_SUMMARY_CELLS(f->age_buckets);
    default:
        return 0;
    }
}

/* The native parameters of a family record: none on a classic histogram
 * or another type; else a schema in -4..8, a finite zero threshold >= 0,
 * a bucket limit >= 1, a dense range of 1 to SHM_NATIVE_MAX_WINDOW buckets
 * per sign within the doubles' exponents, and classic buckets exactly
 * when the kind is BOTH. */
static bool native_ok(const struct shm_family *f)
{
    if (f->pad1 != 0)
        return false;
    if (f->type != SHM_TYPE_HISTOGRAM || f->native_kind == SHM_NATIVE_NONE)
        return f->native_kind == SHM_NATIVE_NONE && f->native_schema == 0 && f->native_max_buckets == 0 &&
               f->native_min_exponent == 0 && f->native_max_exponent == 0 &&
               memcmp(&f->native_zero_threshold, &(double){0}, sizeof(double)) == 0;
    double z = f->native_zero_threshold;
    int32_t lo = f->native_min_exponent, hi = f->native_max_exponent;
    if (f->native_kind > SHM_NATIVE_BOTH || f->native_schema < SHM_NATIVE_MIN_SCHEMA ||
        f->native_schema > SHM_NATIVE_MAX_SCHEMA || !(z >= 0 && z - z == 0) || f->native_max_buckets == 0 ||
        lo < SHM_NATIVE_MIN_EXPONENT || hi > SHM_NATIVE_MAX_EXPONENT || lo >= hi)
        return false;
    int64_t w = (int64_t)shm_native_hi(f->native_schema, hi) - shm_native_lo(f->native_schema, lo) + 1;
    return w >= 1 && w <= SHM_NATIVE_MAX_WINDOW;
}

/* n doubles at heap offset `off`: 8-aligned, in range, strictly increasing,
 * finite, and (for quantiles) within [0, 1]. */
static bool doubles_ok(const struct shm_arena *a, uint32_t off, uint32_t n, bool unit_interval)
{
    if (n == 0)
        return true;
    if (off % 8 || !heap_range_ok(a, off, n * 8))
        return false;
    const double *d = (const double *)(shm_heap(a) + off);
    for (uint32_t i = 0; i < n; i++) {
        double v = d[i];
        if (!(v - v == 0) || (i && !(v > d[i - 1])) || (unit_interval && !(v >= 0 && v <= 1)))
            return false;
    }
    return true;
}

int shm_family_view(const struct shm_arena *a, uint32_t idx, struct shm_family_view *v)
{
    if (idx >= a->h.families_cap)
        return smx_fail(-EINVAL, "family record %u is out of range", idx);
    const struct shm_family *f = &shm_families(a)[idx];
    uint32_t ready = shmetrics_load_acquire(&f->ready);
    if (ready == SHM_REC_UNPUBLISHED)
        return -EAGAIN;
    if (ready != SHM_REC_READY)
        return smx_fail(-EBADMSG, "family record %u: bad ready word %u", idx, ready);
    /* A private copy of the fields that never change once the record is
     * published (all but `ready` and `nseries`, which other processes write
     * with atomics): `type` through `max_series`, then `states_len` to the
     * end (the native parameters). */
    struct shm_family c;
    memset(&c, 0, sizeof c);
    memcpy((char *)&c + offsetof(struct shm_family, type), (const char *)f + offsetof(struct shm_family, type),
           offsetof(struct shm_family, nseries) - offsetof(struct shm_family, type));
    memcpy((char *)&c + offsetof(struct shm_family, states_len),
           (const char *)f + offsetof(struct shm_family, states_len),
           sizeof(struct shm_family) - offsetof(struct shm_family, states_len));
    const char *heap = shm_heap(a);
    if (c.type < SHM_TYPE_COUNTER || c.type > SHM_TYPE_STATESET)
        return smx_fail(-EBADMSG, "family record %u: unknown type %u", idx, c.type);
    if (!heap_range_ok(a, c.name_off, c.name_len) || !smx_metric_name_ok(heap + c.name_off, c.name_len))
        return smx_fail(-EBADMSG, "family record %u: bad name", idx);
    if (c.help_len > SHM_MAX_HELP || !heap_range_ok(a, c.help_off, c.help_len) ||
        !smx_utf8_ok(heap + c.help_off, c.help_len))
        return smx_fail(-EBADMSG, "family record %u: bad help text", idx);
    if (c.nlabels > SHM_MAX_LABELS || !heap_range_ok(a, c.labels_off, c.labels_len) ||
        !smx_label_list_ok(heap + c.labels_off, c.labels_len, c.nlabels))
        return smx_fail(-EBADMSG, "family record %u: bad label names", idx);
    if (c.type == SHM_TYPE_GAUGE                                 ? c.mode > SHM_MODE_LIVEMOSTRECENT
        : c.type == SHM_TYPE_INFO || c.type == SHM_TYPE_STATESET ? c.mode != SHM_MODE_MOSTRECENT
                                                                 : c.mode != 0)
        return smx_fail(-EBADMSG, "family record %u: bad gauge mode %u", idx, c.mode);
    if (!native_ok(&c))
        return smx_fail(-EBADMSG, "family record %u: bad native histogram parameters", idx);
    if (c.type == SHM_TYPE_HISTOGRAM && c.native_kind == SHM_NATIVE_ONLY ? c.nbuckets != 0 || c.buckets_off != 0
        : c.type == SHM_TYPE_HISTOGRAM
            ? c.nbuckets == 0 || c.nbuckets > SHM_MAX_BUCKETS || !doubles_ok(a, c.buckets_off, c.nbuckets, false)
            : c.nbuckets != 0)
        return smx_fail(-EBADMSG, "family record %u: bad bucket list", idx);
    if (c.type == SHM_TYPE_SUMMARY
            ? c.nquantiles > SHM_MAX_QUANTILES || !doubles_ok(a, c.quantiles_off, c.nquantiles, true) ||
                  c.age_buckets == 0 || c.age_buckets > SHM_MAX_AGE_BUCKETS || c.max_age_ms < c.age_buckets
            : c.nquantiles != 0 || c.age_buckets != 0 || c.max_age_ms != 0)
        return smx_fail(-EBADMSG, "family record %u: bad summary parameters", idx);
    if (c.type != SHM_TYPE_GAUGE && c.min_interval_us != 0)
        return smx_fail(-EBADMSG, "family record %u: a minimum interval on a %u", idx, c.type);
    if (c.ncells != expected_cells(&c))
        return smx_fail(-EBADMSG, "family record %u: %u cells for its type", idx, c.ncells);
    /* A unit must be a suffix of the name: the encoders check that, since
     * only it makes the UNIT line valid; here only its own rule. */
    if (c.unit_len && (!heap_range_ok(a, c.unit_off, c.unit_len) || !smx_unit_ok(heap + c.unit_off, c.unit_len) ||
                       c.type == SHM_TYPE_INFO || c.type == SHM_TYPE_STATESET))
        return smx_fail(-EBADMSG, "family record %u: bad unit", idx);
    if (c.type == SHM_TYPE_STATESET ? !heap_range_ok(a, c.states_off, c.states_len) ||
                                          !smx_state_list_ok(heap + c.states_off, c.states_len, c.nstates)
                                    : c.nstates != 0 || c.states_len != 0)
        return smx_fail(-EBADMSG, "family record %u: bad state names", idx);
    v->idx = idx;
    v->type = c.type;
    v->name = heap + c.name_off;
    v->name_len = c.name_len;
    v->help = heap + c.help_off;
    v->help_len = c.help_len;
    v->labels = heap + c.labels_off;
    v->labels_len = c.labels_len;
    v->nlabels = c.nlabels;
    v->mode = c.mode;
    v->buckets = (const double *)(heap + c.buckets_off);
    v->nbuckets = c.nbuckets;
    v->quantiles = (const double *)(heap + c.quantiles_off);
    v->nquantiles = c.nquantiles;
    v->max_age_ms = c.max_age_ms;
    v->age_buckets = c.age_buckets;
    v->min_interval_us = c.min_interval_us;
    v->max_series = c.max_series;
    v->ncells = c.ncells;
    v->unit = heap + c.unit_off;
    v->unit_len = c.unit_len;
    v->states = heap + c.states_off;
    v->states_len = c.states_len;
    v->nstates = c.nstates;
    v->native_kind = c.native_kind;
    v->native_schema = c.native_schema;
    v->native_zero_threshold = c.native_zero_threshold;
    v->native_max_buckets = c.native_max_buckets;
    v->native_min_exponent = c.native_min_exponent;
    v->native_max_exponent = c.native_max_exponent;
    return 0;
}

/* ------------------------------------------------------------------ series */

struct series_key {
    uint32_t family;
    uint32_t flags;
    const char *key;
    size_t len;
};

static int series_match(const struct shm_arena *a, uint32_t rec, uint64_t hash, const void *key)
{
    const struct series_key *k = key;
    const struct shm_series *s = &shm_series_recs(a)[rec];
    if (shmetrics_load_relaxed(&s->hash) != hash || shmetrics_load_relaxed(&s->family) != k->family ||
        shmetrics_load_relaxed(&s->flags) != k->flags)
        return 0;
    uint32_t off = shmetrics_load_relaxed(&s->key_off);
    uint32_t len = shmetrics_load_relaxed(&s->key_len);
    return len == k->len && heap_range_ok(a, off, len) && memcmp(shm_heap(a) + off, k->key, len) == 0;
}

/* Where a series' cells live: its word index in a process unit (gauges)
 * or in the pool, and how many words it takes there. */
static uint64_t cells_words(const struct shm_family_view *fam)
{
    return SHM_TYPE_IN_UNITS(fam->type) ? SHM_GAUGE_CELLS : SHM_BLOCK_WORDS(fam->ncells);
}

static bool cells_ok(const struct shm_arena *a, const struct shm_family_view *fam, uint64_t c)
{
    uint64_t cap = (SHM_TYPE_IN_UNITS(fam->type) ? a->h.proc_unit_bytes : a->h.pool_bytes) / 8;
    uint64_t n = cells_words(fam);
    return c != 0 && (c - 1) % SHM_LINE_WORDS == 0 && c - 1 <= cap && n <= cap - (c - 1);
}

static int cells_alloc(struct shm_arena *a, const struct shm_family_view *fam, uint64_t *word)
{
    return SHM_TYPE_IN_UNITS(fam->type) ? shm_gauge_cells_alloc(a, word)
                                        : shm_pool_alloc(a, cells_words(fam), SHM_LINE_WORDS, "a new series", word);
}

/* The creation time this process stamps: its clock's (shm_arena_set_clock),
 * else CLOCK_REALTIME. */
static uint64_t created_now(const struct shm_arena *a)
{
    uint64_t t = a->now_ns ? a->now_ns(a->now_arg) : 0;
    return t ? t : smx_real_ns();
}

/* Step 4 for a series: make sure it has cells and is marked ready. */
static int series_complete(struct shm_arena *a, uint32_t idx, const struct shm_family_view *fam, bool creator,
                           uint64_t *cell)
{
    struct shm_series *s = &shm_series_recs(a)[idx];
    uint64_t c = shmetrics_load_acquire(&s->cells);
    if (c == 0 && !creator) {
        uint64_t deadline = smx_mono_ns() + SERIES_HELP_WAIT_NS;
        while ((c = shmetrics_load_acquire(&s->cells)) == 0 && smx_mono_ns() < deadline)
            sched_yield();
    }
    if (c == 0) {
        uint64_t word;
        int rc = cells_alloc(a, fam, &word);
        if (rc < 0)
            return smx_fail_prefix(rc, "registering a series of %.*s", (int)fam->name_len, fam->name);
        c = shmetrics_cas_seq_cst(&s->cells, (uint64_t)0, word + 1);
        if (c != 0)
            shm_count_abandoned(a);
        else
            c = word + 1;
    }
    if (!cells_ok(a, fam, c))
        return smx_fail(-EBADMSG, "series record %u: cells out of range", idx);
    uint32_t ready = shmetrics_load_acquire(&s->ready);
    if (ready != SHM_REC_READY) {
        /* A removed series comes back as a new one (its cells were
         * zeroed): it is created again now. */
        if (ready == SHM_REC_REMOVED)
            shmetrics_store_relaxed(&s->created_ns, created_now(a));
        shmetrics_store_release(&s->ready, SHM_REC_READY);
    }
    *cell = c - 1;
    return 0;
}

int shm_series_register(struct shm_arena *a, uint32_t family, const char *key, size_t key_len, uint32_t flags,
                        uint32_t *idx, uint64_t *cell)
{
    if (a->rdonly)
        return smx_fail(-EROFS, "the arena is open read-only");
    struct shm_family_view fam;
    int rc = shm_family_view(a, family, &fam);
    if (rc < 0)
        return rc == -EAGAIN ? smx_fail(-EINVAL, "family record %u is not published", family) : rc;
    struct series_key k = {family, flags, key, key_len};
    uint64_t hash = shm_hash_series(family, key, key_len) ^ flags;
    uint32_t *index = shm_series_index(a);
    uint32_t found, rec, key_off;
    rc = index_probe(a, index, a->h.series_buckets, a->h.series_cap, hash, series_match, &k, NO_INSERT, &found);
    if (rc == 1) {
        *idx = found;
        return series_complete(a, found, &fam, false, cell);
    }
    /* Cardinality: at most max_series label sets (racing registrations can
     * pass it by one each); more fold into the overflow series. */
    struct shm_family *frec = &shm_families(a)[family];
    if (!(flags & SHM_SERIES_OVERFLOW) && fam.max_series && shmetrics_load_relaxed(&frec->nseries) >= fam.max_series)
        return -EDQUOT;
    /* Cells first: when they cannot be had (a full pool or filesystem),
     * nothing else is taken, however often the caller tries. */
    uint64_t word;
    if ((rc = cells_alloc(a, &fam, &word)) < 0)
        return smx_fail_prefix(rc, "registering a series of %.*s", (int)fam.name_len, fam.name);
    if ((rc = shm_heap_alloc(a, key, key_len, &key_off)) < 0 ||
        (rc = record_take(a, &a->spare_series, &a->sh->series_used, a->h.series_cap, "series", &rec)) < 0) {
        shm_count_abandoned(a); /* the cells */
        return smx_fail_prefix(rc, "registering a series of %.*s", (int)fam.name_len, fam.name);
    }

    struct shm_series *s = &shm_series_recs(a)[rec];
    s->family = family;
    s->hash = hash;
    s->key_off = key_off;
    s->key_len = (uint32_t)key_len;
    s->flags = flags;
    s->cells = word + 1;
    s->created_ns = created_now(a);

    rc = index_probe(a, index, a->h.series_buckets, a->h.series_cap, hash, series_match, &k, rec, &found);
    if (rc != 0) {
        spare_put(a, &a->spare_series, rec);
        shm_count_abandoned(a); /* the cells: the record goes back without them */
    }
    if (rc < 0)
        return smx_fail(rc, "arena full: the series index has no free bucket");
    if (rc == 0 && !(flags & SHM_SERIES_OVERFLOW))
        shmetrics_add_relaxed(&frec->nseries, 1u);
    *idx = found;
    return series_complete(a, found, &fam, rc == 0, cell);
}

uint32_t shm_series_used(const struct shm_arena *a)
{
    uint32_t n = shmetrics_load_acquire(&a->sh->series_used);
    return n < a->h.series_cap ? n : a->h.series_cap;
}

int shm_series_view(const struct shm_arena *a, uint32_t idx, const struct shm_family_view *fam,
                    struct shm_series_view *v)
{
    if (idx >= a->h.series_cap)
        return smx_fail(-EINVAL, "series record %u is out of range", idx);
    const struct shm_series *s = &shm_series_recs(a)[idx];
    uint32_t ready = shmetrics_load_acquire(&s->ready);
    if (ready == SHM_REC_UNPUBLISHED || ready == SHM_REC_REMOVED)
        return -EAGAIN;
    if (ready != SHM_REC_READY)
        return smx_fail(-EBADMSG, "series record %u: bad ready word %u", idx, ready);
    /* The fields of a published series that no one rewrites (`ready` may
     * become REMOVED at any time). */
    struct shm_series c;
    memset(&c, 0, sizeof c);
    c.family = shmetrics_load_relaxed(&s->family);
    c.key_off = shmetrics_load_relaxed(&s->key_off);
    c.key_len = shmetrics_load_relaxed(&s->key_len);
    c.cells = shmetrics_load_relaxed(&s->cells);
    c.flags = shmetrics_load_relaxed(&s->flags);
    c.created_ns = shmetrics_load_relaxed(&s->created_ns);
    if (c.family >= a->h.families_cap)
        return smx_fail(-EBADMSG, "series record %u: family %u out of range", idx, c.family);
    if (c.flags & ~SHM_SERIES_OVERFLOW)
        return smx_fail(-EBADMSG, "series record %u: unknown flags 0x%x", idx, c.flags);
    if (c.key_len > SHM_MAX_KEY || !heap_range_ok(a, c.key_off, c.key_len))
        return smx_fail(-EBADMSG, "series record %u: key out of range", idx);
    v->idx = idx;
    v->family = c.family;
    v->key = shm_heap(a) + c.key_off;
    v->key_len = c.key_len;
    v->flags = c.flags;
    v->cell = c.cells - 1;
    v->created_ns = c.created_ns;
    if (!fam)
        return 0;
    if (fam->idx != c.family)
        return smx_fail(-EINVAL, "series record %u belongs to family %u, not %u", idx, c.family, fam->idx);
    if (!cells_ok(a, fam, c.cells))
        return smx_fail(-EBADMSG, "series record %u: cells out of range", idx);
    if (fam->type == SHM_TYPE_INFO && !(c.flags & SHM_SERIES_OVERFLOW)
            ? !smx_info_key_ok(v->key, v->key_len, fam->nlabels, fam->labels, fam->labels_len)
            : !smx_value_list_ok(v->key, v->key_len, fam->nlabels))
        return smx_fail(-EBADMSG, "series record %u: bad label values", idx);
    return 0;
}

/* ---------------------------------------------------------------- removal */

static void zero_block(uint64_t *cells, void *arg)
{
    const uint32_t *ncells = arg;
    for (uint32_t w = 0; w < *ncells; w++)
        if (shmetrics_load_relaxed(&cells[w]))
            shmetrics_store_relaxed(&cells[w], (uint64_t)0);
}

void shm_series_zero(struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *fam)
{
    if (a->rdonly)
        return;
    if (SHM_TYPE_IN_UNITS(fam->type)) {
        /* Value only: a written gauge stays written (its stamp), at 0. */
        for (uint32_t p = 0; p <= a->h.processes_cap; p++) {
            struct shm_proc_view pv;
            if (p < a->h.processes_cap && shm_proc_view(a, p, &pv) < 0)
                continue;
            if (v->cell + SHM_GAUGE_CELLS <= shm_unit_ready_words(a, p))
                shmetrics_store_relaxed(shm_proc_cell(a, p, v->cell), (uint64_t)0);
        }
        return;
    }
    uint32_t n = fam->ncells;
    shm_series_blocks(a, v, fam, zero_block, &n);
}

void shm_series_created_set(struct shm_arena *a, uint32_t idx, uint64_t ns)
{
    if (!a->rdonly && idx < a->h.series_cap)
        shmetrics_store_relaxed(&shm_series_recs(a)[idx].created_ns, ns);
}

int shm_series_find(struct shm_arena *a, uint32_t family, const char *key, size_t key_len, uint32_t flags,
                    uint32_t *idx)
{
    struct series_key k = {family, flags, key, key_len};
    uint64_t hash = shm_hash_series(family, key, key_len) ^ flags;
    int rc = index_probe(a, shm_series_index(a), a->h.series_buckets, a->h.series_cap, hash, series_match, &k,
                         NO_INSERT, idx);
    return rc == 1 ? 0 : -ENOENT;
}

int shm_series_remove(struct shm_arena *a, uint32_t idx, const struct shm_family_view *fam)
{
    if (a->rdonly)
        return smx_fail(-EROFS, "the arena is open read-only");
    struct shm_series_view v;
    int rc = shm_series_view(a, idx, fam, &v);
    if (rc < 0)
        return rc == -EAGAIN ? -ENOENT : rc;
    /* Zero first, then hide: writes through handles that other processes
     * still hold land in the hidden series, and count again if the same
     * label set is registered again (which revives this record). */
    shm_series_zero(a, &v, fam);
    struct shm_series *s = &shm_series_recs(a)[idx];
    if (shmetrics_cas_seq_cst(&s->ready, SHM_REC_READY, SHM_REC_REMOVED) != SHM_REC_READY)
        return -ENOENT;
    shmetrics_add_relaxed(&a->sh->removals, (uint64_t)1);
    return 0;
}

bool shm_series_removed(const struct shm_arena *a, uint32_t idx)
{
    return idx < a->h.series_cap && shmetrics_load_relaxed(&shm_series_recs(a)[idx].ready) == SHM_REC_REMOVED;
}

int shm_series_with_family(const struct shm_arena *a, uint32_t idx, struct shm_series_view *v,
                           struct shm_family_view *f)
{
    int rc = shm_series_view(a, idx, NULL, v);
    if (rc == 0 && v->family >= shm_families_used(a))
        rc = -EAGAIN;
    if (rc == 0)
        rc = shm_family_view(a, v->family, f);
    if (rc == 0)
        rc = shm_series_view(a, idx, f, v);
    return rc;
}

const uint64_t *shm_removals_word(const struct shm_arena *a)
{
    return &a->sh->removals;
}
