/* SPDX-License-Identifier: MIT */
/*
 * shm/alloc.c - owns the arena's bump allocators: records, heap bytes and
 * cell words.  Each is one word in the shared header advanced by
 * compare-and-swap, never past its capacity, so a full region refuses the
 * request (and counts it) instead of handing out memory it does not have.
 * Nothing is ever given back to these allocators: a record that loses a
 * publication race is kept as a spare by its process (shm/directory.c).
 *
 * It also owns making memory real before it is handed out: the arena file
 * is sparse, and a page first touched through a mapping when its
 * filesystem is full kills the toucher with SIGBUS.  So every pool
 * allocation, and every stretch of a process unit, is allocated with
 * fallocate(2) first; a full filesystem is then an -ENOSPC to the caller,
 * counted in the header (fs_refused), never a signal.
 *
 * And what the allocators have handed out, in bytes of the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>

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

int shm_gauge_cells_alloc(struct shm_arena *a, uint64_t *word)
{
    uint64_t *used = &a->sh->proc_cells_used;
    uint64_t cap = a->h.proc_unit_bytes / SHM_CELL_BYTES, n = SHM_GAUGE_CELLS;
    uint64_t cur = shmetrics_load_relaxed(used);
    for (;;) {
        if (cur > cap || n > cap - cur) {
            count_refused(a);
            return smx_fail(-ENOSPC,
                            "arena full: all %llu gauge series are taken (create the arena with more "
                            "--gauges)",
                            (unsigned long long)(cap / n));
        }
        uint64_t seen = shmetrics_cas_seq_cst(used, cur, cur + n);
        if (seen == cur)
            break;
        cur = seen;
    }
    *word = cur;
    return 0;
}

int shm_fallocate(int fd, const char *path, uint64_t off, uint64_t len, const char *what)
{
    if (len == 0)
        return 0;
    int rc;
    do
        rc = fallocate(fd, 0, (off_t)off, (off_t)len);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return 0;
    int e = errno;
    if (e == EOPNOTSUPP)
        return 0; /* a filesystem without fallocate: pages come on first touch */
    if (e == ENOSPC || e == EDQUOT) {
        struct statvfs vfs;
        unsigned long long avail = fstatvfs(fd, &vfs) == 0 ? (unsigned long long)vfs.f_bavail * vfs.f_frsize : 0;
        return smx_fail(-ENOSPC, "the filesystem holding %s is full: %s needs %llu bytes, %llu are free", path, what,
                        (unsigned long long)len, avail);
    }
    return smx_fail(-e, "cannot allocate %llu bytes of %s for %s: %s", (unsigned long long)len, path, what,
                    strerror(e));
}

static int make_real(struct shm_arena *a, uint64_t off, uint64_t len, const char *what)
{
    int rc = shm_fallocate(a->fd, a->path, off, len, what);
    if (rc == -ENOSPC)
        shmetrics_add_relaxed(&a->sh->fs_refused, 1);
    return rc;
}

int shm_pool_alloc(struct shm_arena *a, uint64_t words, uint64_t align, const char *what, uint64_t *word)
{
    uint64_t need = (words + SHM_LINE_WORDS - 1) / SHM_LINE_WORDS * SHM_LINE_WORDS;
    uint64_t cap = a->h.pool_bytes / 8;
    uint64_t cur = shmetrics_load_relaxed(&a->sh->pool_used), at;
    for (;;) {
        /* The words skipped to align the start are handed out with it. */
        at = (cur + align - 1) / align * align;
        if (cur > cap || at > cap || need > cap - at) {
            count_refused(a);
            return smx_fail(-ENOSPC,
                            "arena full: the cell pool (%llu bytes) has no room for %llu more for %s "
                            "(create the arena with more --cells)",
                            (unsigned long long)a->h.pool_bytes, (unsigned long long)need * 8, what);
        }
        uint64_t seen = shmetrics_cas_seq_cst(&a->sh->pool_used, cur, at + need);
        if (seen == cur)
            break;
        cur = seen;
    }
    int rc = make_real(a, a->h.off_pool + at * 8, need * 8, what);
    if (rc < 0) {
        /* Give the words back if no one allocated after them, so that a
         * full filesystem does not drain the pool one refusal at a time. */
        if (shmetrics_cas_seq_cst(&a->sh->pool_used, at + need, cur) != at + need)
            shm_count_abandoned(a);
        return rc;
    }
    *word = at;
    return 0;
}

int shm_unit_ready(struct shm_arena *a, uint32_t slot, uint64_t words)
{
    uint64_t cap = a->h.proc_unit_bytes / 8;
    if (words > cap)
        words = cap;
    uint64_t *ready = slot < a->h.processes_cap ? &shm_procs(a)[slot].unit_ready : &a->sh->retired_ready;
    uint64_t have = shmetrics_load_acquire(ready);
    if (have >= words)
        return 0;
    /* Whole pages: the next call for a cell on the same page costs nothing. */
    uint64_t page_words = SHM_PAGE / 8;
    words = (words + page_words - 1) / page_words * page_words;
    if (words > cap)
        words = cap;
    int rc = make_real(a, a->h.off_proc_units + (uint64_t)slot * a->h.proc_unit_bytes + have * 8, (words - have) * 8,
                       "a process's gauge cells");
    if (rc < 0)
        return rc;
    while (have < words) {
        uint64_t seen = shmetrics_cas_seq_cst(ready, have, words);
        if (seen == have)
            break;
        have = seen;
    }
    return 0;
}

uint64_t shm_usage_bytes_used(const struct shm_usage *u)
{
    const struct shm_caps *c = &u->caps;
    const uint64_t word = sizeof(uint64_t);
    uint64_t free_bytes = (uint64_t)(c->families - u->families_used) * sizeof(struct shm_family) +
                          (uint64_t)(c->series - u->series_used) * sizeof(struct shm_series) +
                          (c->heap_bytes - u->heap_used) + (c->pool_cells - u->pool_used) * word +
                          (uint64_t)c->processes * (c->proc_cells - u->proc_cells_used) * word;
    return u->file_bytes - free_bytes;
}
