/* SPDX-License-Identifier: MIT */
/*
 * shm/arena_priv.h - the arena handle, shared by the files of shm/ only.
 */
#ifndef SHM_ARENA_PRIV_H
#define SHM_ARENA_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "layout.h"
#include "shmetrics/atomic.h"

struct shm_arena {
    char *base; /* the mapping */
    size_t size;
    int fd;
    bool rdonly;
    char *path;
    struct shm_header h;   /* validated private copy: offsets come from here */
    struct shm_header *sh; /* the shared header: allocation words only */
    uint32_t spare_family; /* a record that lost a publication race, + 1 */
    uint32_t spare_series;
    /* shm_arena_set_clock: NULL for CLOCK_REALTIME. */
    uint64_t (*now_ns)(void *arg);
    void *now_arg;
};

static inline struct shm_proc *shm_procs(const struct shm_arena *a)
{
    return (struct shm_proc *)(a->base + a->h.off_procs);
}
static inline uint32_t *shm_family_index(const struct shm_arena *a)
{
    return (uint32_t *)(a->base + a->h.off_family_index);
}
static inline struct shm_family *shm_families(const struct shm_arena *a)
{
    return (struct shm_family *)(a->base + a->h.off_families);
}
static inline uint32_t *shm_series_index(const struct shm_arena *a)
{
    return (uint32_t *)(a->base + a->h.off_series_index);
}
static inline struct shm_series *shm_series_recs(const struct shm_arena *a)
{
    return (struct shm_series *)(a->base + a->h.off_series);
}
static inline const char *shm_heap(const struct shm_arena *a)
{
    return a->base + a->h.off_heap;
}

/* Allocators (shm/alloc.c). */
int shm_heap_alloc(struct shm_arena *a, const void *data, size_t len, uint32_t *off);
int shm_record_alloc(struct shm_arena *a, uint32_t *used, uint32_t cap, const char *what, uint32_t *idx);
/* A gauge series' line in every process unit: its word index. */
int shm_gauge_cells_alloc(struct shm_arena *a, uint64_t *word);
void shm_count_abandoned(struct shm_arena *a);
/* fallocate `len` bytes at `off` of the file (`path` names it in messages):
 * -ENOSPC with a message naming the filesystem when it is full. */
int shm_fallocate(int fd, const char *path, uint64_t off, uint64_t len, const char *what);
/* `words` words of the pool, whole lines, allocated in the filesystem. */
int shm_pool_alloc(struct shm_arena *a, uint64_t words, uint64_t align, const char *what, uint64_t *word);

/* Claim a FREE slot for the calling process, -ENOSPC when none is free
 * (shm/procs.c); shm_proc_claim (shm/reclaim.c) makes room first. */
int shm_proc_claim_free(struct shm_arena *a, uint32_t *slot);

#endif
