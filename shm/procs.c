/* SPDX-License-Identifier: MIT */
/*
 * shm/procs.c - owns the process table: the slot a process takes before it
 * writes its first gauge cell, and the per-process units behind the slots.
 *
 * A slot is claimed by a CAS of its state from FREE to CLAIMING; the owner
 * then fills pid, start time and attach time and publishes the slot with a
 * release store of ACTIVE.  Readers use only ACTIVE and EXITED slots.  The
 * start time (field 22 of /proc/PID/stat) tells a process from a later one
 * that reuses its pid.  Detaching, reclaiming the slots of processes that
 * died, and making room when no slot is free (shm_proc_claim), is
 * shm/reclaim.c's business: nothing here calls it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena_priv.h"
#include "base/clock.h"
#include "base/error.h"

/* Field 22 of /proc/PID/stat (0: this process); 0 when it cannot be read. */
uint64_t shm_start_time(uint32_t pid)
{
    char buf[1024], path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%u/stat", pid);
    else
        snprintf(path, sizeof path, "/proc/self/stat");
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name (field 2) may hold spaces and parentheses: skip to
     * the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long v = 0;
    /* After ')': field 3 is the state; field 22 is the 20th after it. */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v) != 1)
        return 0;
    return v;
}

bool shm_proc_alive(const struct shm_proc_view *v)
{
    if (v->state != SHM_PROC_ACTIVE || v->pid == 0)
        return false;
    if (kill((pid_t)v->pid, 0) < 0 && errno != EPERM)
        return false;
    /* The pid exists; is it still the same process, or a reused pid? */
    uint64_t st = shm_start_time(v->pid);
    return st == 0 || v->start_time == 0 || st == v->start_time;
}

int shm_proc_claim_free(struct shm_arena *a, uint32_t *slot)
{
    struct shm_proc *t = shm_procs(a);
    for (uint32_t i = 0; i < a->h.processes_cap; i++) {
        if (shmetrics_load_relaxed(&t[i].state) != SHM_PROC_FREE)
            continue;
        if (shmetrics_cas_seq_cst(&t[i].state, SHM_PROC_FREE, SHM_PROC_CLAIMING) != SHM_PROC_FREE)
            continue;
        shmetrics_store_relaxed(&t[i].pid, (uint32_t)getpid());
        shmetrics_store_relaxed(&t[i].start_time, shm_start_time(0));
        shmetrics_store_relaxed(&t[i].attach_ns, smx_real_ns());
        shmetrics_store_relaxed(&t[i].detach_ns, (uint64_t)0);
        shmetrics_store_release(&t[i].state, SHM_PROC_ACTIVE);
        *slot = i;
        return 0;
    }
    return -ENOSPC;
}

int shm_proc_view(const struct shm_arena *a, uint32_t slot, struct shm_proc_view *v)
{
    if (slot >= a->h.processes_cap)
        return smx_fail(-EINVAL, "process slot %u is out of range", slot);
    const struct shm_proc *p = &shm_procs(a)[slot];
    uint32_t state = shmetrics_load_acquire(&p->state);
    if (state == SHM_PROC_FREE || state == SHM_PROC_CLAIMING)
        return -EAGAIN;
    if (state != SHM_PROC_ACTIVE && state != SHM_PROC_EXITED)
        return smx_fail(-EBADMSG, "process slot %u: bad state %u", slot, state);
    v->slot = slot;
    v->state = state;
    v->pid = shmetrics_load_relaxed(&p->pid);
    v->start_time = shmetrics_load_relaxed(&p->start_time);
    v->attach_ns = shmetrics_load_relaxed(&p->attach_ns);
    v->detach_ns = shmetrics_load_relaxed(&p->detach_ns);
    return 0;
}

uint32_t shm_processes_cap(const struct shm_arena *a)
{
    return a->h.processes_cap;
}

/* `slot` may be processes_cap: the retired unit. */
uint64_t *shm_proc_cell(const struct shm_arena *a, uint32_t slot, uint64_t cell)
{
    return (uint64_t *)(a->base + a->h.off_proc_units + (uint64_t)slot * a->h.proc_unit_bytes) + cell;
}

uint64_t shm_unit_ready_words(const struct shm_arena *a, uint32_t slot)
{
    const uint64_t *ready = slot < a->h.processes_cap ? &shm_procs(a)[slot].unit_ready : &a->sh->retired_ready;
    uint64_t w = shmetrics_load_acquire(ready);
    return w < a->h.proc_unit_bytes / 8 ? w : a->h.proc_unit_bytes / 8;
}

uint64_t shm_proc_cells_used(const struct shm_arena *a)
{
    uint64_t used = shmetrics_load_relaxed(&a->sh->proc_cells_used);
    return used < a->h.proc_unit_bytes / 8 ? used : a->h.proc_unit_bytes / 8;
}
