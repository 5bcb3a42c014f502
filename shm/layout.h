/* SPDX-License-Identifier: MIT */
/*
 * shm/layout.h - the byte layout of a shmetrics arena, and nothing else.
 *
 * This header and docs/arena-format.md describe the same bytes; change both
 * or neither, and bump SHM_VERSION when an existing byte changes meaning.
 * Only code under shm/ uses its structs and region offsets: the rest of the
 * library sees decoded, validated views (shm/arena.h).  The word layout
 * inside a series' cells is defined here too, and used by the code of each
 * metric type (the inline writers in shmetrics/hot.h, the readers in
 * src/write/histogram.c, src/write/summary.c and src/read/collect.c) through the constants
 * below.
 *
 * Rules: fixed-width types only, offsets instead of pointers (every process
 * maps the file at another address), explicit padding, and a _Static_assert
 * on every size and every offset.  All integers are in the byte order of the
 * machine that created the arena (the header's magic tells a reader whether
 * it is the same).
 */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* "SHMETRIC" read as a little-endian 64-bit integer. */
#define SHM_MAGIC UINT64_C(0x43495254454d4853)
#define SHM_VERSION 5u

#define SHM_PAGE 4096u
#define SHM_LINE 64u

/* Metric types, as stored in a family record. */
enum shm_type {
    SHM_TYPE_COUNTER = 1,
    SHM_TYPE_GAUGE = 2,
    SHM_TYPE_HISTOGRAM = 3,
    SHM_TYPE_SUMMARY = 4,
    /* prometheus_client's Info and Enum, OpenMetrics' info and stateset:
     * their cells are gauge lines in the process units, merged in mode
     * mostrecent (the only mode they take). */
    SHM_TYPE_INFO = 5,
    SHM_TYPE_STATESET = 6,
};
/* Types whose series keep a gauge line in every process unit (the others
 * keep a block in the pool). */
#define SHM_TYPE_IN_UNITS(t) ((t) == SHM_TYPE_GAUGE || (t) == SHM_TYPE_INFO || (t) == SHM_TYPE_STATESET)

/* Gauge merge modes, as stored in a family record. */
enum shm_gauge_mode {
    SHM_MODE_ALL = 0,
    SHM_MODE_SUM = 1,
    SHM_MODE_MIN = 2,
    SHM_MODE_MAX = 3,
    SHM_MODE_MOSTRECENT = 4,
    /* The same merges over live processes only (SHM_MODE_LIVE + base). */
    SHM_MODE_LIVEALL = 5,
    SHM_MODE_LIVESUM = 6,
    SHM_MODE_LIVEMIN = 7,
    SHM_MODE_LIVEMAX = 8,
    SHM_MODE_LIVEMOSTRECENT = 9,
};
#define SHM_MODE_LIVE 5u

/* Record states (family and series `ready` words). */
#define SHM_REC_UNPUBLISHED 0u /* private to the process that allocated it */
#define SHM_REC_READY 2u       /* published and complete: readers may use it */
#define SHM_REC_REMOVED 3u     /* a removed series: skipped, revived by its key */

/* Process slot states. */
#define SHM_PROC_FREE 0u
#define SHM_PROC_CLAIMING 1u /* owner is filling the slot */
#define SHM_PROC_ACTIVE 2u
#define SHM_PROC_EXITED 3u

/*
 * The header: the first page of the file.
 * Bytes 0..255 are written once by the creator before the file is linked
 * into place and never change.  Bytes 256..511 hold the allocation words
 * (advanced by compare-and-swap), the reclaim lock (compare-and-swap) and
 * four counters (relaxed fetch-add).  The rest of the page is zero.
 */
struct shm_header {
    uint64_t magic;            /*   0 SHM_MAGIC */
    uint32_t version;          /*   8 SHM_VERSION */
    uint32_t header_bytes;     /*  12 sizeof(struct shm_header) */
    uint64_t file_bytes;       /*  16 size of the whole file */
    uint64_t generation;       /*  24 random, new for each created arena */
    uint32_t families_cap;     /*  32 family records */
    uint32_t series_cap;       /*  36 series records */
    uint32_t processes_cap;    /*  40 process slots */
    uint32_t stripes_max;      /*  44 stripes a series may gain, a power of two */
    uint32_t family_buckets;   /*  48 family index buckets, power of two */
    uint32_t series_buckets;   /*  52 series index buckets, power of two */
    uint64_t heap_bytes;       /*  56 string and bucket heap, at most 2 GiB */
    uint64_t pool_bytes;       /*  64 the cell pool, multiple of SHM_PAGE */
    uint64_t proc_unit_bytes;  /*  72 one per-process unit, multiple of SHM_PAGE */
    uint64_t off_procs;        /*  80 process table */
    uint64_t off_family_index; /*  88 uint32_t[family_buckets] */
    uint64_t off_families;     /*  96 struct shm_family[families_cap] */
    uint64_t off_series_index; /* 104 uint32_t[series_buckets] */
    uint64_t off_series;       /* 112 struct shm_series[series_cap] */
    uint64_t off_heap;         /* 120 heap_bytes */
    uint64_t off_pool;         /* 128 pool_bytes */
    uint64_t off_proc_units;   /* 136 (processes_cap + 1) * proc_unit_bytes: a
                                * unit per slot, then the retired unit */
    uint64_t created_ns;       /* 144 CLOCK_REALTIME at creation */
    uint32_t creator_pid;      /* 152 */
    uint32_t pad0;             /* 156 */
    uint8_t reserved0[96];     /* 160 zero */

    /* Allocation words (bump allocators, CAS only). */
    uint32_t families_used;   /* 256 records handed out */
    uint32_t series_used;     /* 260 records handed out */
    uint64_t heap_used;       /* 264 bytes handed out, multiple of 8 */
    uint64_t pool_used;       /* 272 8-byte words of the pool handed out, a
                                * multiple of SHM_LINE_WORDS */
    uint64_t proc_cells_used; /* 280 8-byte words handed out in every process unit */
    uint64_t refused;         /* 288 registrations and slot claims refused: arena full */
    uint64_t abandoned;       /* 296 records or cells lost to a race or a helper */
    uint64_t reclaim_lock;    /* 304 0, or the process folding a slot: pid in
                                * the low 32 bits, the low 32 bits of its
                                * start time above */
    uint64_t reclaimed;       /* 312 process slots reclaimed */
    uint64_t removals;        /* 320 series removed so far: lookup caches
                                * re-check their series when it moves */
    uint64_t fs_refused;      /* 328 allocations the filesystem refused (ENOSPC) */
    uint64_t striped;         /* 336 stripe sets added to series */
    uint64_t stripes_refused; /* 344 stripe sets not granted: pool or filesystem full */
    uint64_t retired_ready;   /* 352 words of the retired unit allocated (fallocate) */
    uint64_t native_unplaced; /* 360 native histogram observations no bucket
                               * could take (outside the dense range, spill
                               * table full): counted, in no bucket */
    uint8_t reserved1[144];   /* 368 zero */

    uint8_t reserved2[SHM_PAGE - 512]; /* 512 zero */
};

_Static_assert(sizeof(struct shm_header) == SHM_PAGE, "header is one page");
_Static_assert(offsetof(struct shm_header, magic) == 0, "magic");
_Static_assert(offsetof(struct shm_header, version) == 8, "version");
_Static_assert(offsetof(struct shm_header, header_bytes) == 12, "header_bytes");
_Static_assert(offsetof(struct shm_header, file_bytes) == 16, "file_bytes");
_Static_assert(offsetof(struct shm_header, generation) == 24, "generation");
_Static_assert(offsetof(struct shm_header, families_cap) == 32, "families_cap");
_Static_assert(offsetof(struct shm_header, series_cap) == 36, "series_cap");
_Static_assert(offsetof(struct shm_header, processes_cap) == 40, "processes_cap");
_Static_assert(offsetof(struct shm_header, stripes_max) == 44, "stripes_max");
_Static_assert(offsetof(struct shm_header, family_buckets) == 48, "family_buckets");
_Static_assert(offsetof(struct shm_header, series_buckets) == 52, "series_buckets");
_Static_assert(offsetof(struct shm_header, heap_bytes) == 56, "heap_bytes");
_Static_assert(offsetof(struct shm_header, pool_bytes) == 64, "pool_bytes");
_Static_assert(offsetof(struct shm_header, proc_unit_bytes) == 72, "proc_unit_bytes");
_Static_assert(offsetof(struct shm_header, off_procs) == 80, "off_procs");
_Static_assert(offsetof(struct shm_header, off_family_index) == 88, "off_family_index");
_Static_assert(offsetof(struct shm_header, off_families) == 96, "off_families");
_Static_assert(offsetof(struct shm_header, off_series_index) == 104, "off_series_index");
_Static_assert(offsetof(struct shm_header, off_series) == 112, "off_series");
_Static_assert(offsetof(struct shm_header, off_heap) == 120, "off_heap");
_Static_assert(offsetof(struct shm_header, off_pool) == 128, "off_pool");
_Static_assert(offsetof(struct shm_header, off_proc_units) == 136, "off_proc_units");
_Static_assert(offsetof(struct shm_header, created_ns) == 144, "created_ns");
_Static_assert(offsetof(struct shm_header, creator_pid) == 152, "creator_pid");
_Static_assert(offsetof(struct shm_header, reserved0) == 160, "reserved0");
_Static_assert(offsetof(struct shm_header, families_used) == 256, "families_used");
_Static_assert(offsetof(struct shm_header, series_used) == 260, "series_used");
_Static_assert(offsetof(struct shm_header, heap_used) == 264, "heap_used");
_Static_assert(offsetof(struct shm_header, pool_used) == 272, "pool_used");
_Static_assert(offsetof(struct shm_header, proc_cells_used) == 280, "proc_cells_used");
_Static_assert(offsetof(struct shm_header, refused) == 288, "refused");
_Static_assert(offsetof(struct shm_header, abandoned) == 296, "abandoned");
_Static_assert(offsetof(struct shm_header, reclaim_lock) == 304, "reclaim_lock");
_Static_assert(offsetof(struct shm_header, reclaimed) == 312, "reclaimed");
_Static_assert(offsetof(struct shm_header, removals) == 320, "removals");
_Static_assert(offsetof(struct shm_header, fs_refused) == 328, "fs_refused");
_Static_assert(offsetof(struct shm_header, striped) == 336, "striped");
_Static_assert(offsetof(struct shm_header, stripes_refused) == 344, "stripes_refused");
_Static_assert(offsetof(struct shm_header, retired_ready) == 352, "retired_ready");
_Static_assert(offsetof(struct shm_header, native_unplaced) == 360, "native_unplaced");
_Static_assert(offsetof(struct shm_header, reserved1) == 368, "reserved1");
_Static_assert(offsetof(struct shm_header, reserved2) == 512, "reserved2");

/* One process slot: 64 bytes. */
struct shm_proc {
    uint32_t state;       /*  0 SHM_PROC_* */
    uint32_t pid;         /*  4 */
    uint64_t start_time;  /*  8 /proc/PID/stat field 22, clock ticks after boot */
    uint64_t attach_ns;   /* 16 CLOCK_REALTIME when the slot was claimed */
    uint64_t detach_ns;   /* 24 CLOCK_REALTIME at detach, 0 while active */
    uint64_t unit_ready;  /* 32 words at the start of the slot's unit that are
                          * allocated (fallocate): readers look no further */
    uint8_t reserved[24]; /* 40 zero */
};
_Static_assert(sizeof(struct shm_proc) == 64, "proc slot");
_Static_assert(offsetof(struct shm_proc, state) == 0, "proc.state");
_Static_assert(offsetof(struct shm_proc, pid) == 4, "proc.pid");
_Static_assert(offsetof(struct shm_proc, start_time) == 8, "proc.start_time");
_Static_assert(offsetof(struct shm_proc, attach_ns) == 16, "proc.attach_ns");
_Static_assert(offsetof(struct shm_proc, detach_ns) == 24, "proc.detach_ns");
_Static_assert(offsetof(struct shm_proc, unit_ready) == 32, "proc.unit_ready");
_Static_assert(offsetof(struct shm_proc, reserved) == 40, "proc.reserved");

/*
 * One metric family: 128 bytes.  Strings live in the heap; a heap
 * reference is (offset, length) and a string list is its members each
 * followed by one NUL byte.
 */
struct shm_family {
    uint32_t ready;           /*   0 SHM_REC_* */
    uint32_t type;            /*   4 enum shm_type */
    uint64_t hash;            /*   8 shm_hash of the full name */
    uint32_t name_off;        /*  16 full name */
    uint32_t name_len;        /*  20 without NUL */
    uint32_t help_off;        /*  24 */
    uint32_t help_len;        /*  28 */
    uint32_t labels_off;      /*  32 label names, a string list */
    uint32_t labels_len;      /*  36 bytes, NULs included */
    uint32_t nlabels;         /*  40 */
    uint32_t mode;            /*  44 enum shm_gauge_mode (gauges), else 0 */
    uint32_t buckets_off;     /*  48 double[nbuckets] upper bounds, 8-aligned */
    uint32_t nbuckets;        /*  52 finite bounds; +Inf is implied */
    uint32_t ncells;          /*  56 8-byte words per series in one unit */
    uint32_t nstates;         /*  60 stateset: its states, else 0 */
    uint32_t quantiles_off;   /* 64 double[nquantiles], 8-aligned (summaries) */
    uint32_t nquantiles;      /*  68 */
    uint32_t max_age_ms;      /*  72 summary window */
    uint32_t age_buckets;     /*  76 summary window slots */
    uint32_t min_interval_us; /* 80 gauges: least time between accepted sets, 0 none */
    uint32_t max_series;      /*  84 label sets before the overflow series */
    uint32_t nseries;         /*  88 label sets published (atomic add) */
    uint32_t states_len;      /*  92 stateset: bytes of the state names, NULs included */
    uint32_t unit_off;        /*  96 the unit (OpenMetrics UNIT), 0 without one */
    uint32_t unit_len;        /* 100 0: no unit */
    uint32_t states_off;      /* 104 stateset: state names, a string list */
    /* Histograms: native (sparse exponential) buckets, see "Native
     * histogram cells" below; other types and classic histograms: 0. */
    uint8_t native_kind;          /* 108 enum shm_native_kind */
    int8_t native_schema;         /* 109 -4..8 */
    uint16_t pad1;                /* 110 zero */
    double native_zero_threshold; /* 112 finite, >= 0 */
    uint32_t native_max_buckets;  /* 120 populated buckets a reader exposes
                                    * at most (halving the resolution), >= 1;
                                    * UINT32_MAX: no limit */
    int16_t native_min_exponent;  /* 124 the dense range of magnitudes: */
    int16_t native_max_exponent;  /* 126 (2^min, 2^max] */
};
_Static_assert(sizeof(struct shm_family) == 128, "family record");
_Static_assert(offsetof(struct shm_family, ready) == 0, "family.ready");
_Static_assert(offsetof(struct shm_family, type) == 4, "family.type");
_Static_assert(offsetof(struct shm_family, hash) == 8, "family.hash");
_Static_assert(offsetof(struct shm_family, name_off) == 16, "family.name_off");
_Static_assert(offsetof(struct shm_family, name_len) == 20, "family.name_len");
_Static_assert(offsetof(struct shm_family, help_off) == 24, "family.help_off");
_Static_assert(offsetof(struct shm_family, help_len) == 28, "family.help_len");
_Static_assert(offsetof(struct shm_family, labels_off) == 32, "family.labels_off");
_Static_assert(offsetof(struct shm_family, labels_len) == 36, "family.labels_len");
_Static_assert(offsetof(struct shm_family, nlabels) == 40, "family.nlabels");
_Static_assert(offsetof(struct shm_family, mode) == 44, "family.mode");
_Static_assert(offsetof(struct shm_family, buckets_off) == 48, "family.buckets_off");
_Static_assert(offsetof(struct shm_family, nbuckets) == 52, "family.nbuckets");
_Static_assert(offsetof(struct shm_family, quantiles_off) == 64, "family.quantiles_off");
_Static_assert(offsetof(struct shm_family, nquantiles) == 68, "family.nquantiles");
_Static_assert(offsetof(struct shm_family, max_age_ms) == 72, "family.max_age_ms");
_Static_assert(offsetof(struct shm_family, age_buckets) == 76, "family.age_buckets");
_Static_assert(offsetof(struct shm_family, min_interval_us) == 80, "family.min_interval_us");
_Static_assert(offsetof(struct shm_family, max_series) == 84, "family.max_series");
_Static_assert(offsetof(struct shm_family, ncells) == 56, "family.ncells");
_Static_assert(offsetof(struct shm_family, nstates) == 60, "family.nstates");
_Static_assert(offsetof(struct shm_family, nseries) == 88, "family.nseries");
_Static_assert(offsetof(struct shm_family, states_len) == 92, "family.states_len");
_Static_assert(offsetof(struct shm_family, unit_off) == 96, "family.unit_off");
_Static_assert(offsetof(struct shm_family, unit_len) == 100, "family.unit_len");
_Static_assert(offsetof(struct shm_family, states_off) == 104, "family.states_off");
_Static_assert(offsetof(struct shm_family, native_kind) == 108, "family.native_kind");
_Static_assert(offsetof(struct shm_family, native_schema) == 109, "family.native_schema");
_Static_assert(offsetof(struct shm_family, pad1) == 110, "family.pad1");
_Static_assert(offsetof(struct shm_family, native_zero_threshold) == 112, "family.native_zero_threshold");
_Static_assert(offsetof(struct shm_family, native_max_buckets) == 120, "family.native_max_buckets");
_Static_assert(offsetof(struct shm_family, native_min_exponent) == 124, "family.native_min_exponent");
_Static_assert(offsetof(struct shm_family, native_max_exponent) == 126, "family.native_max_exponent");

/* One series (a family plus one set of label values): 64 bytes. */
struct shm_series {
    uint32_t ready;      /*  0 SHM_REC_* */
    uint32_t family;     /*  4 family record index */
    uint64_t hash;       /*  8 shm_hash of (family, key) */
    uint32_t key_off;    /* 16 label values, a string list */
    uint32_t key_len;    /* 20 bytes, NULs included */
    uint64_t cells;      /* 24 0 = none yet, else 1 + the word index of its
                           * base block in the pool (gauges: of its cell in
                           * every process unit), a multiple of SHM_LINE_WORDS */
    uint32_t flags;      /* 32 SHM_SERIES_* */
    uint32_t pad0;       /* 36 zero */
    uint64_t created_ns; /* 40 CLOCK_REALTIME when the series was published,
                           * revived or last reset (relaxed atomic) */
    uint64_t exemplars;  /* 48 counters and histograms: 0 = no exemplar yet,
                           * else 1 + the pool word index of the series'
                           * exemplar block (published once, by CAS from 0) */
    uint8_t reserved[8]; /* 56 zero */
};
/* The series that label sets beyond the family's max_series fold into:
 * exposed with the one label otel_metric_overflow="true". */
#define SHM_SERIES_OVERFLOW 1u
_Static_assert(sizeof(struct shm_series) == 64, "series record");
_Static_assert(offsetof(struct shm_series, ready) == 0, "series.ready");
_Static_assert(offsetof(struct shm_series, family) == 4, "series.family");
_Static_assert(offsetof(struct shm_series, hash) == 8, "series.hash");
_Static_assert(offsetof(struct shm_series, key_off) == 16, "series.key_off");
_Static_assert(offsetof(struct shm_series, key_len) == 20, "series.key_len");
_Static_assert(offsetof(struct shm_series, cells) == 24, "series.cells");
_Static_assert(offsetof(struct shm_series, flags) == 32, "series.flags");
_Static_assert(offsetof(struct shm_series, pad0) == 36, "series.pad0");
_Static_assert(offsetof(struct shm_series, created_ns) == 40, "series.created_ns");
_Static_assert(offsetof(struct shm_series, exemplars) == 48, "series.exemplars");
_Static_assert(offsetof(struct shm_series, reserved) == 56, "series.reserved");

/*
 * Cells.  Counters, histograms and summaries live in the cell pool, one
 * region bump-allocated in whole lines (SHM_LINE_WORDS words); gauges live
 * in the per-process units.  Every pool allocation is made real
 * (fallocate) before anyone is given its address, so a write never faults
 * a page in, and a reader only reads what was allocated.
 *
 * A pool series has a base block of SHM_BLOCK_WORDS(ncells) words:
 *   [0]            the stripe directory (below)
 *   [1 .. ncells]  the type's cells, laid out as described further down
 * and the base block is all it has until two writers collide on it:
 * a compare-and-swap that fails on a cell of the base block is contention,
 * and the loser adds a stripe set (as Java's LongAdder adds cells).  A
 * stripe set is a header of SHM_SET_HEADER_WORDS and then 2^lg stripes of
 * SHM_STRIPE_WORDS(ncells) each, laid out like a base block (word 0 unused,
 * zero), both in whole pairs of lines (CPUs prefetch lines in pairs):
 *   header [0] SHM_STRIPES_MAGIC  [1] the series record index
 *          [2] the directory word before this set was added (0: none)
 *          [3] lg  [4..15] zero
 * Stripe i belongs to CPU i: a writer adds (fetch-add) to the stripe of its
 * CPU in the newest set.  A writer whose CPU has no stripe there adds a set
 * with a stripe for every CPU up to its own (and at least twice the newest
 * set's), up to stripes_max (summaries: 2); at the limit, CPUs fold onto
 * the stripes there are (CPU mod the set's size).  Older sets stay where
 * they are and keep their counts.  The value of a series is the sum over
 * its base block and every stripe of every set.
 *
 * The directory word: 0 = no stripes; else
 *   bits 0-5   lg of the newest set's stripe count (0: none, with NOGROW)
 *   bit 6      SHM_DIR_GROWING: a writer is making the next set; others
 *              keep using the current one and do not make one of their own
 *   bit 7      SHM_DIR_NOGROW: no more sets (at the limit, or the pool or
 *              the filesystem refused one); writers stop trying
 *   bits 8-63  the pool word index of the newest set's header
 * It only moves forward, to a complete set: by compare-and-swap (to set
 * GROWING or NOGROW), or by a release store of the one writer that holds
 * GROWING.
 *
 * Gauge, per process unit, one line per series (so that threads of one
 * process writing different gauges never share a line):
 *   [0] double value bits   [1] uint64 write stamp (0 = never written by
 *   this process; else the CLOCK_REALTIME ns of the write, or 1 when the
 *   family's mode does not need time)   [2..7] zero
 * The unit after the last slot's is the retired unit: for gauges in modes
 * sum, min, max and mostrecent it holds the merge of the last values of
 * processes whose slot was reclaimed (same word layout, stamp 0 = none).
 * A unit's pages are allocated from its start by its owner (unit_ready in
 * its slot; retired_ready in the header for the retired unit).
 * Info and stateset series are gauge lines in mode mostrecent: a
 * stateset's value is the index of its state, an info value set's 1.0
 * (each value set is a series, its key the label values then the pairs);
 * a process that registers one without setting it stamps it 1.
 *
 * Counter cells: [0] uint64 whole part  [1] double fractional part.
 */
#define SHM_CELL_BYTES 8u /* one cell word */
#define SHM_LINE_WORDS (SHM_LINE / SHM_CELL_BYTES)
#define SHM_BLOCK_WORDS(ncells) ((((ncells) + 1u) + SHM_LINE_WORDS - 1u) / SHM_LINE_WORDS * SHM_LINE_WORDS)
/* Stripes, and the header of a set, take whole pairs of lines (128 bytes):
 * CPUs prefetch lines in aligned pairs, so two stripes that shared a pair
 * would still bounce between two cores. */
#define SHM_PAIR_WORDS (2u * SHM_LINE_WORDS)
#define SHM_STRIPE_WORDS(ncells) ((((ncells) + 1u) + SHM_PAIR_WORDS - 1u) / SHM_PAIR_WORDS * SHM_PAIR_WORDS)
#define SHM_SET_HEADER_WORDS SHM_PAIR_WORDS
#define SHM_STRIPES_MAGIC UINT64_C(0x5345505249525453) /* "STRIPES" */
#define SHM_DIR_LG_MASK 0x3fu
#define SHM_DIR_GROWING 0x40u
#define SHM_DIR_NOGROW 0x80u
#define SHM_DIR_SHIFT 8u
#define SHM_MAX_STRIPES_LG 12u
#define SHM_SUMMARY_STRIPES_LG 1u
#define SHM_COUNTER_CELLS 2u
#define SHM_COUNTER_WHOLE 0u /* word indexes of a counter's cells */
#define SHM_COUNTER_FRAC 1u
#define SHM_GAUGE_CELLS SHM_LINE_WORDS
#define SHM_GAUGE_VALUE 0u /* word indexes of a gauge's cells */
#define SHM_GAUGE_STAMP 1u
/* A sum (of a histogram or summary) is a whole word (int64) followed by a
 * double word: SHM_SUM_FRAC is the double's index after the whole one. */
#define SHM_SUM_FRAC 1u

/*
 * Histogram cells, nbuckets + 3 words:
 *   [0 .. nbuckets-1] uint64 observations in each finite bucket (not cumulative)
 *   [nbuckets]        uint64 observations above the last bound (+Inf bucket)
 *   [nbuckets+1]      int64  sum of whole-number observations (two's complement)
 *   [nbuckets+2]      double sum of the other observations
 * The count is the sum of all buckets, so it always equals the +Inf bucket.
 */
#define SHM_HISTOGRAM_SUM(nbuckets) ((nbuckets) + 1u) /* the whole word of the sum */
#define SHM_HISTOGRAM_CELLS(nbuckets) ((nbuckets) + 3u)

/*
 * Native histogram cells (native_kind NATIVE or BOTH): Prometheus' sparse
 * exponential buckets at the family's schema s, counted by writers into a
 * dense range of buckets fixed at registration (the reasons: the top of
 * src/write/native.c).  Bucket i holds magnitudes in (2^((i-1)/2^s),
 * 2^(i/2^s)]; the dense range is buckets lo..hi (shm_native_lo, _hi below:
 * the buckets of magnitudes in (2^native_min_exponent,
 * 2^native_max_exponent]), W = hi - lo + 1 of them per sign.
 * BOTH keeps the classic words first (nbuckets + 1 buckets, as above);
 * NATIVE has none (nbuckets 0).  From word C = SHM_NATIVE_SUM(kind, nbuckets):
 *   [C]      int64  sum of whole-number observations (the histogram's sum)
 *   [C+1]    double sum of the others
 *   [C+2]    uint64 NaN observations: in the count, in no bucket
 *   [C+3]    uint64 the zero bucket: |v| <= native_zero_threshold
 *   [C+4]    uint64 unplaced: observations outside the dense range that
 *                   found every spill slot taken: in the count, in no bucket
 *   [C+5 ..] SHM_NATIVE_SPILL slots of two words: [0] key, [1] uint64 count.
 *            A key is 0 (free) or SHM_NATIVE_KEY_SET | (SHM_NATIVE_KEY_NEG
 *            for negative observations) | the bucket index as a uint32 (two's
 *            complement); taken by compare-and-swap from 0, then never
 *            changed.  They hold buckets outside lo..hi (infinities
 *            included, in the bucket after the one of the largest double,
 *            as Prometheus puts them), exactly.
 *   then     W uint64: negative buckets lo..hi (magnitudes of v < 0)
 *   then     W uint64: positive buckets lo..hi
 * The count is the sum of all of them but the sum.  In BOTH the classic
 * buckets count the same observations again.
 */
enum shm_native_kind {
    SHM_NATIVE_NONE = 0, /* a classic histogram, or another type */
    SHM_NATIVE_ONLY = 1,
    SHM_NATIVE_BOTH = 2,
};
#define SHM_NATIVE_MIN_SCHEMA (-4)
#define SHM_NATIVE_MAX_SCHEMA 8
#define SHM_NATIVE_MIN_EXPONENT (-1075)
#define SHM_NATIVE_MAX_EXPONENT 1024
#define SHM_NATIVE_MAX_WINDOW 4096u /* dense buckets per sign */
#define SHM_NATIVE_SPILL 8u         /* spill slots per block */
#define SHM_NATIVE_KEY_SET (UINT64_C(1) << 63)
#define SHM_NATIVE_KEY_NEG (UINT64_C(1) << 32)
#define SHM_NATIVE_SUM(kind, nbuckets) ((kind) == SHM_NATIVE_ONLY ? 0u : (nbuckets) + 1u)
#define SHM_NATIVE_NAN 2u /* word indexes from SHM_NATIVE_SUM */
#define SHM_NATIVE_ZERO 3u
#define SHM_NATIVE_UNPLACED 4u
#define SHM_NATIVE_SLOTS 5u
#define SHM_NATIVE_NEG (SHM_NATIVE_SLOTS + 2u * SHM_NATIVE_SPILL)
#define SHM_NATIVE_CELLS(kind, nbuckets, window) (SHM_NATIVE_SUM(kind, nbuckets) + SHM_NATIVE_NEG + 2u * (window))

/* The first and last bucket of the dense range of (2^emin, 2^emax] at
 * schema s: the bucket above the one 2^emin ends, the one 2^emax ends (at
 * s < 0, the buckets that hold them). */
static inline int32_t shm_native_lo(int32_t s, int32_t emin)
{
    return s >= 0 ? emin * (1 << s) + 1 : (emin >= 0 ? emin >> -s : -((-emin + (1 << -s) - 1) >> -s)) + 1;
}
static inline int32_t shm_native_hi(int32_t s, int32_t emax)
{
    return s >= 0 ? emax * (1 << s) : (emax >= 0 ? (emax + (1 << -s) - 1) >> -s : -((-emax) >> -s));
}

/*
 * Summary cells, 3 + age_buckets * SHM_AGE_SLOT_WORDS words:
 *   [0] uint64 count   [1] int64 whole-number sum   [2] double other sum
 *   then age_buckets slots, each:
 *     [0]  uint64 epoch: 1 + floor(t / period) of the observations it holds
 *          (period = max_age / age_buckets, t = CLOCK_MONOTONIC ns), 0 never
 *          used; bit 63 set while a writer clears the slot for a new epoch
 *     [1]  uint64 touched range: (lowest index << 32) | (highest index + 1),
 *          0 when no count is set; readers and the clearing writer look only
 *          inside it
 *     [2..] uint32 counts[SHM_SKETCH_BUCKETS], then padding to a word
 * The sketch is log-linear: a magnitude m with binary exponent e (2^e <= m <
 * 2^(e+1)) and top SHM_SKETCH_SUB_BITS mantissa bits s falls in bucket
 * k = (e - SHM_SKETCH_EMIN) * 2^SUB_BITS + s, clamped to [0, SHM_SKETCH_HALF).
 * Index SHM_SKETCH_HALF holds zero; positive m at HALF + 1 + k, negative at
 * HALF - 1 - k.  Reporting a bucket's midpoint errs by at most 2^-(SUB_BITS+1)
 * relative (0.78%) for magnitudes in [2^EMIN, 2^(EMIN+OCTAVES)).
 */
#define SHM_SKETCH_SUB_BITS 6u
#define SHM_SKETCH_EMIN (-32)
#define SHM_SKETCH_OCTAVES 64u
#define SHM_SKETCH_HALF (SHM_SKETCH_OCTAVES << SHM_SKETCH_SUB_BITS)
#define SHM_SKETCH_BUCKETS (2u * SHM_SKETCH_HALF + 1u)
#define SHM_AGE_SLOT_WORDS (2u + (SHM_SKETCH_BUCKETS + 1u) / 2u) /* SHM_AGE_COUNTS + counts */
#define SHM_AGE_BUSY (UINT64_C(1) << 63)
#define SHM_SUMMARY_COUNT 0u /* word indexes of a summary's cells */
#define SHM_SUMMARY_SUM 1u   /* the whole word of the sum */
#define SHM_SUMMARY_SLOTS 3u /* the first age slot */
#define SHM_AGE_EPOCH 0u     /* word indexes inside an age slot */
#define SHM_AGE_RANGE 1u
#define SHM_AGE_COUNTS 2u /* the uint32 counts start here */
#define SHM_SUMMARY_CELLS(age_buckets) (SHM_SUMMARY_SLOTS + SHM_AGE_SLOT_WORDS * (age_buckets))
#define SHM_MAX_QUANTILES 16u
#define SHM_MAX_AGE_BUCKETS 16u
_Static_assert(SHM_SKETCH_BUCKETS == 8193u, "sketch size");
_Static_assert(SHM_AGE_SLOT_WORDS == 4099u, "age slot size");

/*
 * Exemplars (OpenMetrics): the last one per counter series and per bucket of
 * a histogram series (+Inf included), in a block of the cell pool that the
 * series' first exemplar allocates (shm/exemplar.c, which also owns the
 * write and read protocol).  The block is whole lines:
 *   header line [0] SHM_EXEMPLARS_MAGIC  [1] the series record index
 *               [2] slots (counter 1, histogram nbuckets + 1)
 *               [3] exemplars dropped: their slot was being written by a
 *                   live writer (relaxed add)
 *               [4] slots taken over from a writer that died mid-write
 *               [5..7] zero
 *   then one slot of SHM_EXEMPLAR_SLOT_WORDS per counter or bucket:
 *     [0] sequence word: even = idle, (writes completed mod 2^31) << 1;
 *         odd = a write in progress: (writer pid << 32) | (count << 1) | 1
 *     [1] double value bits  [2] uint64 timestamp, CLOCK_REALTIME ns (0:
 *         never written)  [3] uint64 bytes of label text (0..SHM_EXEMPLAR_TEXT)
 *     [4 .. 4 + SHM_EXEMPLAR_TEXT/8) the label text: (name NUL value NUL)
 *         per label, names [a-zA-Z_][a-zA-Z0-9_]* once each, values UTF-8
 *         without NUL, at most SHM_EXEMPLAR_CHARS characters of names and
 *         values in all; bytes past the length are unspecified
 *     then zero to the end of the slot's last line
 */
#define SHM_EXEMPLARS_MAGIC UINT64_C(0x53524c504d455845) /* "EXEMPLRS" */
#define SHM_EXEMPLAR_CHARS 128u
/* 128 characters of at most 4 bytes, and the two NULs of each label: the
 * most is one 1-byte name and a value of 127 4-byte characters, 511 bytes. */
#define SHM_EXEMPLAR_TEXT 512u
#define SHM_EXEMPLAR_HEADER_WORDS SHM_LINE_WORDS
#define SHM_EXEMPLAR_MAGIC_W 0u /* word indexes of the block header */
#define SHM_EXEMPLAR_SERIES_W 1u
#define SHM_EXEMPLAR_NSLOTS_W 2u
#define SHM_EXEMPLAR_DROPPED_W 3u
#define SHM_EXEMPLAR_TAKEN_W 4u
#define SHM_EXEMPLAR_SEQ 0u /* word indexes inside a slot */
#define SHM_EXEMPLAR_VALUE 1u
#define SHM_EXEMPLAR_TS 2u
#define SHM_EXEMPLAR_LEN 3u
#define SHM_EXEMPLAR_TEXT_W 4u
#define SHM_EXEMPLAR_SLOT_WORDS \
    (((SHM_EXEMPLAR_TEXT_W + SHM_EXEMPLAR_TEXT / 8u) + SHM_LINE_WORDS - 1u) / SHM_LINE_WORDS * SHM_LINE_WORDS)
#define SHM_EXEMPLAR_BLOCK_WORDS(nslots) (SHM_EXEMPLAR_HEADER_WORDS + (uint64_t)(nslots)*SHM_EXEMPLAR_SLOT_WORDS)
_Static_assert(SHM_EXEMPLAR_SLOT_WORDS == 72u, "exemplar slot: 9 lines");

/* Limits checked on every write and every read. */
#define SHM_MAX_NAME 255u
#define SHM_MAX_HELP 4096u
#define SHM_MAX_LABELS 16u
#define SHM_MAX_LABEL_VALUE 2048u
/* A unit: 1..SHM_MAX_UNIT_LEN bytes of [a-zA-Z0-9_:]. */
#define SHM_MAX_UNIT_LEN 64u
/* A stateset: 1..SHM_MAX_STATES distinct state names, each a label value. */
#define SHM_MAX_STATES 256u
/* An info series' key: its label values, then (name, value) pairs; label
 * names and pair names together at most SHM_MAX_LABELS. */
#define SHM_MAX_KEY (SHM_MAX_LABELS * (SHM_MAX_LABEL_VALUE + 1u + SHM_MAX_NAME + 1u))
#define SHM_MAX_BUCKETS 512u
#define SHM_MAX_PROCESSES 65536u
#define SHM_MAX_STRIPES (1u << SHM_MAX_STRIPES_LG)
#define SHM_MAX_RECORDS (1u << 24)
#define SHM_MAX_HEAP (UINT64_C(1) << 31)
#define SHM_MAX_UNIT (UINT64_C(1) << 31)
#define SHM_MAX_POOL (UINT64_C(1) << 40)

#endif /* SHM_LAYOUT_H */
