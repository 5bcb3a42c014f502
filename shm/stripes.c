/* SPDX-License-Identifier: MIT */
/*
 * shm/stripes.c - owns the stripes of pool series: adding a stripe set when
 * writers collide on a series, and walking a series' cell blocks (its base
 * block, then every stripe of every set) for readers and for zeroing.
 *
 * The protocol, and its invariants.
 *
 * A series starts with its base block only; writers update its cells with
 * compare-and-swap (the inline paths of shmetrics/hot.h).  A CAS fails only
 * when another writer changed the word in between: contention.  Once a
 * series has stripes, a writer adds (fetch-add, no CAS) to the stripe of
 * its CPU number in the newest set its process has seen (a copy kept in the
 * process's handle, taken with shm_stripes_newest, which checks the set as
 * a reader does): stripe i belongs to CPU i, as in the kernel's percpu
 * allocator, so two CPUs never share a stripe's line.  The loser of a CAS
 * on the base block, and a writer whose CPU has no stripe in its process's
 * copy, load the directory word and, when the newest set has no stripe for
 * their CPU either, call shm_stripes_grow with that word and their CPU
 * number, which
 *
 *   1. gives up if the word moved (someone else grew it), says NOGROW, or
 *      says GROWING (someone else is growing it now);
 *   2. picks the next set's size: a stripe for every CPU up to the caller's,
 *      and at least twice the newest set's; at the type's limit it sets
 *      NOGROW instead (one CAS), and from then on CPUs beyond the newest
 *      set fold onto its stripes (CPU mod its size);
 *   3. claims the growth: a CAS of the word from what it saw to the same
 *      with GROWING.  Of writers that collided at once, one wins; the
 *      others go on with the blocks there are, so a burst of collisions
 *      makes one set, not one per writer;
 *   4. allocates that set from the pool, made real with fallocate, and fills
 *      its header while no one else can see it: the series' record index,
 *      the directory word it replaces, lg; the magic last, with release;
 *   5. publishes it by a release store of the directory word (the claimer
 *      alone may change a GROWING word): a reader that loads the new word
 *      with acquire sees the complete header.
 *
 * So (a) a directory word only moves forward, to a complete set; (b) sets
 * are never freed, moved or reused, so a writer that still holds an older
 * word adds to a set that readers still sum; (c) every count lands in
 * exactly one cell, so the sum over all blocks is exact, and a reader that
 * sums the blocks twice sees each cell no smaller than before: counters
 * never go back.  A writer killed in 4 or 5 loses pool words, never a count,
 * and never leaves a published set half made; the series then keeps the
 * blocks it has (its word stays GROWING: no one grows it again).
 *
 * If the pool or the filesystem refuses the set, or the set would take the
 * pool past half its size (the other half stays for registrations: stripes
 * that follow high CPU numbers are large, and must not starve new series),
 * the directory gets NOGROW and the series keeps the blocks it has: slower
 * under contention, exact, and no writer asks again.
 */
#include <errno.h>

#include "arena_priv.h"
#include "base/error.h"

/* Sets of one series: lg strictly grows from set to set, from 1 to 12. */
#define MAX_SETS SHM_MAX_STRIPES_LG

uint32_t shm_stripes_max_lg(const struct shm_arena *a, uint32_t type)
{
    uint32_t lg = 0;
    while ((1u << lg) < a->h.stripes_max)
        lg++;
    if (type == SHM_TYPE_SUMMARY && lg > SHM_SUMMARY_STRIPES_LG)
        lg = SHM_SUMMARY_STRIPES_LG;
    return SHM_TYPE_IN_UNITS(type) ? 0 : lg;
}

uint64_t *shm_pool(const struct shm_arena *a)
{
    return (uint64_t *)(a->base + a->h.off_pool);
}

int shm_stripes_grow(struct shm_arena *a, uint32_t series, uint64_t base_word, uint32_t ncells, uint32_t type,
                     uint64_t seen, uint32_t cpu)
{
    uint64_t *dir = shm_pool(a) + base_word;
    uint64_t d = shmetrics_load_acquire(dir);
    if (d != seen || (d & (SHM_DIR_NOGROW | SHM_DIR_GROWING)))
        return 0;
    /* The next set: a stripe for every CPU up to this one, and at least
     * twice the stripes of the newest set; no more than the limit. */
    uint32_t have = (uint32_t)(d & SHM_DIR_LG_MASK), max = shm_stripes_max_lg(a, type), lg = have + 1;
    while (lg < max && (cpu >> lg) != 0)
        lg++;
    if (lg > max) {
        shmetrics_cas_seq_cst(dir, d, d | SHM_DIR_NOGROW);
        return 0;
    }
    if (shmetrics_cas_seq_cst(dir, d, d | SHM_DIR_GROWING) != d)
        return 0; /* another writer claimed it */
    uint64_t words = SHM_SET_HEADER_WORDS + ((uint64_t)1 << lg) * SHM_STRIPE_WORDS(ncells);
    uint64_t w;
    /* Stripes may take the pool up to half its size, never the room that
     * registrations need: past it, a series keeps the blocks it has. */
    uint64_t half = a->h.pool_bytes / SHM_CELL_BYTES / 2;
    int rc = shmetrics_load_relaxed(&a->sh->pool_used) + words > half
                 ? smx_fail(-ENOSPC, "stripes may fill half the cell pool (%llu bytes), no more",
                            (unsigned long long)a->h.pool_bytes)
                 : shm_pool_alloc(a, words, SHM_PAIR_WORDS, "a series' stripes", &w);
    if (rc < 0) {
        shmetrics_add_relaxed(&a->sh->stripes_refused, (uint64_t)1);
        shmetrics_store_release(dir, d | SHM_DIR_NOGROW);
        return rc;
    }
    uint64_t *hdr = shm_pool(a) + w;
    shmetrics_store_relaxed(&hdr[1], (uint64_t)series);
    shmetrics_store_relaxed(&hdr[2], d);
    shmetrics_store_relaxed(&hdr[3], (uint64_t)lg);
    shmetrics_store_release(&hdr[0], SHM_STRIPES_MAGIC);
    /* Release: whoever loads the new word with acquire sees the header. */
    shmetrics_store_release(dir, (w << SHM_DIR_SHIFT) | lg);
    shmetrics_add_relaxed(&a->sh->striped, (uint64_t)1);
    return 0;
}

/* Is the set named by directory word d a well-made set of `series`?  Its
 * header, when it is. */
static uint64_t *set_of(const struct shm_arena *a, uint32_t series, uint64_t block, uint32_t max_lg, uint64_t d)
{
    uint64_t used = shmetrics_load_acquire(&a->sh->pool_used);
    if (used > a->h.pool_bytes / 8)
        used = a->h.pool_bytes / 8;
    uint32_t lg = (uint32_t)(d & SHM_DIR_LG_MASK);
    uint64_t w = d >> SHM_DIR_SHIFT;
    if (lg == 0 || lg > max_lg || w % SHM_PAIR_WORDS || w > used || SHM_SET_HEADER_WORDS + (block << lg) > used - w) {
        smx_fail(-EBADMSG, "series record %u: bad stripe directory 0x%llx", series, (unsigned long long)d);
        return NULL;
    }
    uint64_t *hdr = shm_pool(a) + w;
    if (shmetrics_load_acquire(&hdr[0]) != SHM_STRIPES_MAGIC || shmetrics_load_relaxed(&hdr[1]) != series ||
        shmetrics_load_relaxed(&hdr[3]) != lg) {
        smx_fail(-EBADMSG, "series record %u: bad stripe set at pool word %llu", series, (unsigned long long)w);
        return NULL;
    }
    return hdr;
}

int shm_stripes_newest(const struct shm_arena *a, uint32_t series, uint64_t base_word, uint32_t ncells, uint32_t type,
                       uint64_t **first, uint32_t *lg, bool *nogrow)
{
    uint64_t d = shmetrics_load_acquire(shm_pool(a) + base_word);
    *first = NULL;
    *lg = 0;
    *nogrow = (d & SHM_DIR_NOGROW) != 0;
    if ((d & SHM_DIR_LG_MASK) == 0)
        return 0;
    uint64_t *hdr = set_of(a, series, SHM_STRIPE_WORDS(ncells), shm_stripes_max_lg(a, type), d);
    if (!hdr)
        return -EBADMSG;
    *first = hdr + SHM_SET_HEADER_WORDS;
    *lg = (uint32_t)(d & SHM_DIR_LG_MASK);
    return 0;
}

int shm_series_blocks(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *fam,
                      shm_block_fn fn, void *arg)
{
    if (SHM_TYPE_IN_UNITS(fam->type))
        return smx_fail(-EINVAL, "series record %u: a %s has no pool blocks", v->idx,
                        fam->type == SHM_TYPE_GAUGE  ? "gauge"
                        : fam->type == SHM_TYPE_INFO ? "info"
                                                     : "stateset");
    uint64_t *base = shm_pool(a) + v->cell;
    fn(base + 1, arg);
    uint64_t block = SHM_STRIPE_WORDS(fam->ncells);
    uint32_t max_lg = shm_stripes_max_lg(a, fam->type);
    uint32_t above = max_lg + 1;
    uint64_t d = shmetrics_load_acquire(&base[0]);
    for (uint32_t sets = 0; d & SHM_DIR_LG_MASK; sets++) {
        /* Sets chain with lg falling, so a walk ends. */
        uint32_t lg = (uint32_t)(d & SHM_DIR_LG_MASK);
        if (sets >= MAX_SETS || lg >= above)
            return smx_fail(-EBADMSG, "series record %u: bad stripe directory 0x%llx", v->idx, (unsigned long long)d);
        uint64_t *hdr = set_of(a, v->idx, block, max_lg, d);
        if (!hdr)
            return -EBADMSG;
        for (uint64_t i = 0; i < ((uint64_t)1 << lg); i++)
            fn(hdr + SHM_SET_HEADER_WORDS + i * block + 1, arg);
        above = lg;
        d = shmetrics_load_relaxed(&hdr[2]);
    }
    return 0;
}
