/* SPDX-License-Identifier: MIT */
/*
 * shm/arena.h - the internal interface of the arena: create or attach a
 * file, allocate and publish records and cells, and read them back through
 * validated views.  The rest of the library sees no byte offsets: it gets
 * record indexes, decoded views and cell pointers from here.
 *
 * Every function returns 0 or a negative errno code and, on error, sets the
 * thread's error message (base/error.h).
 */
#ifndef SHM_ARENA_H
#define SHM_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct shm_arena;

/* Capacities asked for at creation; 0 means "the default" (or, when
 * attaching, "whatever the arena has"). */
struct shm_caps {
    uint32_t families;
    uint32_t series;
    uint32_t processes;
    uint32_t stripes; /* stripes a series may gain at most, a power of two */
    uint64_t heap_bytes;
    uint64_t pool_cells; /* 8-byte words in the cell pool */
    uint64_t proc_cells; /* 8-byte words in one per-process unit */
};

#define SHM_OPEN_CREATE 1        /* create the file if it is missing */
#define SHM_OPEN_RDONLY 2        /* O_RDONLY + PROT_READ: a collector */
#define SHM_OPEN_EXCL 4          /* fail with -EEXIST if the file exists */
#define SHM_OPEN_ALLOW_FOREIGN 8 /* a writer accepts another user's arena, or a writable one */

/*
 * Who a writer trusts.  A read-write open does not follow a symbolic link
 * at `path` (-ELOOP), and refuses with -EPERM a file that another user
 * owns, or that its group or every user may write to, unless
 * SHM_OPEN_ALLOW_FOREIGN: another user may have made it to read or change
 * the writer's metrics.  The write bits of `mode` (the mode a new file is
 * given) are accepted on a file of the caller's own: a writer that would
 * create the arena group-writable accepts it group-writable.  The checks
 * are made on the opened file (fstat), not on the path.  A read-only open
 * follows links and reads any arena its mode lets it read.
 */
int shm_arena_open(const char *path, int flags, const struct shm_caps *want, mode_t mode, struct shm_arena **out);
void shm_arena_close(struct shm_arena *a);
/* 1 when the path now names another arena (unlinked and re-created: its
 * generation differs), else 0. */
int shm_arena_replaced(const struct shm_arena *a);
bool shm_arena_readonly(const struct shm_arena *a);
/* After a SIGBUS while reading the mapping (shm/guard.c): say why, as
 * "WHAT: ...", and return -EFAULT (the file was truncated) or -ENOSPC (a
 * page could not be allocated: its filesystem is full). */
int shm_arena_fault(const struct shm_arena *a, const char *what);
const char *shm_arena_path(const struct shm_arena *a);
/* The clock of the creation times this process stamps on series (in
 * CLOCK_REALTIME ns; a result of 0 means CLOCK_REALTIME); NULL restores
 * CLOCK_REALTIME.  Called with no lock held. */
void shm_arena_set_clock(struct shm_arena *a, uint64_t (*now_ns)(void *arg), void *arg);

/* The default stripe limit: the CPUs the system has (online or not)
 * rounded up to a power of two. */
uint32_t shm_default_stripes(void);

/* What `shmetrics stat` shows. */
struct shm_usage {
    struct shm_caps caps; /* as created (all fields filled) */
    uint64_t file_bytes;
    uint64_t generation;
    uint64_t created_ns;
    uint32_t creator_pid;
    uint32_t families_used;
    uint32_t series_used;
    uint64_t heap_used;
    uint64_t pool_used;       /* words */
    uint64_t proc_cells_used; /* words in each process unit */
    uint64_t refused;
    uint64_t abandoned;
    uint64_t reclaimed;
    uint64_t fs_refused;
    uint64_t striped;
    uint64_t stripes_refused;
    uint64_t native_unplaced;
    uint64_t allocated_bytes; /* what the filesystem holds for the file now */
};
void shm_arena_usage(const struct shm_arena *a, struct shm_usage *u);
/* Count a native histogram observation no bucket could take (the
 * header's native_unplaced, relaxed fetch-add).  Writers only. */
void shm_count_unplaced(struct shm_arena *a);
/* The bytes of the file in use (shm/alloc.c): everything but the free part
 * of each region (record tables, heap, cell units). */
uint64_t shm_usage_bytes_used(const struct shm_usage *u);

/* ---- families ---- */

struct shm_family_spec {
    uint32_t type;    /* enum shm_type */
    const char *name; /* full name */
    size_t name_len;
    const char *help;
    size_t help_len;
    const char *labels; /* label names as a string list (each NUL-ended) */
    size_t labels_len;
    uint32_t nlabels;
    uint32_t mode;         /* gauges */
    const double *buckets; /* histograms */
    uint32_t nbuckets;
    const double *quantiles; /* summaries */
    uint32_t nquantiles;
    uint32_t max_age_ms;
    uint32_t age_buckets;
    uint32_t min_interval_us; /* gauges */
    uint32_t max_series;      /* label sets before the overflow series */
    uint32_t ncells;          /* words per series per unit */
    const char *unit;         /* NULL or "": none */
    size_t unit_len;
    const char *states; /* statesets: the state names, a string list */
    size_t states_len;
    uint32_t nstates;
    /* Histograms: native buckets (shm/layout.h); kind 0 for none. */
    uint32_t native_kind;
    int32_t native_schema;
    double native_zero_threshold;
    uint32_t native_max_buckets;
    int32_t native_min_exponent, native_max_exponent;
};

/* A validated, decoded family.  Pointers point into the mapping. */
struct shm_family_view {
    uint32_t idx;
    uint32_t type;
    const char *name;
    uint32_t name_len;
    const char *help;
    uint32_t help_len;
    const char *labels;
    uint32_t labels_len;
    uint32_t nlabels;
    uint32_t mode;
    const double *buckets;
    uint32_t nbuckets;
    const double *quantiles;
    uint32_t nquantiles;
    uint32_t max_age_ms;
    uint32_t age_buckets;
    uint32_t min_interval_us;
    uint32_t max_series;
    uint32_t ncells;
    const char *unit; /* unit_len 0: none */
    uint32_t unit_len;
    const char *states; /* statesets: a string list of nstates names */
    uint32_t states_len;
    uint32_t nstates;
    uint32_t native_kind; /* enum shm_native_kind; 0: the fields below are 0 */
    int32_t native_schema;
    double native_zero_threshold;
    uint32_t native_max_buckets;
    int32_t native_min_exponent, native_max_exponent;
};

/* Find or publish the family named spec->name.  *created tells which.  The
 * caller compares an existing family's view with its spec. */
int shm_family_register(struct shm_arena *a, const struct shm_family_spec *spec, uint32_t *idx, bool *created);
/* -ENOENT when no family has that name. */
int shm_family_find(struct shm_arena *a, const char *name, size_t len, uint32_t *idx);
/* -EAGAIN for a record that is not published yet, -EBADMSG for one that
 * fails validation (with the reason in the error message). */
int shm_family_view(const struct shm_arena *a, uint32_t idx, struct shm_family_view *v);
uint32_t shm_families_used(const struct shm_arena *a);

/* ---- series ---- */

struct shm_series_view {
    uint32_t idx;
    uint32_t family;
    const char *key; /* label values as a string list */
    uint32_t key_len;
    uint32_t flags;      /* SHM_SERIES_* */
    uint64_t cell;       /* first word index in a unit */
    uint64_t created_ns; /* CLOCK_REALTIME: published, revived or last reset */
};

/* Find or publish the series (family, key); on success its cells exist. */
/* -EDQUOT, with no message, when the family already has max_series label
 * sets (the overflow series, flags SHM_SERIES_OVERFLOW, is not counted). */
int shm_series_register(struct shm_arena *a, uint32_t family, const char *key, size_t key_len, uint32_t flags,
                        uint32_t *idx, uint64_t *cell);
/* Without `fam`, checks what the record alone can tell; with the view of its
 * family, also its cells' bounds and its label values. */
int shm_series_view(const struct shm_arena *a, uint32_t idx, const struct shm_family_view *fam,
                    struct shm_series_view *v);
uint32_t shm_series_used(const struct shm_arena *a);
/* The record of (family, key), removed or not; -ENOENT if there is none. */
int shm_series_find(struct shm_arena *a, uint32_t family, const char *key, size_t key_len, uint32_t flags,
                    uint32_t *idx);
/* Zero a series' cells and hide it from readers (-ENOENT if it is not a
 * live series).  Registering the same label set again revives the record
 * and its cells (shm_series_register), so handles held elsewhere stay
 * valid. */
int shm_series_remove(struct shm_arena *a, uint32_t idx, const struct shm_family_view *fam);
bool shm_series_removed(const struct shm_arena *a, uint32_t idx);
/* The arena's count of removals: a cache need re-check a series only when
 * it moved since the last check. */
const uint64_t *shm_removals_word(const struct shm_arena *a);
/* A live series checked against its family, and that family's view. */
int shm_series_with_family(const struct shm_arena *a, uint32_t idx, struct shm_series_view *v,
                           struct shm_family_view *f);
/* Zero every cell of a series (a gauge: its value in every slot and in the
 * retired unit, keeping the write stamps). */
void shm_series_zero(struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *fam);
/* Move a series' creation time (a reset): a relaxed store.  Writers only. */
void shm_series_created_set(struct shm_arena *a, uint32_t idx, uint64_t ns);

/* ---- cells ---- */

/* The pool's first word: a series' base block is at pool + its cell. */
uint64_t *shm_pool(const struct shm_arena *a);
/* Word `cell` of process slot `slot`'s unit (slot processes_cap: the
 * retired unit). */
uint64_t *shm_proc_cell(const struct shm_arena *a, uint32_t slot, uint64_t cell);
/* Make the first `words` words of process unit `slot` (processes_cap: the
 * retired unit) real (fallocate) and raise its ready word; -ENOSPC with a
 * message when the filesystem is full.  Writers only. */
int shm_unit_ready(struct shm_arena *a, uint32_t slot, uint64_t words);
/* Words of slot `slot`'s unit that are allocated: a reader reads no cell
 * beyond them (they read as never written). */
uint64_t shm_unit_ready_words(const struct shm_arena *a, uint32_t slot);
/* Words handed out in every process unit so far. */
uint64_t shm_proc_cells_used(const struct shm_arena *a);

/* ---- stripes (shm/stripes.c) ---- */

/* lg of the most stripes a series of `type` may gain (0: none). */
uint32_t shm_stripes_max_lg(const struct shm_arena *a, uint32_t type);
/* A writer on CPU `cpu` lost a compare-and-swap on the base block of series
 * `series` (at pool word `base_word`), or found no stripe for its CPU in
 * the newest set, while the directory word was `seen`: add a set that has
 * a stripe for that CPU, or mark the directory NOGROW at the limit.
 * Returns 0 (also when someone else moved the word first), or the error
 * that kept the set from being made (the series is then NOGROW).  Writers
 * only. */
int shm_stripes_grow(struct shm_arena *a, uint32_t series, uint64_t base_word, uint32_t ncells, uint32_t type,
                     uint64_t seen, uint32_t cpu);
/* The newest stripe set of the series whose base block is at pool word
 * `base_word`, checked as a reader checks it: *first = the cells' block of
 * its first stripe (128-byte aligned), *lg, *nogrow; *first = NULL and *lg =
 * 0 when the series has no set.  -EBADMSG for a damaged directory or set.
 * Writers (to refresh their copy of the set). */
int shm_stripes_newest(const struct shm_arena *a, uint32_t series, uint64_t base_word, uint32_t ncells, uint32_t type,
                       uint64_t **first, uint32_t *lg, bool *nogrow);
/* Call fn on the cells (word 1) of every block of a pool series: its base
 * block, then each stripe of each set, newest first.  -EBADMSG (with the
 * message) for a damaged directory or set, after the blocks before it. */
typedef void (*shm_block_fn)(uint64_t *cells, void *arg);
int shm_series_blocks(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *fam,
                      shm_block_fn fn, void *arg);

/* ---- exemplars (shm/exemplar.c) ---- */

/* One exemplar as a reader copied it: whole (one writer's), its length
 * within bounds, its text not yet checked (smx_exemplar_text_ok). */
struct shm_exemplar {
    double value;
    uint64_t ts_ns; /* CLOCK_REALTIME */
    uint32_t len;   /* bytes of text */
    char text[512]; /* (name NUL value NUL) per label */
};
/* The exemplar block of series `series`, which has `nslots` slots (a
 * counter 1, a histogram nbuckets + 1): -ENOENT while it has none,
 * -EBADMSG (with the message) for a block that fails the checks. */
int shm_exemplar_find(const struct shm_arena *a, uint32_t series, uint32_t nslots, const uint64_t **block);
/* The same, allocating and publishing the block if the series has none:
 * -ENOSPC (with the message) when the pool or the filesystem is full.
 * Writers only. */
int shm_exemplar_block(struct shm_arena *a, uint32_t series, uint32_t nslots, uint64_t **block);
/* Store an exemplar in slot `slot` of a block from shm_exemplar_block, in
 * two steps (the protocol is at the top of shm/exemplar.c): begin takes
 * the slot (0, with the slot's busy word in *ticket) or drops the
 * exemplar (1: another live writer holds it); a taken slot must then be
 * ended, with the label text as `n` strings of len[i] bytes, each stored
 * followed by a NUL (names and values alternately, checked by the caller:
 * at most SHM_EXEMPLAR_TEXT bytes in all).  The text is written straight
 * into the slot after its CAS, so that no store of it waits for that
 * locked instruction.  Lock-free.  Writers only. */
int shm_exemplar_begin(uint64_t *block, uint32_t slot, uint64_t *ticket);
void shm_exemplar_end(uint64_t *block, uint32_t slot, uint64_t ticket, double value, uint64_t ts_ns,
                      const char *const *str, const uint16_t *len, size_t n);
/* Copy slot `slot` of a block from shm_exemplar_find: 0; -ENOENT, never
 * written; -EAGAIN, a writer held it through every try; -EBADMSG (with the
 * message), a length beyond the slot.  Any reader. */
int shm_exemplar_read(const uint64_t *block, uint32_t slot, struct shm_exemplar *out);
/* The block's counts of dropped exemplars and of slots taken over from
 * writers that died mid-write. */
void shm_exemplar_counts(const uint64_t *block, uint64_t *dropped, uint64_t *taken);
/* The same counts summed over every series' block (a walk of the series
 * records; blocks that fail their header check are skipped).  Any reader. */
void shm_exemplar_totals(const struct shm_arena *a, uint64_t *dropped, uint64_t *taken);
/* Tests: when set, a writer stops itself (SIGSTOP) after its busy CAS and
 * its first field store, so that a test can kill it there. */
extern int shm_exemplar_stop_hook;

/* ---- processes ---- */

struct shm_proc_view {
    uint32_t slot;
    uint32_t state;
    uint32_t pid;
    uint64_t start_time;
    uint64_t attach_ns;
    uint64_t detach_ns;
};

/* Claim a slot for the calling process: a free one, else one reclaimed
 * from a dead process, else from the exited process that left first
 * (shm/reclaim.c, as is detaching). */
int shm_proc_claim(struct shm_arena *a, uint32_t *slot);
/* The caller's clean exit: fold its gauge cells and free its slot (or keep
 * it EXITED while it holds `all`-mode values). */
void shm_proc_detach(struct shm_arena *a, uint32_t slot);
/* Fold a slot's gauge cells into the retired unit (shm/reclaim.c) and free
 * it; with keep_all, a slot holding `all`-mode values stays EXITED.  `seen`
 * is the slot as the caller judged it: -EAGAIN if it changed since (another
 * process freed or claimed it meanwhile). */
int shm_proc_reclaim(struct shm_arena *a, const struct shm_proc_view *seen, bool keep_all);
/* Reclaim the slots of ACTIVE processes that no longer exist; how many. */
int shm_proc_reclaim_dead(struct shm_arena *a);
/* Free one slot: a dead process's, else the oldest exited one. */
int shm_proc_make_room(struct shm_arena *a);
/* In a forked child: the reclaim code's process-local lock starts free. */
void shm_reclaim_after_fork(void);
/* Is the process of an ACTIVE slot still there (same pid, same start)? */
bool shm_proc_alive(const struct shm_proc_view *v);
/* Field 22 of /proc/PID/stat (pid 0: this process); 0 if unreadable. */
uint64_t shm_start_time(uint32_t pid);
/* -EAGAIN for a free or half-claimed slot. */
int shm_proc_view(const struct shm_arena *a, uint32_t slot, struct shm_proc_view *v);
uint32_t shm_processes_cap(const struct shm_arena *a);

#endif /* SHM_ARENA_H */
