/* SPDX-License-Identifier: MIT */
/*
 * shmetrics.h - the public interface of shmetrics, a lock-free shared-memory
 * metrics engine.  This header is the contract.
 *
 * Model.  Worker processes attach to one arena (a file, under /dev/shm by
 * default) and update metric cells with atomics; a collector opens the same
 * arena read-only and merges the cells at read time.  A registry is one
 * process's handle on an arena.  A metric (family) has a name, a type, help
 * text and label names; a series is a metric plus one set of label values,
 * and it is what the hot path updates.
 *
 * Errors.  Every function that can fail returns 0 or a negative errno code
 * and leaves a message naming the problem for shmetrics_errmsg().  Codes:
 *   -EINVAL   a bad argument (name, label, value, spec, option)
 *   -EEXIST   a conflicting registration, or an arena that must not exist
 *   -ENOENT   no such arena or metric
 *   -ENOSPC   the arena is full (metrics already registered keep working)
 *   -EROFS    a write through a read-only registry
 *   -EBADMSG  a file that is not a valid arena, or a damaged record
 *   -EPROTO   an arena of another layout version
 *   -EACCES   permission denied
 *   -ENOMEM   out of memory
 *
 * Callers.  "worker" functions may be called by any thread of a process that
 * opened the arena read-write; "collector" functions by any thread of any
 * process that opened it; "setup" functions are not for the hot path (they
 * may allocate and take a process-local lock); "any caller" functions touch
 * no arena.  Functions marked hot are in shmetrics/hot.h: no lock, no
 * allocation, no system call (but for the rare cases hot.h names).
 *
 * Handles.  The registry, metric and snapshot objects carry a magic word,
 * checked on entry of the functions that take them: a handle that is not
 * one (zeroed, of another kind, of another metric type, or already shut
 * down or freed while its memory was not reused) is -EINVAL with a message
 * naming the function, "not a shmetrics registry (bad magic 0x...)".  The
 * series handles of the hot paths are not checked (they must stay fast).
 *
 * Memory order.  Functions that read the arena load its cells relaxed (a
 * gauge's write stamp and a summary slot's epoch with acquire); functions
 * that write it say so.  No function orders the caller's other memory.
 */
#ifndef SHMETRICS_H
#define SHMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "shmetrics/hot.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define SHMETRICS_VERSION "0.1.0"

typedef struct shmetrics_registry shmetrics_registry_t;
typedef struct shmetrics_counter shmetrics_counter_t;
typedef struct shmetrics_gauge shmetrics_gauge_t;
typedef struct shmetrics_histogram shmetrics_histogram_t;
typedef struct shmetrics_summary shmetrics_summary_t;
typedef struct shmetrics_counter_series shmetrics_counter_series_t;
typedef struct shmetrics_gauge_series shmetrics_gauge_series_t;
typedef struct shmetrics_histogram_series shmetrics_histogram_series_t;
typedef struct shmetrics_summary_series shmetrics_summary_series_t;
typedef struct shmetrics_info shmetrics_info_t;
typedef struct shmetrics_enum shmetrics_enum_t;
typedef struct shmetrics_info_series shmetrics_info_series_t;
typedef struct shmetrics_enum_series shmetrics_enum_series_t;

/* INFO and STATESET are prometheus_client's Info and Enum (OpenMetrics'
 * info and stateset types): see "Info and Enum" below. */
typedef enum shmetrics_type {
    SHMETRICS_COUNTER = 1,
    SHMETRICS_GAUGE = 2,
    SHMETRICS_HISTOGRAM = 3,
    SHMETRICS_SUMMARY = 4,
    SHMETRICS_INFO = 5,
    SHMETRICS_STATESET = 6,
} shmetrics_type_t;

/* A label: a name and a value. */
typedef struct shmetrics_label {
    const char *name;
    const char *value;
} shmetrics_label_t;

/*
 * How the per-process cells of a gauge merge at read time.
 *   ALL         one sample per process, with a "pid" label (the default, as
 *               in prometheus_client: nothing is merged away); a process
 *               that exited keeps its sample until its slot is needed
 *   SUM         the sum over processes
 *   MIN, MAX    the smallest, largest value
 *   MOSTRECENT  the value of the last write, whichever process made it
 * SUM, MIN, MAX and MOSTRECENT keep the last value of processes that exited
 * or died.  The LIVE variants count live processes only: a process that
 * exited or died (pid gone, or reused by another process) drops out.
 * Processes that never wrote the gauge do not take part.
 */
typedef enum shmetrics_gauge_mode {
    SHMETRICS_MODE_ALL = 0,
    SHMETRICS_MODE_SUM = 1,
    SHMETRICS_MODE_MIN = 2,
    SHMETRICS_MODE_MAX = 3,
    SHMETRICS_MODE_MOSTRECENT = 4,
    SHMETRICS_MODE_LIVEALL = 5,
    SHMETRICS_MODE_LIVESUM = 6,
    SHMETRICS_MODE_LIVEMIN = 7,
    SHMETRICS_MODE_LIVEMAX = 8,
    SHMETRICS_MODE_LIVEMOSTRECENT = 9,
} shmetrics_gauge_mode_t;

/* The words for types ("counter", "gauge", "histogram", "summary", "info",
 * "stateset": OpenMetrics' words) and
 * gauge modes ("all", "sum", ..., "livemostrecent": prometheus_client's
 * multiprocess_mode names); NULL for a value that is none.  A mode's word
 * back to the mode: -EINVAL, with a message naming it, for another word.
 * Any caller. */
const char *shmetrics_type_name(shmetrics_type_t type);
const char *shmetrics_gauge_mode_name(shmetrics_gauge_mode_t mode);
int shmetrics_gauge_mode_parse(const char *name, shmetrics_gauge_mode_t *out);

/* ------------------------------------------------------------------ errors */

/* The message of the last failed call in this thread ("no error" if none).
 * Valid until this thread's next failing call.  Cannot fail.  Any caller. */
const char *shmetrics_errmsg(void);

/* ------------------------------------------------------------------ arenas */

/* Capacity limits of an arena (shmetrics_options_t). */
#define SHMETRICS_MAX_PROCESSES 65536u
#define SHMETRICS_MAX_SHARDS 4096u

/* Open flags. */
#define SHMETRICS_OPEN_CREATE 0x1u   /* create the arena if it is missing */
#define SHMETRICS_OPEN_READONLY 0x2u /* collector: O_RDONLY and PROT_READ */
#define SHMETRICS_OPEN_EXCL 0x4u     /* with CREATE: -EEXIST if it exists */
/* A writer accepts a foreign arena; see "Foreign arenas" below. */
#define SHMETRICS_OPEN_ALLOW_FOREIGN 0x8u

/*
 * Foreign arenas.  A read-write open refuses, with -EPERM and a message
 * naming the path, its owner and its mode, an arena file that another user
 * owns (st_uid != geteuid()) or that its group or every user may write to
 * (mode & 022), and with -ELOOP a symbolic link at the path: any local user
 * can make the file a service will attach to under a shared directory such
 * as /dev/shm, and then read its metrics, change them or fill the arena.
 * The checks are made on the opened file (fstat), not on the path.  A
 * writer opts in with SHMETRICS_OPEN_ALLOW_FOREIGN, or with the
 * environment variable SHMETRICS_ALLOW_FOREIGN_ARENA=1 (which also covers
 * shmetrics_default(); ignored by set-user-ID programs): it then accepts
 * that whoever else may write to the file can alter or fill its metrics,
 * and, for a file it does not own, that its owner may remove it or change
 * its mode.  Symbolic links stay refused.  A file of the caller's own
 * whose group or other write bits are all in `file_mode` is accepted
 * without opting in: a writer that would create the arena with mode 0660
 * (for a group of workers of one user) attaches to one it finds with that
 * mode.  Creating an arena is never refused for its mode: the creator
 * made the file.  A read-only open (a collector) follows links and reads
 * any arena the file's mode lets it read; the flag changes nothing there.
 */

typedef struct shmetrics_options {
    /* The arena file.  A name without '/' is put under /dev/shm. */
    const char *path;
    unsigned flags; /* SHMETRICS_OPEN_* */
    /* Capacities.  0 means the default at creation (1024 families, 16384
     * series, 256 processes, 1024 gauge series, 32 MiB of cells, and the
     * system's CPUs rounded up to a power of two for shards: 50.6 MiB
     * at most in all) and "any" when attaching; a nonzero value that
     * differs from an existing arena's gives -EINVAL ("capacity
     * mismatch"). */
    uint32_t families;
    uint32_t series;
    uint32_t processes;
    /* The most stripes a counter or histogram series may gain (a power of
     * two, at most 4096): a series starts as one block and gains stripes,
     * for the CPUs its writers run on, only when writers collide on it.
     * Summaries gain 2 at most. */
    uint32_t shards;
    /* The mode of a new arena file; 0 means 0600.  Its group and other
     * write bits are also the ones a read-write open accepts on an
     * existing arena of the caller's own ("Foreign arenas" above). */
    unsigned file_mode;
    /* 8-byte cells in the pool that counters, histograms and summaries
     * take their blocks and stripes from: a block is 1 + its cells rounded
     * up to a cache line (a counter 8 cells, a histogram of 21 buckets 32,
     * a summary with 5 age buckets 20,504).  0 means 4 Mi cells (32 MiB). */
    uint64_t cells;
    /* Gauge series (each takes a cache line in every process's unit); 0
     * means 1024. */
    uint32_t gauges;
} shmetrics_options_t;

/* Create or attach to an arena.  Eight processes that create the same
 * missing arena at once all end up on one complete arena.  -EINVAL for a
 * NULL argument, an empty path, unknown flags, a bad mode or capacity, or a
 * capacity mismatch; -ENOENT (no arena, no CREATE), -EEXIST (EXCL),
 * -EACCES, -EPERM (a foreign arena, read-write), -ELOOP (a symbolic link,
 * read-write), -EISDIR, -EBADMSG (not an arena file, or a damaged or
 * truncated one), -EPROTO (another layout version), -ENOSPC (no room to
 * create it), -ENOMEM, or another -errno of the file system; the message
 * always names the cause.  A
 * read-write open gives back the slots of processes that died (it may wait
 * up to 2 s for the arena's reclaim lock).  Setup. */
int shmetrics_open(const shmetrics_options_t *opts, shmetrics_registry_t **out);

/* The registry named by the environment variable SHMETRICS_ARENA (a path,
 * or a name under /dev/shm), created if missing, opened on first use and
 * shared by the whole process.  NULL, with a message, when the variable is
 * unset or the arena cannot be opened.  Setup. */
shmetrics_registry_t *shmetrics_default(void);

/* Shutdown flags. */
#define SHMETRICS_SHUTDOWN_UNLINK 0x1u /* remove the arena file too */

/* Detach (-EINVAL for a handle that is not an open registry or unknown
 * flags; an unlink that fails is -errno, the detach is done anyway): the
 * process's gauge values in modes sum, min, max and mostrecent
 * are folded into the arena's retired cells and its slot is freed (a slot
 * holding mode-all values stays, marked exited, until a new process needs
 * it); every handle obtained from `reg` becomes invalid, and the mapping is
 * released.  Before that, the calls every thread of the process has
 * pending on samplers of `reg` are added (shmetrics_sampler_init), under
 * each thread's own sampler lock; threads counting on samplers of other
 * registries meanwhile are fine.  With SHMETRICS_SHUTDOWN_UNLINK the file is
 * removed (processes still attached keep their mapping).  No other thread
 * may use `reg` or its handles during or after the call, but for samplers
 * after it (they count nothing).  Setup. */
int shmetrics_shutdown(shmetrics_registry_t *reg, unsigned flags);

/*
 * The wall clock of the times `reg` stamps: a series' creation time (the
 * _created of OpenMetrics) when this process publishes the series, brings
 * back a removed label set or resets the arena (shmetrics_reset), and an
 * exemplar's time when its updates keep one.  `clock(arg)` returns seconds
 * since the epoch; a result that is not a number in (0, 2^33) means "no
 * time", and the stamp is taken from the library's own clock, as it is
 * with a NULL clock, the default (CLOCK_REALTIME; exemplars
 * CLOCK_REALTIME_COARSE).  For a binding whose language has its own clock:
 * Python's time.time(), which programs' tests replace.  Called in the
 * thread that makes the series or the update, holding no lock and no
 * exemplar slot of the library; it must not call the library on `reg`.
 * -EINVAL for a handle that is not an open registry.  Setup: before other
 * threads use `reg`.
 */
int shmetrics_registry_set_clock(shmetrics_registry_t *reg, double (*clock)(void *arg), void *arg);

/* -------------------------------------------------------------- registering */

/*
 * A metric's spec.  The full name is namespace_subsystem_name, empty parts
 * skipped.  Metric names match [a-zA-Z_:][a-zA-Z0-9_:]* (colons allowed, as
 * in vllm:num_requests_running); a counter name ending in "_total" is
 * stored without it and exposed with it, as prometheus_client does.  Label
 * names match [a-zA-Z_][a-zA-Z0-9_]*, may not start with "__", may not
 * repeat, and may not be "pid" on an ALL-mode gauge (the label it adds).
 * With utf8_names, metric and label names (and the label names of its
 * exemplars and info pairs) may be any UTF-8 without NUL, as Prometheus 3
 * takes them ("http.server.duration"); the expositions escape those names
 * for a scraper that does not ask for UTF-8 (shmetrics_format_with).
 * Help text is UTF-8.  At most 16 labels; names up to 255 bytes, help up to
 * 4096 bytes.  Histograms may not have a label "le", summaries "quantile".
 *
 * Histogram buckets: finite upper bounds, strictly increasing, 1 to 512 of
 * them (a trailing +Inf is accepted and dropped: +Inf is always there).
 * NULL gives SHMETRICS_DEFAULT_BUCKETS.  An empty, unsorted or duplicate
 * list, or one with NaN or -Inf, is -EINVAL.
 *
 * Native histograms (Prometheus' sparse exponential buckets, as
 * client_golang keeps them): spec.native picks the buckets a histogram
 * keeps, SHMETRICS_HISTOGRAM_CLASSIC (the default: `buckets` alone),
 * SHMETRICS_HISTOGRAM_NATIVE (native buckets alone; `buckets` must be NULL)
 * or SHMETRICS_HISTOGRAM_BOTH (both, in one series, as client_golang
 * allows).  Native buckets at schema s (native_schema, -4..8; 0 is schema
 * 0, SHMETRICS_NATIVE_SCHEMA_DEFAULT is 3, client_golang's bucket factor
 * 1.1) have the bounds 2^(i * 2^-s): bucket i holds magnitudes in
 * (2^((i-1)/2^s), 2^(i/2^s)], for positive and negative observations
 * apart; magnitudes up to native_zero_threshold (>= 0, finite; 0 gives
 * SHMETRICS_NATIVE_ZERO_THRESHOLD, 2^-128, client_golang's default) count
 * in the zero bucket.  Writers count into a dense range of buckets, those
 * of magnitudes in (2^native_min_exponent, 2^native_max_exponent] (both 0:
 * 512 buckets per sign centred on 1, e.g. 2^-32..2^32 at schema 3; at
 * most 4096 per sign, exponents within -1075..1024), and buckets outside
 * it into a few spill slots per stripe, exactly; an observation that finds
 * them all taken is counted (in the count, in no bucket, and in the
 * arena's native_unplaced).  A reader that finds more populated buckets
 * than native_max_buckets (0 gives SHMETRICS_NATIVE_MAX_BUCKETS_DEFAULT,
 * 160; SHMETRICS_NATIVE_MAX_BUCKETS_UNLIMITED for none) halves the
 * resolution (schema - 1, merging pairs of buckets exactly) until they fit
 * or the schema is -4.  NaN counts in the count and makes the sum NaN, in
 * no bucket; +Inf and -Inf count in the bucket after the one of the
 * largest double, as client_golang counts them.  -EINVAL, with a message
 * naming the field: a kind that is none of the three, a schema out of
 * range, a NaN, infinite or negative zero threshold, a range whose bounds
 * are not ordered, outside the exponents or of more than 4096 buckets per
 * sign, classic buckets given to a native-only histogram, native fields
 * given to a classic histogram or to another type.
 *
 * Summary quantiles: strictly increasing values in [0, 1], at most 16; NULL
 * gives 0.5, 0.9, 0.95, 0.99.  The quantiles cover a sliding window of
 * max_age_seconds (0 gives 60), split in age_buckets slots (0 gives 5, at
 * most 16); an observation counts for at least (age_buckets-1)/age_buckets
 * of max_age and never longer than max_age.  _sum and _count are all-time.
 */
/* Which buckets a histogram keeps (spec.native). */
typedef enum shmetrics_histogram_kind {
    SHMETRICS_HISTOGRAM_CLASSIC = 0,
    SHMETRICS_HISTOGRAM_NATIVE = 1,
    SHMETRICS_HISTOGRAM_BOTH = 2,
} shmetrics_histogram_kind_t;

#define SHMETRICS_NATIVE_SCHEMA_DEFAULT 3
#define SHMETRICS_NATIVE_MIN_SCHEMA (-4)
#define SHMETRICS_NATIVE_MAX_SCHEMA 8
#define SHMETRICS_NATIVE_ZERO_THRESHOLD 2.938735877055719e-39 /* 2^-128 */
#define SHMETRICS_NATIVE_MAX_BUCKETS_DEFAULT 160u
#define SHMETRICS_NATIVE_MAX_BUCKETS_UNLIMITED UINT32_MAX

typedef struct shmetrics_spec {
    const char *name;
    const char *help;           /* NULL means "" */
    const char *namespace_name; /* NULL or "" to skip */
    const char *subsystem;      /* NULL or "" to skip */
    const char *const *label_names;
    size_t nlabels;
    shmetrics_gauge_mode_t gauge_mode; /* gauges only */
    const double *buckets;             /* histograms only */
    size_t nbuckets;
    const double *quantiles; /* summaries only */
    size_t nquantiles;
    double max_age_seconds; /* summaries only */
    uint32_t age_buckets;   /* summaries only */
    /* Gauges: the least time between two accepted sets of one series in one
     * process (a rate-limited gauge); sets inside it are dropped and counted
     * in shmetrics_gauge_sets_dropped_total{metric=...}.  0: no limit;
     * SHMETRICS_GAUGE_MIN_INTERVAL (0.1 s) is the usual choice. */
    double min_interval_seconds;
    /* Label sets before further ones fold into one overflow series, exposed
     * with the single label otel_metric_overflow="true" and counted in
     * shmetrics_cardinality_overflow_total{metric=...}.  0 means
     * SHMETRICS_MAX_SERIES_DEFAULT (2,000, as OpenTelemetry's SDK);
     * SHMETRICS_MAX_SERIES_UNLIMITED turns the limit off. */
    uint32_t max_series;
    /* The unit (OpenMetrics' UNIT: "seconds", "bytes"), NULL or "" for
     * none: 1 to 64 bytes of [a-zA-Z0-9_:].  As in prometheus_client, a
     * full name that does not already end in _UNIT gets it appended (a
     * counter's before its _total: requests_total with unit bytes is
     * requests_bytes, exposed as requests_bytes_total).  Not for info or
     * enum metrics. */
    const char *unit;
    /* Enums only: the states, 1 to 256 distinct label values; the first
     * is a new series' state.  Given to another type: -EINVAL. */
    const char *const *states;
    size_t nstates;
    /* Histograms only: native buckets (see above). */
    shmetrics_histogram_kind_t native;
    int32_t native_schema;
    double native_zero_threshold;
    uint32_t native_max_buckets;
    int32_t native_min_exponent, native_max_exponent;
    /* Nonzero: UTF-8 names (see above); 0, the legacy rules. */
    int utf8_names;
} shmetrics_spec_t;

/* The limits above, by name (bytes for names, help and values). */
#define SHMETRICS_MAX_NAME 255u
#define SHMETRICS_MAX_HELP 4096u
#define SHMETRICS_MAX_LABELS 16u
#define SHMETRICS_MAX_LABEL_VALUE 2048u
#define SHMETRICS_MAX_BUCKETS 512u
#define SHMETRICS_MAX_QUANTILES 16u
#define SHMETRICS_MAX_AGE_BUCKETS 16u
#define SHMETRICS_MAX_UNIT 64u
#define SHMETRICS_MAX_STATES 256u

#define SHMETRICS_GAUGE_MIN_INTERVAL 0.1
#define SHMETRICS_MAX_SERIES_DEFAULT 2000u
#define SHMETRICS_MAX_SERIES_UNLIMITED UINT32_MAX

/* .005 .01 .025 .05 .075 .1 .25 .5 .75 1 2.5 5 7.5 10, as Prometheus
 * clients use. */
#define SHMETRICS_DEFAULT_NBUCKETS 14
extern const double SHMETRICS_DEFAULT_BUCKETS[SHMETRICS_DEFAULT_NBUCKETS];

/* The full name a spec of `type` registers under, checked as registration
 * checks it: namespace_subsystem_name with empty parts left out, a
 * counter without its _total, and _UNIT appended when the spec has a unit
 * the name does not end with.  -EINVAL for a bad name or unit (the message
 * names it) or a buffer of fewer than its length + 1 bytes.  Any
 * caller. */
int shmetrics_full_name(const shmetrics_spec_t *spec, shmetrics_type_t type, char *buf, size_t cap);

/* Fill out[0..count-1] with start, start+width, ... (width > 0), or with
 * start, start*factor, ... (start > 0, factor > 1).  -EINVAL for a bad
 * argument, a count of 0 or above 512, or a bound that is not finite.  Any
 * caller. */
int shmetrics_buckets_linear(double start, double width, size_t count, double *out);
int shmetrics_buckets_exponential(double start, double factor, size_t count, double *out);

/*
 * Register a metric, or get the one already registered under the same full
 * name, in this process or any other.  The same type, label names (in
 * order) and gauge mode give the same metric; anything else is -EEXIST,
 * with a message naming the difference.  The first registration's help text
 * is kept.  Handles live until shmetrics_shutdown.  -EINVAL for a bad spec
 * or registry handle, -EROFS on a read-only registry, -ENOSPC when the
 * arena has no room for the family, -EBADMSG for a damaged record, -ENOMEM.
 * A new family is published in the arena (its record's ready word stored
 * with release after its fields).  Setup.
 */
int shmetrics_counter_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_counter_t **out);
int shmetrics_gauge_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_gauge_t **out);
/* Histograms compare their bucket lists too; summaries their quantiles,
 * max age and age buckets. */
int shmetrics_histogram_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_histogram_t **out);
int shmetrics_summary_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_summary_t **out);

/* Look a metric up by full name: -ENOENT if there is none, -EINVAL if it is
 * of another type (or for a bad registry handle), -EBADMSG for a damaged
 * record, -ENOMEM.  Finds metrics registered by other processes (read with
 * acquire).  Setup; works on a read-only registry. */
int shmetrics_counter_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_counter_t **out);
int shmetrics_gauge_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_gauge_t **out);
int shmetrics_histogram_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_histogram_t **out);
int shmetrics_summary_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_summary_t **out);

/*
 * The series of a metric for one set of label values, given in label-name
 * order and ended by NULL (the compiler warns when the NULL is missing):
 *     shmetrics_counter_labels(requests, &s, "GET", "200", NULL);
 * A metric without labels has one series: shmetrics_counter_labels(m, &s,
 * NULL).  The wrong number of values, or a value that is not UTF-8 or is
 * longer than 2048 bytes, is -EINVAL, as is a handle that is not a metric of
 * the function's type.  A new series is -EROFS on a read-only registry,
 * -ENOSPC when the arena is full, -ENOMEM; the first new series of a
 * process claims its slot in the process table (see shmetrics_gauge_set:
 * it may wait up to 2 s), which a gauge needs and which makes the process
 * known to the collector.  Over
 * the metric's max_series the label set gets the overflow series (0, not
 * an error).  Repeated look-ups are served by a per-process lock-free hash
 * table (liburcu's cds_lfht): no lock, no allocation, no system call once
 * the series is known.  Worker (a known series: collector too).
 */
int shmetrics_counter_labels(shmetrics_counter_t *m, shmetrics_counter_series_t **out, ...) __attribute__((sentinel));
int shmetrics_gauge_labels(shmetrics_gauge_t *m, shmetrics_gauge_series_t **out, ...) __attribute__((sentinel));
int shmetrics_histogram_labels(shmetrics_histogram_t *m, shmetrics_histogram_series_t **out, ...)
    __attribute__((sentinel));
int shmetrics_summary_labels(shmetrics_summary_t *m, shmetrics_summary_series_t **out, ...) __attribute__((sentinel));
/* The same with an array of `n` values (for bindings). */
int shmetrics_counter_labelv(shmetrics_counter_t *m, size_t n, const char *const *values,
                             shmetrics_counter_series_t **out);
int shmetrics_gauge_labelv(shmetrics_gauge_t *m, size_t n, const char *const *values, shmetrics_gauge_series_t **out);
int shmetrics_histogram_labelv(shmetrics_histogram_t *m, size_t n, const char *const *values,
                               shmetrics_histogram_series_t **out);
int shmetrics_summary_labelv(shmetrics_summary_t *m, size_t n, const char *const *values,
                             shmetrics_summary_series_t **out);

/*
 * Exemplars (OpenMetrics): an update that also keeps its labels (a trace
 * id, say), its value and the time (CLOCK_REALTIME_COARSE: a tick or two
 * behind CLOCK_REALTIME, a few ms, for a quarter of its cost) as the last
 * exemplar of a counter
 * series, or of the bucket a histogram observation falls in (+Inf
 * included).  Labels: at most 128 UTF-8 characters of names and values in
 * all, names [a-zA-Z_][a-zA-Z0-9_]* each once, values UTF-8; none is
 * allowed.  An exemplar's value is the amount added or the observation.
 *
 * -EINVAL, with a message naming the problem, for too many characters, a
 * value that is not UTF-8, a bad or repeated label name, a negative, NaN or
 * infinite counter amount, a NaN or infinite observation, or a NULL
 * series: nothing changes, the count included (as prometheus_client
 * raises before counting).  -ENOSPC when the cell pool or its filesystem
 * has no room for the series' exemplar block (allocated by its first
 * exemplar, 576 bytes per counter or bucket plus 64): the update still
 * counts, the exemplar is lost.  An exemplar is dropped, silently (and
 * counted in its block), when another writer is storing one into the same
 * slot at that moment: last writer wins.
 *
 * Who may call: any thread of any worker process, concurrently; no lock,
 * no wait.  The count is updated as by shmetrics_counter_inc/add or
 * shmetrics_histogram_observe; the exemplar is published with a release
 * store of its slot's sequence word after relaxed stores of its fields,
 * and a reader sees it whole or not at all (shm/exemplar.c).  The first
 * exemplar of a series allocates its block (one fallocate); later ones
 * make one system call only when they find a slot held by a writer that
 * may have died (kill(pid, 0)).  Worker.
 */
int shmetrics_counter_inc_exemplar(shmetrics_counter_series_t *s, double amount, const shmetrics_label_t *labels,
                                   size_t nlabels);
int shmetrics_counter_add_exemplar(shmetrics_counter_series_t *s, uint64_t n, const shmetrics_label_t *labels,
                                   size_t nlabels);
int shmetrics_histogram_observe_exemplar(shmetrics_histogram_series_t *s, double v, const shmetrics_label_t *labels,
                                         size_t nlabels);

/*
 * Remove one label set of a metric (values in label-name order, ended by
 * NULL), or every label set (clear): the series leave the exposition at
 * once.  Their cells are zeroed and kept for the same label set: registering
 * it again (shmetrics_*_labels, by any process) brings the series back at
 * 0, in the same cells, so a handle another process still holds stays
 * valid (its writes after the removal count again once the series is
 * back).  -ENOENT if the label set is not a live series, -EINVAL for bad
 * values or a handle that is not a metric of the type, -EROFS on a
 * read-only registry.  The record's state is stored with release and the
 * arena's removal count bumped after it.  Worker.
 */
int shmetrics_counter_remove(shmetrics_counter_t *m, ...) __attribute__((sentinel));
int shmetrics_gauge_remove(shmetrics_gauge_t *m, ...) __attribute__((sentinel));
int shmetrics_histogram_remove(shmetrics_histogram_t *m, ...) __attribute__((sentinel));
int shmetrics_summary_remove(shmetrics_summary_t *m, ...) __attribute__((sentinel));
int shmetrics_counter_removev(shmetrics_counter_t *m, size_t n, const char *const *values);
int shmetrics_gauge_removev(shmetrics_gauge_t *m, size_t n, const char *const *values);
int shmetrics_histogram_removev(shmetrics_histogram_t *m, size_t n, const char *const *values);
int shmetrics_summary_removev(shmetrics_summary_t *m, size_t n, const char *const *values);
int shmetrics_counter_clear(shmetrics_counter_t *m);
int shmetrics_gauge_clear(shmetrics_gauge_t *m);
int shmetrics_histogram_clear(shmetrics_histogram_t *m);
int shmetrics_summary_clear(shmetrics_summary_t *m);

/*
 * Info and Enum: prometheus_client's Info and Enum, OpenMetrics' info and
 * stateset.
 *
 * An info metric NAME exposes, per label set, one sample NAME_info{labels,
 * k1="v1", ...} 1 whose extra pairs are the last value set given to
 * shmetrics_info_set (before any: none).  A new value set replaces the
 * previous one of the series; across processes the most recent wins: each
 * value set is a series of its own (the label values, then the pairs),
 * with a gauge cell per process stamped with the CLOCK_REALTIME ns of the
 * last shmetrics_info_set that chose it, and a reader shows, per label
 * set, the value set with the largest stamp (as a mostrecent gauge
 * merges).  A process's successive sets of one series get increasing
 * stamps even within one clock tick.  Each distinct value set takes a
 * series record and a gauge line of the arena, and counts against
 * spec.max_series; setting one again takes nothing.
 *
 * An enum metric NAME (spec.states: its states) exposes, per label set,
 * one sample per state NAME{labels, NAME="state"}, 1 for the current
 * state and 0 for the others (the label is named as the metric, as
 * prometheus_client names it, so NAME must also be a label name: no
 * colon).  The state is a mostrecent gauge: a cell per process holding the
 * state's index, stamped with the time it was set; the most recently set
 * state wins, in any process.  A series no process set is in the first
 * state.
 *
 * Registration refuses, with -EINVAL and a message naming it: a unit; an
 * enum without states, with more than 256, with one that is not UTF-8 or
 * longer than 2048 bytes, or with one twice; an enum whose full name is
 * not a label name, or that has a label named as itself; states given to
 * another type.  The same spec again gives the same metric; other states
 * (or another order) are -EEXIST.  Otherwise as shmetrics_counter_register.
 * Setup.
 */
int shmetrics_info_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_info_t **out);
int shmetrics_enum_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, shmetrics_enum_t **out);
int shmetrics_info_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_info_t **out);
int shmetrics_enum_get(shmetrics_registry_t *reg, const char *full_name, shmetrics_enum_t **out);
/* The series of one label set, as shmetrics_counter_labels (a new one
 * claims the process's slot, as a gauge's does).  Worker. */
int shmetrics_info_labels(shmetrics_info_t *m, shmetrics_info_series_t **out, ...) __attribute__((sentinel));
int shmetrics_enum_labels(shmetrics_enum_t *m, shmetrics_enum_series_t **out, ...) __attribute__((sentinel));
int shmetrics_info_labelv(shmetrics_info_t *m, size_t n, const char *const *values, shmetrics_info_series_t **out);
int shmetrics_enum_labelv(shmetrics_enum_t *m, size_t n, const char *const *values, shmetrics_enum_series_t **out);
/* Remove one label set (an info metric's: with every value set it had) or
 * all, as shmetrics_counter_remove and shmetrics_counter_clear.  Worker. */
int shmetrics_info_remove(shmetrics_info_t *m, ...) __attribute__((sentinel));
int shmetrics_enum_remove(shmetrics_enum_t *m, ...) __attribute__((sentinel));
int shmetrics_info_removev(shmetrics_info_t *m, size_t n, const char *const *values);
int shmetrics_enum_removev(shmetrics_enum_t *m, size_t n, const char *const *values);
int shmetrics_info_clear(shmetrics_info_t *m);
int shmetrics_enum_clear(shmetrics_enum_t *m);

/* Replace the value set of an info series with pairs[0..n) (prometheus_client's
 * Info.info(dict); n may be 0).  -EINVAL, nothing changed, with a message
 * naming the pair, for a name that is not a label name, starts with __,
 * is one of the metric's label names ("overlapping labels", as
 * prometheus_client says) or appears twice, for a value that is NULL, not
 * UTF-8 or longer than 2048 bytes, or for more names in all (label names
 * and pair names) than 16; -ENOSPC when a new value set finds no room in
 * the arena.  The first use of a value set registers it (not a hot path:
 * it may allocate and take the arena's registration path); the cell is
 * then written as by shmetrics_gauge_set (value relaxed, stamp with
 * release).  Worker. */
int shmetrics_info_set(shmetrics_info_series_t *s, const shmetrics_label_t *pairs, size_t n);
/* Set an enum series to the state named `state`: -EINVAL, nothing changed,
 * with the message "enum NAME has no state 'STATE' (its states: a, b,
 * ...)" for a name that is not one of its states.  A linear search of the
 * names, then shmetrics_enum_state_index (hot.h).  Worker. */
int shmetrics_enum_state(shmetrics_enum_series_t *s, const char *state);
/* The states of an enum as registered: *states points into the handle,
 * valid until shmetrics_shutdown.  -EINVAL for a NULL argument or a
 * handle that is not an enum.  Any caller. */
int shmetrics_enum_states(const shmetrics_enum_t *m, const char *const **states, size_t *n);

/*
 * A sampled counter, for paths too hot even for one atomic add: each
 * thread counts its calls in a slot of its own and adds N to the counter on
 * every N-th (N = round(1 / rate)), so between those adds the counter is
 * behind by what the thread has pending, less than N per thread and
 * sampler.  Pending calls reach the counter, exactly:
 *   - when the thread calls shmetrics_sampler_flush;
 *   - when the thread exits by pthread_exit or a return from its start
 *     function (the main thread: by pthread_exit);
 *   - at shmetrics_shutdown of the sampler's registry: every thread's,
 *     before the arena is unmapped;
 *   - when the process exits by exit() (from any thread) or a return from
 *     main: every thread's that is still alive, running or blocked, by an
 *     exit handler registered (atexit) at the first use of any sampler, so
 *     it runs after the handlers registered later and before those
 *     registered earlier.
 * So once every thread that counted has exited, or its registry was shut
 * down, or the process ended by exit or a return from main, the counter
 * holds every call.  What is not added: a process killed by a signal
 * (SIGKILL, or any signal whose default action ends it, a crash) or ended
 * by _exit, _Exit, quick_exit or abort loses what each thread had pending,
 * at most N-1 calls per thread and sampler; so do calls made after the
 * exit handler ran (by handlers that run after it, or by threads still
 * counting while the process exits, where a call that races the handler's
 * exchange of its slot may also be counted twice: at most N-1 per thread
 * and sampler).  A child made by fork starts with nothing pending: what the
 * parent had pending is the parent's to add.
 *
 * A sampler is initialised before threads use it, and must stay in place
 * (not freed, not initialised again) while a thread may hold calls of it:
 * until every thread that used it called shmetrics_sampler_flush or exited,
 * or its registry was shut down.  It may be shared by threads.  After the
 * shutdown of its registry a sampler counts nothing: each call is dropped
 * on the out-of-line path, which reads the sampler and a word of the
 * library that outlives registries, never the unmapped arena.
 * shmetrics_sampler_init: -EINVAL for a NULL argument or a rate outside
 * (0, 1].  Setup.
 */
typedef struct shmetrics_sampler shmetrics_sampler_t;
int shmetrics_sampler_init(shmetrics_sampler_t *s, shmetrics_counter_series_t *series, double rate);
/* Add this thread's pending calls of every sampler to their counters
 * (relaxed adds) and let go of its slots, so a sampler this thread used may
 * then be freed as far as this thread is concerned.  Cannot fail.  Worker:
 * any thread, for its own calls; it takes the thread's own lock, which a
 * shutdown or the exit handler may hold while they add this thread's
 * calls. */
void shmetrics_sampler_flush(void);

/* ------------------------------------------------------------------ reading */

/* The exact value of a counter series: the sum of its cells in its base
 * block and every stripe (relaxed loads).  Cannot fail.  Collector. */
double shmetrics_counter_sum(const shmetrics_counter_series_t *s);
/* This process's own cell of a gauge (0 if it never wrote it; a relaxed
 * load).  Cannot fail.  Worker. */
double shmetrics_gauge_local(shmetrics_gauge_series_t *s);
/* A histogram series merged over every shard: its observation count, sum,
 * and the cumulative count of each bucket (out[0..nbuckets], the last one
 * +Inf, equal to the count).  `cap` must be at least nbuckets + 1, else
 * -EINVAL (also for a NULL argument).  Relaxed loads of every block; count
 * and sum cannot fail.  Collector. */
uint64_t shmetrics_histogram_count(const shmetrics_histogram_series_t *s);
/* A histogram's finite upper bounds, as registered (+Inf not included):
 * *bounds points into the handle, valid until shmetrics_shutdown.  -EINVAL
 * for a NULL argument or a handle that is not a histogram.  Any caller. */
int shmetrics_histogram_bounds(const shmetrics_histogram_t *h, const double **bounds, size_t *n);
double shmetrics_histogram_sum(const shmetrics_histogram_series_t *s);
int shmetrics_histogram_buckets(const shmetrics_histogram_series_t *s, uint64_t *out, size_t cap);
/* A summary series: all-time count and sum, and the `q` quantile of the
 * observations in the window that ends at `now_ns` (CLOCK_MONOTONIC; 0 for
 * now), NaN if the window is empty.  -EINVAL for q outside [0, 1] or a NULL
 * argument, -ENOMEM.  Slot epochs are read with acquire, counts relaxed;
 * count and sum cannot fail.  Collector. */
uint64_t shmetrics_summary_count(const shmetrics_summary_series_t *s);
double shmetrics_summary_sum(const shmetrics_summary_series_t *s);
int shmetrics_summary_quantile(const shmetrics_summary_series_t *s, double q, uint64_t now_ns, double *out);

/* A run of consecutive native buckets: `offset` buckets after the end of
 * the previous span (the first span: its first bucket's index), `length`
 * buckets. */
typedef struct shmetrics_native_span {
    int32_t offset;
    uint32_t length;
} shmetrics_native_span_t;

/* A native histogram series as read: Prometheus' fields.  The counts of
 * each sign's buckets (absolute, not deltas) follow their spans in order,
 * one per bucket of each span (a span may hold empty buckets). */
typedef struct shmetrics_native_histogram {
    int32_t schema; /* after any reduction to native_max_buckets */
    double zero_threshold;
    uint64_t zero_count;
    uint64_t count; /* every observation: buckets, zero bucket, NaN, unplaced */
    double sum;
    size_t npositive_spans, nnegative_spans;
    const shmetrics_native_span_t *positive_spans, *negative_spans;
    size_t npositive, nnegative;
    const uint64_t *positive, *negative;
    uint64_t nan_count; /* NaN observations */
    uint64_t unplaced;  /* observations no bucket could take (see the spec) */
} shmetrics_native_histogram_t;

/* An exemplar of a sample (OpenMetrics): its labels, value and time. */
typedef struct shmetrics_exemplar {
    size_t nlabels;
    const shmetrics_label_t *labels;
    double value;
    double timestamp; /* seconds since the epoch (CLOCK_REALTIME) */
} shmetrics_exemplar_t;

typedef struct shmetrics_sample {
    const char *suffix; /* "", "_total", "_bucket", "_sum", "_count", "_info" */
    size_t nlabels;
    /* The series' labels, then pid, le or quantile; an info sample's
     * labels, then its pairs; a stateset sample's labels, then the state
     * (a label named as the family). */
    const shmetrics_label_t *labels;
    double value;
    /* Counters, histograms and summaries: when the series was created, or
     * last reset (shmetrics_reset), in seconds since the epoch
     * (CLOCK_REALTIME), on every sample of the series; 0 for none (other
     * types, a snapshot built by hand).  OpenMetrics shows it as a
     * name_created sample, the protobuf format as created_timestamp. */
    double created;
    /* The _count sample of a native histogram series: its native buckets;
     * NULL on every other sample. */
    const shmetrics_native_histogram_t *native;
    /* The last exemplar of a counter's _total sample or of a histogram's
     * _bucket sample (shmetrics_counter_inc_exemplar and the like), NULL
     * for none and on every other sample.  Last, so that snapshots built by
     * hand with designated initialisers get NULL. */
    const shmetrics_exemplar_t *exemplar;
} shmetrics_sample_t;

typedef struct shmetrics_family {
    const char *name; /* full name (counters: without _total; info: without _info) */
    const char *help;
    shmetrics_type_t type;
    shmetrics_gauge_mode_t gauge_mode;
    size_t nsamples;
    const shmetrics_sample_t *samples;
    /* The unit (OpenMetrics' UNIT, spec.unit), NULL or "" for none. */
    const char *unit;
} shmetrics_family_t;

typedef struct shmetrics_snapshot {
    size_t nfamilies;
    const shmetrics_family_t *families; /* in registration order */
    uint64_t damaged;                   /* records skipped because they failed validation */
    size_t nseries;                     /* series read */
    /* The processes holding a slot, as the walk of the process table found
     * them (each counted once, as shmetrics_processes would report it):
     * attached and still running; attached but gone without detaching (a
     * dead process, reclaimed by the next writer to attach); gone and kept
     * for their `all`-mode values.  Set by shmetrics_collect and
     * shmetrics_collect_at; 0 in a snapshot put together by hand.  A
     * collector reads them instead of walking the table again. */
    size_t procs_attached, procs_dead, procs_exited;
} shmetrics_snapshot_t;

/* Read every metric of the arena, merging stripes and processes.  The
 * snapshot is private memory, consistent per cell (not across cells);
 * records that fail validation are skipped and counted in `damaged`.
 * -EINVAL for a NULL argument or a handle that is not a registry, -ENOMEM,
 * -EFAULT when the file shrank or its pages could not be read (SIGBUS,
 * caught).  Records are read with acquire, cells relaxed.  Collector. */
int shmetrics_collect(shmetrics_registry_t *reg, shmetrics_snapshot_t **out);
/* The same, with summary windows ending at `now_ns` (CLOCK_MONOTONIC), for
 * tests and replays.  Collector. */
int shmetrics_collect_at(shmetrics_registry_t *reg, uint64_t now_ns, shmetrics_snapshot_t **out);
/* Free a snapshot from shmetrics_collect (NULL: nothing).  One that is not
 * (bad magic, or freed already) is left alone, with a message for
 * shmetrics_errmsg.  Any caller, once per snapshot. */
void shmetrics_snapshot_free(shmetrics_snapshot_t *snap);

/* Exposition formats. */
typedef enum shmetrics_format {
    SHMETRICS_FORMAT_PROMETHEUS = 0,  /* text 0.0.4 */
    SHMETRICS_FORMAT_OPENMETRICS = 1, /* OpenMetrics 1.0.0 text, ending in # EOF */
    SHMETRICS_FORMAT_JSON = 2,        /* every family with type, help and samples */
    /* Prometheus' protobuf format: length-delimited MetricFamily messages
     * (io.prometheus.client, proto/metrics.proto), the series the text
     * format gives; binary, so *len is its length (NUL bytes inside). */
    SHMETRICS_FORMAT_PROTOBUF = 3,
} shmetrics_format_t;

/* Encode a snapshot into a malloc'd NUL-ended buffer the caller frees
 * (*len, if not NULL, gets its length without the NUL; a binary format
 * needs it).  -EINVAL for a
 * NULL argument or an unknown format, -ENOMEM.  The snapshot may be one the
 * caller built (its magic is not checked); it is only read.  The creation
 * times of series (shmetrics_sample_t.created) are shown, in OpenMetrics
 * and protobuf, unless the environment variable
 * PROMETHEUS_DISABLE_CREATED_SERIES is "true", "1" or "t" (any case:
 * prometheus_client's switch).  Any caller. */
int shmetrics_format(const shmetrics_snapshot_t *snap, shmetrics_format_t fmt, char **out, size_t *len);
/* Format flags. */
#define SHMETRICS_FORMAT_NO_CREATED 0x1u /* leave out the creation times of series */
/*
 * How names outside the legacy rules (metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]*: spec.utf8_names) are written: the
 * escaping schemes Prometheus 3 and prometheus_client negotiate with the
 * `escaping=` parameter of the Accept header.  None of these flags:
 * "underscores", each character outside the legacy set becomes '_'
 * (http.server.duration as http_server_duration), legacy names unchanged;
 * SHMETRICS_FORMAT_UTF8, "allow-utf-8": names as they are, the text formats
 * quoting one outside the set ({"http.server.duration",le="0.1"} 3);
 * SHMETRICS_FORMAT_ESCAPE_DOTS, "dots": in every name '_' doubles, '.' is
 * "_dot_" and other characters outside the set "__";
 * SHMETRICS_FORMAT_ESCAPE_VALUES, "values": "U__" then '_' doubled and
 * other characters outside the set as "_HEX_" (the code point), legacy
 * names unchanged.  The JSON format writes names as they are.  Two names
 * that escape alike are not merged.
 */
#define SHMETRICS_FORMAT_UTF8 0x2u
#define SHMETRICS_FORMAT_ESCAPE_DOTS 0x4u
#define SHMETRICS_FORMAT_ESCAPE_VALUES 0x8u
/* The same with flags (SHMETRICS_FORMAT_*): -EINVAL for unknown ones, or
 * for more than one escaping scheme. */
int shmetrics_format_with(const shmetrics_snapshot_t *snap, shmetrics_format_t fmt, unsigned flags, char **out,
                          size_t *len);
/* The same as shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, ...),
 * with the same errors.  Any caller. */
int shmetrics_format_prometheus(const shmetrics_snapshot_t *snap, char **out, size_t *len);
/* The HTTP Content-Type of a format, e.g. "text/plain; version=0.0.4;
 * charset=utf-8"; NULL for an unknown format.  Any caller. */
const char *shmetrics_format_content_type(shmetrics_format_t fmt);
/* "prometheus", "openmetrics", "json" or "protobuf" to a format; -EINVAL
 * otherwise (*out unchanged).  Any caller. */
int shmetrics_format_parse(const char *name, shmetrics_format_t *out);

/* Set every cell of every metric to zero (relaxed stores), and the creation
 * time of every series (the _created of OpenMetrics) to now: a counter
 * that starts again from zero is a new counter to Prometheus.  Updates
 * that run concurrently may survive or not.  -EINVAL for a handle that is
 * not a registry, -EROFS on a read-only one.  Worker. */
int shmetrics_reset(shmetrics_registry_t *reg);

/* ------------------------------------------------------------------ server */

typedef struct shmetrics_server shmetrics_server_t;

typedef struct shmetrics_server_options {
    /* "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all addresses); NULL means
     * "127.0.0.1:9400".  Port 0 picks a free port (see
     * shmetrics_server_port). */
    const char *listen;
    unsigned threads; /* request threads; 0 means online CPUs */
    /* Defences against connection floods (docs/collector.md).  At most
     * `max_connections` open connections (0 means 1,024, lowered to what
     * the open-file limit allows: the soft limit is raised to the hard one
     * when more descriptors are needed), at most
     * `max_connections_per_address` from one client address (0 means 256),
     * and a request must arrive whole within `request_timeout_ms` of its
     * connection opening or of the previous response on it (0 means
     * 10,000).  Past a limit, the connection that has waited longest for a
     * request is closed, so a client that sends its request at once is
     * answered whatever others hold open.  -EINVAL for a limit out of range
     * (max_connections up to 1,000,000, the per-address limit up to
     * max_connections, the timeout from 1 ms to 1 hour), -EMFILE when the
     * open-file limit cannot hold an explicit max_connections. */
    unsigned max_connections;
    unsigned max_connections_per_address;
    unsigned request_timeout_ms;
    /* The path of a web configuration file in the format of Prometheus'
     * exporter-toolkit (--web.config.file): TLS (tls_server_config),
     * client certificates, basic auth with bcrypt hashes
     * (basic_auth_users), response headers (http_server_config); NULL
     * serves plain HTTP to anyone.  Read once, at start: a change needs a
     * restart.  The supported keys, and those refused, are listed in
     * docs/collector.md, "TLS and authentication". */
    const char *web_config_file;
    /* SHMETRICS_SERVER_* bits (others: -EINVAL). */
    unsigned flags;
    /* SHMETRICS_FORMAT_* flags for every scrape (SHMETRICS_FORMAT_NO_CREATED:
     * no creation times); -EINVAL for unknown ones. */
    unsigned format_flags;
} shmetrics_server_options_t;

/* Server flags.  By default every scrape reads /proc for each attached,
 * live worker and exposes prometheus_client's process_* families for it
 * (labelled pid; docs/collector.md); this leaves them out. */
#define SHMETRICS_SERVER_NO_PROCESS_METRICS 0x1u

/*
 * Serve the registry's arena over HTTP (libmicrohttpd, a pool of `threads`
 * threads, each with its own epoll loop; a scrape is collected and encoded
 * on the thread that received it):
 *   GET /metrics            Prometheus text 0.0.4, or OpenMetrics 1.0.0 or
 *                           the protobuf format when the Accept header
 *                           prefers it (protobuf: only its delimited
 *                           MetricFamily encoding, named); gzip when
 *                           Accept-Encoding allows it; ?format=prometheus|
 *                           openmetrics|json|protobuf overrides the
 *                           negotiation
 *   GET /healthz            "ok"
 *   HEAD                    as GET, without the body
 * Another path is 404, another method 405, a malformed request 400, one
 * whose headers exceed 16 KiB 431 (or the connection is closed); a
 * connection the flood defences close (see the options) gets no answer.  The
 * collector's own metrics (shmetrics_collector_*, shmetrics_arena_*) follow
 * the arena's, then the workers' process_* families (unless
 * SHMETRICS_SERVER_NO_PROCESS_METRICS).  The registry may be read-only and
 * must outlive the server.
 * -EINVAL for a bad option or listen address, -EADDRINUSE, -EACCES, -ENOMEM
 * and the like (the message names the address).
 *
 * With web_config_file, every path (/healthz too) first passes its
 * checks: a client without the certificate client_auth_type requires gets
 * 403, one without a user and password of basic_auth_users 401 with
 * "WWW-Authenticate: Basic"; neither gets metrics.  The file is refused
 * with -EINVAL and a message "FILE:LINE: what" for bad YAML, an unknown or
 * repeated key, a wrong type or value, a key shmetrics does not support, a
 * certificate, key or CA file that cannot be read or parsed, a key that
 * is not the certificate's, a client_auth_type without client_ca_file (or
 * the reverse), or a hash that is not bcrypt; a file that cannot be read
 * is its errno (-ENOENT, -EACCES); TLS asked of a libmicrohttpd built
 * without it is -ENOTSUP.  Setup.
 */
int shmetrics_server_start(shmetrics_registry_t *reg, const shmetrics_server_options_t *opts, shmetrics_server_t **out);
/* The port the server listens on; 0, with a message, for NULL or a handle
 * that is not a running server (its magic word is checked).  Any caller. */
unsigned shmetrics_server_port(const shmetrics_server_t *srv);
/* "https" when the server's web configuration turned TLS on, else "http";
 * NULL, with a message, for a handle that is not a running server.  Any
 * caller. */
const char *shmetrics_server_scheme(const shmetrics_server_t *srv);
/* Stop serving (in-flight requests finish) and free the server (NULL:
 * nothing; a handle that is not a running server: nothing, with a
 * message).  Setup: one thread, once per server, not from a request. */
void shmetrics_server_stop(shmetrics_server_t *srv);

/* -------------------------------------------------------------------- push */

/*
 * Push: a collector-side loop that reads the arena every interval and sends
 * it to a backend.  It never runs on the workers' hot path: it only reads
 * the arena, like the HTTP server.  A target that is down is retried with
 * exponential backoff; nothing is lost meanwhile, since the arena keeps
 * cumulative values and the next push that gets through carries them.
 *
 *   NULL          metrics switched off: a push does nothing (it does not even
 *                 read the arena); the loop runs and counts its attempts
 *   STATSD        UDP datagrams of "name:value|type" lines: counters (and the
 *                 counts, sums and buckets of histograms and summaries) as
 *                 deltas since the last push that got through (|c), gauges
 *                 and summary quantiles as |g; DogStatsD tags with
 *                 SHMETRICS_PUSH_TAGS; native buckets are not sent (a
 *                 native-only histogram sends its sum and count)
 *   OTLP          OpenTelemetry OTLP over HTTP, protobuf (or JSON with
 *                 SHMETRICS_PUSH_OTLP_JSON), cumulative temporality;
 *                 native buckets as an ExponentialHistogram
 *   REMOTE_WRITE  Prometheus remote-write 1.0: snappy-compressed protobuf
 *                 WriteRequest over HTTP POST; native buckets as a native
 *                 histogram series (the receiver must accept them)
 */
typedef enum shmetrics_push_backend {
    SHMETRICS_PUSH_NULL = 0,
    SHMETRICS_PUSH_STATSD = 1,
    SHMETRICS_PUSH_OTLP = 2,
    SHMETRICS_PUSH_REMOTE_WRITE = 3,
} shmetrics_push_backend_t;

/* Push flags. */
#define SHMETRICS_PUSH_TAGS 0x1u      /* statsd: labels as DogStatsD tags (|#k:v) */
#define SHMETRICS_PUSH_OTLP_JSON 0x2u /* otlp: JSON instead of protobuf */
#define SHMETRICS_PUSH_NO_SELF 0x4u   /* leave the pusher's own metrics out (the process_* too) */
#define SHMETRICS_PUSH_FINAL 0x8u     /* shmetrics_pusher_stop pushes once more */
/* Leave out the workers' process_* families (read from /proc for each
 * attached, live process, labelled pid; docs/collector.md). */
#define SHMETRICS_PUSH_NO_PROCESS_METRICS 0x10u

/* Log callback: one line, without a newline. */
typedef void (*shmetrics_log_fn)(void *arg, const char *line);

typedef struct shmetrics_push_options {
    shmetrics_push_backend_t backend;
    /* statsd: "HOST:PORT" (UDP; a name, an IPv4 address or [IPv6]).
     * otlp, remote-write: an http:// or https:// URL; one without a path
     * gets /v1/metrics (otlp) or /api/v1/write (remote-write).
     * null: ignored. */
    const char *target;
    unsigned flags;                    /* SHMETRICS_PUSH_* */
    uint32_t interval_ms;              /* between pushes; 0 means 10000 */
    uint32_t timeout_ms;               /* one HTTP request, connection included; 0 means 5000 */
    uint32_t retry_min_ms;             /* first retry after a failure; 0 means 1000 */
    uint32_t retry_max_ms;             /* the backoff doubles up to this; 0 means 60000 */
    const char *prefix;                /* statsd: put before every name, with a '.' */
    uint32_t max_datagram;             /* statsd: bytes per datagram; 0 means 1432 */
    const shmetrics_label_t *resource; /* otlp: resource attributes; service.name
                                        * is "shmetrics" unless given */
    size_t nresource;
    const shmetrics_label_t *labels; /* remote-write: labels added to every series */
    size_t nlabels;
    const char *const *headers; /* otlp, remote-write: extra "Name: value" headers */
    size_t nheaders;
    shmetrics_log_fn log; /* failures and recoveries; NULL writes them to stderr */
    void *log_arg;
} shmetrics_push_options_t;

typedef struct shmetrics_push_stats {
    uint64_t attempts;   /* pushes tried */
    uint64_t failures;   /* pushes that failed */
    uint64_t samples;    /* lines, data points or series sent by pushes that got through */
    uint64_t bytes;      /* bytes those pushes sent */
    uint64_t reattached; /* times the arena was re-created and read again */
    uint32_t consecutive_failures;
    uint64_t last_success_ns;  /* CLOCK_REALTIME; 0 if none yet */
    uint64_t last_duration_ns; /* the last push: read, encode, send */
} shmetrics_push_stats_t;

typedef struct shmetrics_pusher shmetrics_pusher_t;

/* "null", "statsd", "otlp", "remote-write" to a backend; -EINVAL otherwise.
 * And back (NULL for an unknown one).  Any caller. */
int shmetrics_push_backend_parse(const char *name, shmetrics_push_backend_t *out);
const char *shmetrics_push_backend_name(shmetrics_push_backend_t backend);

/*
 * A pusher for the registry's arena (the registry may be read-only and
 * must outlive the pusher): options checked and copied, target resolved,
 * socket or HTTP client ready; no thread.  -EINVAL for a bad option or
 * target (the message names it), -ENOENT for a host name that does not
 * resolve.  Setup.
 */
int shmetrics_pusher_create(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts, shmetrics_pusher_t **out);
/* The same, plus a thread that pushes at once and then every interval,
 * retrying failures after retry_min_ms, doubling up to retry_max_ms.
 * Failures are logged and counted (shmetrics_pusher_stats, and the
 * shmetrics_push_* metrics sent along with the arena's).  Setup. */
int shmetrics_pusher_start(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts, shmetrics_pusher_t **out);
/* Push now, in the calling thread (safe while the thread runs: pushes take
 * turns).  0, or -errno with a message: -ECONNREFUSED, -ETIMEDOUT,
 * -EHOSTUNREACH, -EPROTO (an HTTP error status) and the like; -EINVAL for
 * NULL or a handle that is not a pusher (its magic word is checked).  Reads
 * the arena as shmetrics_collect does.  Setup. */
int shmetrics_pusher_push(shmetrics_pusher_t *p);
/* A copy of the pusher's counts (taken under its lock: consistent with
 * each other, and it waits for a push in progress); NULL arguments or a
 * handle that is not a pusher: nothing (with a message).  Any thread. */
void shmetrics_pusher_stats(shmetrics_pusher_t *p, shmetrics_push_stats_t *out);
/* Stop the thread if there is one (a request in flight is abandoned; with
 * SHMETRICS_PUSH_FINAL one last push is made, within timeout_ms), free
 * (NULL: nothing; a handle that is not a pusher: nothing, with a message).
 * Setup: once per pusher. */
void shmetrics_pusher_stop(shmetrics_pusher_t *p);
/* One push with a pusher of its own: create, push, stop.  StatsD counters
 * are then sent whole (as deltas since zero).  The errors of
 * shmetrics_pusher_create and shmetrics_pusher_push.  Setup. */
int shmetrics_push(shmetrics_registry_t *reg, const shmetrics_push_options_t *opts);

/* ------------------------------------------------------------------ status */

typedef struct shmetrics_arena_info {
    const char *path;
    uint64_t file_bytes;
    uint64_t generation;
    uint64_t created_ns;
    uint32_t creator_pid;
    uint32_t families_cap, families_used;
    uint32_t series_cap, series_used;
    uint32_t processes_cap;
    uint32_t shards; /* stripes a series may gain at most */
    uint64_t heap_bytes, heap_used;
    uint64_t cells_cap, cells_used;           /* 8-byte words of the cell pool */
    uint64_t proc_cells_cap, proc_cells_used; /* 8-byte words per process unit */
    uint32_t gauges_cap, gauges_used;         /* gauge series (a line each per unit) */
    uint64_t refused;                         /* registrations and slot claims refused: arena full */
    uint64_t abandoned;                       /* records or cells lost to races or dead processes */
    uint64_t reclaimed;                       /* process slots given back (exits, deaths) */
    uint64_t fs_refused;                      /* allocations the filesystem refused: it was full */
    uint64_t striped;                         /* stripe sets series gained (writers collided) */
    uint64_t stripes_refused;                 /* stripe sets not granted: pool or filesystem full */
    /* What the filesystem holds for the arena now; it never exceeds
     * file_bytes, which is the most the arena can ever take. */
    uint64_t allocated_bytes;
    uint64_t bytes_used; /* bytes of the file in use: all of it but the free records, heap, pool and gauge cells */
    /* Native histogram observations no bucket could take: outside their
     * family's dense range with every spill slot of their stripe taken
     * (each is still in its series' count). */
    uint64_t native_unplaced;
    /* Exemplars dropped because another live writer was storing one in
     * the same slot (exemplars are last-writer-wins samples: nobody
     * waits), and slots taken over from writers that died mid-write;
     * summed over the series' exemplar blocks. */
    uint64_t exemplars_dropped, exemplars_taken_over;
} shmetrics_arena_info_t;

/* The arena's header: capacities, use and counters (bytes_used is what the
 * collector's shmetrics_arena_bytes_used reports) (the words read
 * relaxed, each on its own), and the exemplar counts (a walk of the
 * series records: O(series)).  *out's path points into the registry, valid
 * until shutdown.  -EINVAL for a NULL argument or a handle that is not a
 * registry, -EFAULT when the file can no longer be read.  Collector. */
int shmetrics_arena_info(shmetrics_registry_t *reg, shmetrics_arena_info_t *out);

/* 1 when the registry's path now names another arena than the one it has
 * mapped (the file was unlinked and re-created: the header's generation
 * differs), else 0.  A collector then opens the path again; shmetrics_serve
 * does so before its next scrape.  One stat(2), plus a read of the new
 * header when the file changed.  0 for NULL; -EINVAL for a handle that is
 * not a registry.  Collector. */
int shmetrics_arena_replaced(shmetrics_registry_t *reg);

typedef struct shmetrics_process {
    uint32_t slot;
    uint32_t pid;
    int exited;          /* gone (detached, or died and reclaimed), kept for
                            its `all`-mode values */
    int alive;           /* attached, and the process is still there */
    uint64_t start_time; /* clock ticks after boot, from /proc */
    uint64_t attach_ns;  /* CLOCK_REALTIME */
    uint64_t detach_ns;
} shmetrics_process_t;

/* Fill up to `cap` entries with the processes that hold a slot; *n gets how
 * many there are.  Slot states are read with acquire.  -EINVAL for a NULL
 * argument or a handle that is not a registry, -EFAULT when the file can
 * no longer be read.  Collector. */
int shmetrics_processes(shmetrics_registry_t *reg, shmetrics_process_t *out, size_t cap, size_t *n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#include "shmetrics/sets.h"

#endif /* SHMETRICS_H */
