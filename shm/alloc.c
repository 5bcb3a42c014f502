/*
 * shm/alloc.c - owns the arena's bump allocators: records, heap bytes and
 * cell words.  Each is one word in the shared header advanced by
 * compare-and-swap, never past its capacity, so a full region refuses the
 * request (and counts it) instead of handing out memory it does not have.
 * Nothing is ever given back to these allocators: a record that loses a
 * publication race is kept as a spare by its process (shm/directory.c).
 * Also what the allocators have handed out, in bytes of the file.
 */
#include <errno.h>
#include <string.h>

#include "arena_priv.h"
#include "base/error.h"

static void count_refused(struct shm_arena *a)
{
    shmetrics_add_relaxed(&a->sh->refused, 1);
}

void shm_count_abandoned(struct shm_arena *a)
{
    shmetrics_add_relaxed(&a->sh->abandoned, 1);
}

int shm_heap_alloc(struct shm_arena *a, const void *data, size_t len, uint32_t *off)
{
    uint64_t need = (len + 8) & ~(uint64_t)7; /* room for a NUL, 8-aligned */
    uint64_t cur = shmetrics_load_relaxed(&a->sh->heap_used);
    for (;;) {
        if (cur > a->h.heap_bytes || need > a->h.heap_bytes - cur) {
            count_refused(a);
            return smx_fail(-ENOSPC, "arena full: the string heap (%llu bytes) has no room for %zu more",
                            (unsigned long long)a->h.heap_bytes, len);
        }
        uint64_t seen = shmetrics_cas_seq_cst(&a->sh->heap_used, cur, cur + need);
        if (seen == cur)
            break;
        cur = seen;
    }
    char *dst = a->base + a->h.off_heap + cur;
    if (len)
        memcpy(dst, data, len);
    dst[len] = 0;
    *off = (uint32_t)cur;
    return 0;
}

int shm_record_alloc(struct shm_arena *a, uint32_t *used, uint32_t cap, const char *what, uint32_t *idx)
{
    uint32_t cur = shmetrics_load_relaxed(used);
    for (;;) {
        if (cur >= cap) {
            count_refused(a);
            return smx_fail(-ENOSPC, "arena full: all %u %s records are in use", cap, what);
        }
        uint32_t seen = shmetrics_cas_seq_cst(used, cur, cur + 1);
        if (seen == cur)
            break;
        cur = seen;
    }
    *idx = cur;
    return 0;
}

int shm_cells_alloc(struct shm_arena *a, uint64_t *used, uint64_t cap, uint32_t n, uint64_t *word)
{
    uint64_t cur = shmetrics_load_relaxed(used);
    for (;;) {
        if (cur > cap || n > cap - cur) {
            count_refused(a);
            return smx_fail(-ENOSPC, "arena full: no room for %u more cells in a unit of %llu (create the arena "
                            "with more cells)", n, (unsigned long long)cap);
        }
        uint64_t seen = shmetrics_cas_seq_cst(used, cur, cur + n);
        if (seen == cur)
            break;
        cur = seen;
    }
    *word = cur;
    return 0;
}

uint64_t shm_usage_bytes_used(const struct shm_usage *u)
{
    const struct shm_caps *c = &u->caps;
    const uint64_t word = sizeof(uint64_t);
    uint64_t free_bytes = (uint64_t)(c->families - u->families_used) * sizeof(struct shm_family) +
                          (uint64_t)(c->series - u->series_used) * sizeof(struct shm_series) +
                          (c->heap_bytes - u->heap_used) +
                          (uint64_t)c->shards * (c->cpu_cells - u->cpu_cells_used) * word +
                          (uint64_t)c->processes * (c->proc_cells - u->proc_cells_used) * word;
    return u->file_bytes - free_bytes;
}
