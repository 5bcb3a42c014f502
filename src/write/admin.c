/* SPDX-License-Identifier: MIT */
/*
 * src/write/admin.c - owns the whole-arena operations: reset (values and
 * creation times), the clock that stamps creation times and exemplars
 * (shmetrics_registry_set_clock), and the status that `shmetrics stat` shows (capacities,
 * usage, processes).
 */
#include <errno.h>
#include <setjmp.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "registry.h"
#include "shm/guard.h"
#include "shm/layout.h"

/* 2^33 s, in the year 2242: a larger time is no time, and any smaller
 * one fits the arena's 64-bit nanoseconds. */
#define CLOCK_MAX_S 8589934592.0

uint64_t smx_registry_clock_ns(const shmetrics_registry_t *reg)
{
    if (!reg->clock)
        return 0;
    double s = reg->clock(reg->clock_arg);
    if (!(s > 0.0 && s < CLOCK_MAX_S)) /* NaN included */
        return 0;
    return smx_s_to_ns(s);
}

static uint64_t arena_clock(void *arg)
{
    return smx_registry_clock_ns(arg);
}

uint32_t smx_clocks_set;

int shmetrics_registry_set_clock(shmetrics_registry_t *reg, double (*clock)(void *arg), void *arg)
{
    int rc = smx_registry_check(reg, __func__);
    if (rc < 0)
        return rc;
    if (clock)
        shmetrics_add_relaxed(&smx_clocks_set, 1u);
    reg->clock = clock;
    reg->clock_arg = arg;
    shm_arena_set_clock(reg->arena, clock ? arena_clock : NULL, reg);
    return 0;
}

int shmetrics_reset(shmetrics_registry_t *reg)
{
    int rc = smx_registry_check(reg, __func__);
    if (rc < 0)
        return rc;
    struct shm_arena *a = reg->arena;
    if (shm_arena_readonly(a))
        return smx_fail(-EROFS, "cannot reset: the arena is open read-only");
    /* One time for the whole reset: every series starts again at once. */
    uint64_t now = smx_registry_clock_ns(reg);
    if (!now)
        now = smx_real_ns();
    uint32_t ns = shm_series_used(a);
    for (uint32_t i = 0; i < ns; i++) {
        struct shm_series_view v;
        struct shm_family_view f;
        if (shm_series_with_family(a, i, &v, &f) == 0) {
            shm_series_zero(a, &v, &f);
            shm_series_created_set(a, i, now);
        }
    }
    return 0;
}

int shmetrics_arena_info(shmetrics_registry_t *reg, shmetrics_arena_info_t *out)
{
    if (!reg || !out)
        return smx_fail(-EINVAL, "no registry or out pointer given");
    int rc = smx_registry_check(reg, __func__);
    if (rc < 0)
        return rc;
    struct shm_usage u;
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1))
        return shm_arena_fault(reg->arena, "reading the arena");
    shm_guard_enter(&jb);
    shm_arena_usage(reg->arena, &u);
    uint64_t dropped, taken;
    shm_exemplar_totals(reg->arena, &dropped, &taken);
    shm_guard_leave();
    memset(out, 0, sizeof *out);
    out->exemplars_dropped = dropped;
    out->exemplars_taken_over = taken;
    out->path = shm_arena_path(reg->arena);
    out->file_bytes = u.file_bytes;
    out->generation = u.generation;
    out->created_ns = u.created_ns;
    out->creator_pid = u.creator_pid;
    out->families_cap = u.caps.families;
    out->families_used = u.families_used;
    out->series_cap = u.caps.series;
    out->series_used = u.series_used;
    out->processes_cap = u.caps.processes;
    out->shards = u.caps.stripes;
    out->heap_bytes = u.caps.heap_bytes;
    out->heap_used = u.heap_used;
    out->cells_cap = u.caps.pool_cells;
    out->cells_used = u.pool_used;
    out->proc_cells_cap = u.caps.proc_cells;
    out->proc_cells_used = u.proc_cells_used;
    out->gauges_cap = (uint32_t)(u.caps.proc_cells / SHM_GAUGE_CELLS);
    out->gauges_used = (uint32_t)(u.proc_cells_used / SHM_GAUGE_CELLS);
    out->refused = u.refused;
    out->abandoned = u.abandoned;
    out->reclaimed = u.reclaimed;
    out->fs_refused = u.fs_refused;
    out->striped = u.striped;
    out->stripes_refused = u.stripes_refused;
    out->native_unplaced = u.native_unplaced;
    out->allocated_bytes = u.allocated_bytes;
    out->bytes_used = shm_usage_bytes_used(&u);
    return 0;
}

int shmetrics_processes(shmetrics_registry_t *reg, shmetrics_process_t *out, size_t cap, size_t *n)
{
    if (!reg || !n || (cap && !out))
        return smx_fail(-EINVAL, "no registry, output array or count given");
    int rc = smx_registry_check(reg, __func__);
    if (rc < 0)
        return rc;
    volatile size_t k = 0;
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1))
        return shm_arena_fault(reg->arena, "reading the arena");
    shm_guard_enter(&jb);
    for (uint32_t i = 0; i < shm_processes_cap(reg->arena); i++) {
        struct shm_proc_view v;
        if (shm_proc_view(reg->arena, i, &v) < 0)
            continue;
        if (k < cap) {
            out[k].slot = v.slot;
            out[k].pid = v.pid;
            out[k].exited = v.state == SHM_PROC_EXITED;
            out[k].alive = shm_proc_alive(&v);
            out[k].start_time = v.start_time;
            out[k].attach_ns = v.attach_ns;
            out[k].detach_ns = v.detach_ns;
        }
        k++;
    }
    shm_guard_leave();
    *n = k;
    return 0;
}

int shmetrics_arena_replaced(shmetrics_registry_t *reg)
{
    if (!reg)
        return 0;
    int rc = smx_registry_check(reg, __func__);
    return rc < 0 ? rc : shm_arena_replaced(reg->arena);
}
