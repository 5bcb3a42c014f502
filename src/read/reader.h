/* SPDX-License-Identifier: MIT */
/*
 * src/read/reader.h - the collector side that serve (src/server*.c) and push
 * (src/push/push.c) share, implemented in src/read/reader.c: the read-only registry
 * of an arena path, re-attached when the arena is unlinked and re-created,
 * and the collector's own metrics appended to a snapshot.
 */
#ifndef SMX_READER_H
#define SMX_READER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmetrics.h"

/* At most this many re-attaches for a shared reader (the replaced
 * registries stay mapped until smx_reader_fini). */
#define SMX_READER_OLD 64

struct smx_reader {
    shmetrics_registry_t *reg;                 /* atomic: the current registry */
    shmetrics_registry_t *given;               /* the caller's: never shut down here */
    char *path;                                /* the arena path, for re-attaching */
    bool shared;                               /* other threads may still read a replaced registry */
    pthread_mutex_t lock;                      /* re-attaching */
    shmetrics_registry_t *old[SMX_READER_OLD]; /* shared: the replaced ones */
    unsigned nold;
    uint64_t reattached; /* atomic */
};

/* Read `reg` (the caller's, which outlives the reader) and whatever its
 * path names later.  `shared`: registries handed out may be read by other
 * threads while a re-attach happens, so the replaced ones stay mapped until
 * smx_reader_fini (and re-attaching stops after SMX_READER_OLD of them);
 * else the caller reads one at a time (under a lock of its own) and a
 * replaced registry is shut down at once.  0 or -errno with a message. */
int smx_reader_init(struct smx_reader *r, shmetrics_registry_t *reg, bool shared);
/* The registry to read: the current one, or a new one if the path now names
 * a re-created arena (while the path names none, the old mapping still
 * reads).  *fresh, if given, tells whether this call re-attached.  Any
 * thread of a shared reader. */
shmetrics_registry_t *smx_reader_registry(struct smx_reader *r, bool *fresh);
/* How many times the reader re-attached. */
uint64_t smx_reader_reattached(struct smx_reader *r);
/* Shut down the registries opened here. */
void smx_reader_fini(struct smx_reader *r);

/* ------------------------------------------------------- self metrics */

/* Which collector's families to append: each row of the table in
 * src/read/reader.c belongs to one (0: neither's, only the workers'
 * process_* families if procs is given). */
enum smx_self_who { SMX_SELF_SERVE = 1, SMX_SELF_PUSH = 2 };

struct smx_procs;

/* What the collector's own families are computed from. */
struct smx_self_in {
    enum smx_self_who who;
    const shmetrics_label_t *label;      /* put on every sample (push: its backend), or NULL */
    const shmetrics_snapshot_t *snap;    /* the arena's, as collected */
    const shmetrics_arena_info_t *arena; /* serve: its usage */
    uint64_t scrapes;                    /* serve: scrapes served, this one included */
    uint64_t last_scrape_ns;             /* serve: what the previous scrape took */
    uint64_t reattached;                 /* serve: smx_reader_reattached */
    uint64_t conns_open;                 /* serve: connections open now */
    uint64_t conns_max;                  /* serve: the connection limit */
    uint64_t conns_closed[3];            /* serve: closed by its guard: request timeout, address, limit */
    uint64_t resident_bytes;             /* serve: the collector's resident memory */
    uint64_t auth_checks[3];             /* serve: password checks: cached, verified, refused */
    const shmetrics_push_stats_t *push;  /* push: its counts before this push */
    const struct smx_procs *procs;       /* the workers' /proc figures (src/read/procstat.h), or NULL:
                                          * no process_* families */
};

/* The families of in->snap, then the collector's own (the rows of in->who,
 * in table order), then, with in->procs, the workers' process_* families
 * (one sample per process, labelled pid; a family whose name the arena
 * already exposes is left out), in *out; its other fields are in->snap's.  The arena's
 * families are in->snap's (not copied): in->snap must outlive *out.  Its
 * arrays are one block that smx_self_free frees.  0 or -ENOMEM with a
 * message. */
int smx_self_append(const struct smx_self_in *in, shmetrics_snapshot_t *out);
void smx_self_free(shmetrics_snapshot_t *out);

/* Why the first damaged record of a snapshot was skipped ("" if none
 * was): for the collector's log and `shmetrics dump` (src/read/collect.c). */
const char *smx_snapshot_first_damage(const shmetrics_snapshot_t *snap);

/* A process the walk of the process table found attached and alive: its
 * pid and start time (field 22 of /proc/PID/stat) as its slot holds them. */
struct smx_live_proc {
    uint32_t pid;
    uint64_t start_time;
};

/* The live processes of a snapshot from shmetrics_collect (in slot order;
 * a pid that holds two slots is there twice), in *out, valid as long as
 * the snapshot; returns how many (src/read/collect.c). */
size_t smx_snapshot_live(const shmetrics_snapshot_t *snap, const struct smx_live_proc **out);

#endif
