/* SPDX-License-Identifier: MIT */
/*
 * src/write/registry.h - the per-process objects behind the public handles: the
 * registry, its metrics and its resolved series, and the two lock-free
 * lookup caches (liburcu cds_lfht) that map names and label sets to them.
 */
#ifndef SMX_REGISTRY_H
#define SMX_REGISTRY_H

/* liburcu's inline read-side fast path, except in sanitizer builds: there
 * the calls go to the (uninstrumented) library, because urcu-bp 0.13 lays
 * out its reader records below the alignment it declares for them, which
 * UBSan reports on every read-side critical section. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SMX_SANITIZED 1
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SMX_SANITIZED 1
#endif
#endif
#ifndef SMX_SANITIZED
#define _LGPL_SOURCE
#endif
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "base/buf.h"
#include "shm/arena.h"
#include "shm/layout.h"
#include "shmetrics.h"

/*
 * liburcu-cds publishes a node with rcu_assign_pointer and readers find it
 * through rcu_dereference, inside the library, where ThreadSanitizer cannot
 * see them.  These annotations tell it the same ordering: release before a
 * node is added, acquire before its fields are read.  Nothing otherwise.
 */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define SMX_PUBLISHED(node) __tsan_release((void *)(node))
#define SMX_FOUND(node) __tsan_acquire((void *)(node))
#else
#define SMX_PUBLISHED(node) ((void)(node))
#define SMX_FOUND(node) ((void)(node))
#endif

/*
 * Handle magic words: set when an object is made, cleared when it is freed,
 * and checked on entry of the public functions that take it (not by the
 * inline hot paths, which take series handles).  A zeroed, foreign or freed
 * handle is then -EINVAL with a message instead of a crash or a wrong
 * number (a freed one as long as its memory was not reused).
 */
#define SMX_REGISTRY_MAGIC UINT32_C(0x52584d53) /* "SMXR" */
#define SMX_METRIC_MAGIC UINT32_C(0x4d584d53)   /* "SMXM" */
#define SMX_SNAPSHOT_MAGIC UINT32_C(0x53584d53) /* "SMXS" */

struct smx_metric {
    uint32_t magic;            /* SMX_METRIC_MAGIC while alive */
    struct cds_lfht_node node; /* in reg->metrics, keyed by full name */
    shmetrics_registry_t *reg;
    uint64_t hash;
    uint32_t idx;  /* family record */
    uint32_t type; /* shmetrics_type_t */
    uint32_t mode; /* shmetrics_gauge_mode_t */
    uint32_t nlabels;
    uint32_t ncells;
    char *name; /* full name */
    size_t name_len;
    char *labels; /* label names as a string list */
    size_t labels_len;
    double *bounds; /* histograms: finite upper bounds */
    uint32_t nbuckets;
    double *quantiles; /* summaries */
    uint32_t nquantiles;
    uint32_t max_age_ms;
    uint32_t age_buckets;
    uint32_t min_interval_us;
    uint32_t max_series;
    /* Atomic (relaxed): nonzero once a registration of this process asked
     * for UTF-8 names (its exemplars' and info pairs' label names too). */
    uint32_t utf8_names;
    char *unit; /* "" for none */
    size_t unit_len;
    char *states; /* statesets: the state names, a string list */
    size_t states_len;
    uint32_t nstates;
    const char **state_names; /* statesets: into `states` */
    /* Histograms: native buckets (native_kind 0: none), and the parameters
     * their series handles point to (src/write/native.c). */
    uint32_t native_kind;
    int32_t native_schema;
    double native_zero_threshold;
    uint32_t native_max_buckets;
    int32_t native_min_exponent, native_max_exponent;
    uint64_t *native_bounds; /* schema > 0: 2^schema mantissas */
    struct shmetrics_native_ native;
    struct smx_metric *free_next; /* at shutdown */
};

struct shmetrics_counter {
    struct smx_metric m;
};
struct shmetrics_gauge {
    struct smx_metric m;
};
struct shmetrics_histogram {
    struct smx_metric m;
};
struct shmetrics_summary {
    struct smx_metric m;
};
struct shmetrics_info {
    struct smx_metric m;
};
struct shmetrics_enum {
    struct smx_metric m;
};

struct smx_series {
    struct cds_lfht_node node; /* in reg->series, keyed by (metric, key) */
    struct smx_metric *metric;
    uint64_t hash;
    uint32_t idx;           /* series record */
    uint32_t flags;         /* SHM_SERIES_OVERFLOW: the key maps to the overflow series */
    uint64_t removals_seen; /* atomic: the arena's removal count when last checked */
    uint64_t *exemplars;    /* atomic (relaxed): the series' exemplar block once checked, else NULL */
    union {
        struct shmetrics_counter_series counter;
        struct shmetrics_gauge_series gauge;
        struct shmetrics_histogram_series histogram;
        struct shmetrics_summary_series summary;
        struct shmetrics_info_series info;
        struct shmetrics_enum_series enumeration;
    } h;
    struct smx_series *free_next; /* at shutdown */
    size_t key_len;
    char key[]; /* label values as a string list */
};

struct shmetrics_registry {
    uint32_t magic; /* SMX_REGISTRY_MAGIC while open */
    struct shm_arena *arena;
    struct cds_lfht *metrics;
    struct cds_lfht *series;
    pthread_mutex_t lock;     /* claiming the process slot; registering */
    const uint64_t *removals; /* the arena's removal count */
    char *proc_unit;          /* this process's gauge unit, NULL until claimed */
    uint32_t proc_slot;
    bool have_slot;
    /* The library's own counters, labelled `metric`, registered in the arena
     * by src/write/series.c when first needed (atomic; NULL until then). */
    struct smx_metric *self_overflow;     /* shmetrics_cardinality_overflow */
    struct smx_metric *self_sets_dropped; /* shmetrics_gauge_sets_dropped */
    struct shmetrics_registry *next;      /* all open registries, for fork */
    /* The life word its samplers check (src/write/sampler.c), and the value
     * it holds while the registry is open. */
    struct smx_life *life;
    uint64_t alive;
    /* shmetrics_registry_set_clock: NULL for the library's own clocks. */
    double (*clock)(void *arg);
    void *clock_arg;
};

/* src/write/registry.c */
/* 0 for a live registry; else -EINVAL with the message "`fn`: no registry
 * given" or "`fn`: not a shmetrics registry (bad magic 0x...)". */
int smx_registry_check(const shmetrics_registry_t *reg, const char *fn);
/* The registry's clock (shmetrics_registry_set_clock) in CLOCK_REALTIME
 * nanoseconds, 0 when it has none or gave no time. */
uint64_t smx_registry_clock_ns(const shmetrics_registry_t *reg);
/* Atomic (relaxed): how many registries of this process ever had a clock
 * set; while 0, an exemplar's time needs no look at its registry. */
extern uint32_t smx_clocks_set;
/* The same for a metric handle, which must also be of `type` (0: any). */
int smx_metric_check(const struct smx_metric *m, uint32_t type, const char *fn);
int smx_metric_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, uint32_t type,
                        struct smx_metric **out);
int smx_metric_get(shmetrics_registry_t *reg, const char *name, uint32_t type, struct smx_metric **out);

/* src/write/sampler.c */
/* Give an opening registry its life word: 0, or -ENOMEM. */
int smx_samplers_open(shmetrics_registry_t *reg);
/* At shutdown, before the arena is unmapped: end the registry's life (its
 * samplers count nothing from now on), and add the pending counts of its
 * samplers in every thread's slots, freeing those slots. */
void smx_samplers_close(shmetrics_registry_t *reg);

/* src/write/series.c */
/* The registry of a counter series handle the library handed out. */
shmetrics_registry_t *smx_counter_registry(const shmetrics_counter_series_t *s);
int smx_series_get(struct smx_metric *m, size_t n, const char *const *values, struct smx_series **out);
/* Empty and destroy a process-local cds_lfht at close, once no other
 * thread uses it: every node deleted, a grace period
 * (urcu_bp_synchronize_rcu), then free_obj() on each object.  node_off is
 * the offset of the cds_lfht_node in the object, next_off that of a pointer
 * field the walk may use to chain the deleted objects. */
void smx_lfht_drain(struct cds_lfht *ht, size_t node_off, size_t next_off, void (*free_obj)(void *));
int smx_series_remove(struct smx_metric *m, size_t n, const char *const *values);
/* An info series: its value set `pairs`, resolved (registered on first
 * use) as the series of the label values then the pairs. */
int smx_info_series_get(struct smx_metric *m, const char *key, size_t key_len, const shmetrics_label_t *pairs, size_t n,
                        struct smx_series **out);
/* The series object behind a handle of any type (inline: the exemplar
 * calls take it on a worker's hot path). */
static inline struct smx_series *smx_series_of_handle(const void *handle)
{
    return caa_container_of((void *)(uintptr_t)handle, struct smx_series, h);
}
int smx_series_clear(struct smx_metric *m);

/* src/write/spec.c */
struct smx_spec {
    char name[SHM_MAX_NAME + 1];
    size_t name_len;
    const char *help;
    size_t help_len;
    char labels[SHM_MAX_LABELS * (SHM_MAX_NAME + 1)];
    size_t labels_len;
    uint32_t nlabels;
    uint32_t mode;
    double buckets[SHM_MAX_BUCKETS];
    uint32_t nbuckets;
    double quantiles[SHM_MAX_QUANTILES];
    uint32_t nquantiles;
    uint32_t max_age_ms;
    uint32_t age_buckets;
    uint32_t min_interval_us;
    uint32_t max_series;
    char unit[SHM_MAX_UNIT_LEN + 1];
    size_t unit_len;
    /* Statesets: the spec's states, checked; smx_states_encode makes the
     * string list the arena stores. */
    const char *const *states;
    uint32_t nstates;
    size_t states_len;
    /* Histograms: native buckets, checked and with their defaults. */
    uint32_t native_kind;
    int32_t native_schema;
    double native_zero_threshold;
    uint32_t native_max_buckets;
    int32_t native_min_exponent, native_max_exponent;
    bool utf8_names;
};
int smx_spec_parse(const shmetrics_spec_t *spec, uint32_t type, struct smx_spec *out);
const char *smx_mode_name(uint32_t mode);
/* The states of a parsed spec as a malloc'd string list (states_len
 * bytes); NULL when out of memory. */
char *smx_states_encode(const struct smx_spec *s);
/* The suffixes a family of `type` adds to its name in its samples. */
const char *const *smx_type_suffixes(uint32_t type, size_t *n);

/* src/write/native.c */
/* The native fields of a spec of `type`: -EINVAL naming the field. */
int smx_native_parse(const shmetrics_spec_t *spec, uint32_t type, struct smx_spec *o);
/* An existing metric's native parameters against a new spec's: -EEXIST
 * naming the difference. */
int smx_native_compare(const struct smx_metric *m, const struct smx_spec *s);
/* The cells of a native histogram's block (shm/layout.h). */
uint32_t smx_native_cells(uint32_t kind, int32_t schema, uint32_t nbuckets, int32_t emin, int32_t emax);
/* Fill m->native (and its bounds) from the metric's native fields: 0, or
 * -ENOMEM. */
int smx_native_setup(struct smx_metric *m);
/* The bucket of a magnitude (> 0, not NaN; infinity: after the largest
 * double's) at schema s, computed the long way (frexp). */
int32_t smx_native_key(int32_t s, double mag);
/* The mantissa bits of the schema 8 bounds 2^(k/256), k = 0..255. */
const uint64_t *smx_native_mantissas(void);

/* src/write/native_read.c */
/* The native part of a histogram series, merged over its blocks: each
 * sign's populated buckets (sorted by index), the zero bucket, NaN and
 * unplaced counts and the sum, at the family's schema. */
struct smx_native_bucket {
    int32_t key;
    uint32_t neg; /* 1: a bucket of negative observations */
    uint64_t count;
};
struct smx_native_acc {
    uint32_t sum_word, window; /* from the family */
    int32_t lo;
    uint64_t *counts;                /* window counts, negative then positive (malloc'd) */
    struct smx_native_bucket *spill; /* spilled buckets (malloc'd, grown) */
    uint32_t nspill, spill_cap;
    bool oom;     /* a spilled bucket found no memory */
    bool bad_key; /* a spill key that is no bucket: damage */
    uint64_t nan, zero, unplaced;
};
/* -ENOMEM, with the message, when the window's counts find no memory. */
int smx_native_acc_init(struct smx_native_acc *acc, const struct shm_family_view *f);
void smx_native_acc_block(struct smx_native_acc *acc, const uint64_t *cells);
void smx_native_acc_free(struct smx_native_acc *acc);
/* Every observation the native part counted. */
uint64_t smx_native_count(const struct smx_native_acc *acc);
/* Build the histogram of `acc` (with this count and sum) into *out, its
 * arrays from alloc(arg, n) (NULL: -ENOMEM), reduced to the family's
 * native_max_buckets.  -EBADMSG (with the message) for a damaged spill
 * key, -ENOMEM. */
int smx_native_build(const struct smx_native_acc *acc, const struct shm_family_view *f, uint64_t count, double sum,
                     void *(*alloc)(void *, size_t), void *arg, shmetrics_native_histogram_t *out);

/* The double in a cell word (relaxed: a reader sees each write whole). */
static inline double smx_load_double(const uint64_t *cell)
{
    uint64_t bits = shmetrics_load_relaxed(cell);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* src/read/collect.c, src/write/histogram.c, src/write/summary.c: merged reads of one pool
 * series, over its base block and every stripe (shm_series_blocks).  Each
 * returns 0, or -EBADMSG (with the message) when a stripe set is damaged:
 * the value then covers the blocks before it only. */
int smx_counter_read(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *f,
                     double *value);
/* A histogram's classic buckets (cumulative; for a native-only one just
 * the count, in cumulative[0]) and sum, and with `native` (NULL: not
 * read) its native part.  Kind both: the classic count and the native
 * count are made equal (the larger of the two, which counts observations
 * in flight). */
int smx_histogram_read(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *f,
                       uint64_t *cumulative, double *sum, struct smx_native_acc *native);
struct smx_window {
    const struct shm_arena *a;
    struct shm_series_view v;
    struct shm_family_view f; /* type, ncells, age_buckets at least */
    uint64_t period_ns;
};
int smx_summary_totals(const struct smx_window *w, uint64_t *count, double *sum);
/* Quantiles q[0..n-1] over the window ending at now_ns; NaN when empty.
 * Returns -ENOMEM if the merge buffer cannot be had. */
int smx_summary_quantiles(const struct smx_window *w, uint64_t now_ns, const double *q, uint32_t n, double *out);
/* The arena and the views (with the fields the readers above use) behind
 * a resolved handle's cells: a handle reads its own series. */
void smx_cells_views(const struct shmetrics_cells_ *c, const struct shm_arena **a, struct shm_series_view *v,
                     struct shm_family_view *f);
uint64_t smx_coarse_now(void);
/* The 1-based nearest rank of quantile q among n observations. */
uint64_t smx_nearest_rank(double q, uint64_t n);

/* Reader checks of its private copies (src/read/collect_check.c): n finite,
 * strictly increasing numbers (within [0, 1] for quantiles); a family's
 * label names are distinct and none is the label its type adds (for a
 * stateset, named `family`, which must be a label name); no two
 * families expose one name (claim in record order: false for a family
 * whose names an earlier one took). */
bool smx_numbers_ok(const double *d, uint32_t n, bool unit_interval);
/* A creation time a reader accepts: set, and at most a day ahead of its
 * own clock (CLOCK_REALTIME ns): a day of clock steps is forgiven. */
#define SMX_CREATED_AHEAD_NS (UINT64_C(86400) * 1000000000u)
bool smx_created_ok(uint64_t created_ns, uint64_t now_ns);
/* An exemplar a reader copied (shm_exemplar_read): its label text well
 * formed (smx_exemplar_text_ok), its value finite, its timestamp set and
 * not more than SMX_CREATED_AHEAD_NS ahead of now_ns (CLOCK_REALTIME). */
struct shm_exemplar;
bool smx_exemplar_ok(const struct shm_exemplar *e, uint64_t now_ns);
bool smx_family_labels_ok(const char *family, const char *const *names, uint32_t n, uint32_t type, uint32_t mode);
struct smx_exposed;
struct smx_exposed *smx_exposed_new(uint32_t nfamilies);
bool smx_exposed_claim(struct smx_exposed *e, uint32_t family, const char *name, uint32_t type);
void smx_exposed_free(struct smx_exposed *e);

#endif
