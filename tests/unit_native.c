/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_native.c - native histograms: the bucket index of every schema
 * against a reference computed with log2, bucket bounds exactly, the zero
 * bucket, NaN, infinities, negative observations, the spill slots and the
 * unplaced count, the reader's schema reduction and spans, kind both, the
 * spec's errors and re-registration conflicts, and four processes writing
 * one series through stripes.
 */
#define SHMETRICS_CPU_HOOK
#include <float.h>
#include <math.h>

#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* The slow path's index (src/write/native.c), against which the inline one
 * is checked too. */
int32_t smx_native_key(int32_t s, double mag);

static shmetrics_registry_t *reg;
static const char *path;

static void setup(void)
{
    path = test_arena_path("native");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(native, .init = setup, .fini = teardown);

static void assert_msg(const char *want)
{
    cr_assert_str_eq(shmetrics_errmsg(), want);
}

static shmetrics_histogram_series_t *native_series(const char *name, const shmetrics_spec_t *given)
{
    shmetrics_spec_t spec = *given;
    spec.name = name;
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    cr_assert_eq(shmetrics_histogram_register(reg, &spec, &h), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(h, &s, NULL), 0, "%s", shmetrics_errmsg());
    return s;
}

/* ceil(log2(v) * 2^s): the bucket of v by the definition. */
static int32_t ref_key(int s, double v, long double *frac)
{
    long double l = log2l((long double)v) * ldexpl(1, s);
    *frac = l - floorl(l);
    return (int32_t)ceill(l);
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b & ~(UINT64_C(1) << 63);
}

Test(native, index_of_every_schema_against_log2)
{
    srand(7);
    for (int s = -4; s <= 8; s++) {
        shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = s};
        char name[32];
        snprintf(name, sizeof name, "idx_%d", s + 4);
        const shmetrics_histogram_series_t *h = native_series(name, &spec);
        cr_assert_eq(h->native->schema, s);
        int checked = 0;
        for (int i = 0; i < 20000; i++) {
            double v = ldexp(1.0 + (double)rand() / RAND_MAX, rand() % 241 - 120);
            long double frac;
            int32_t want = ref_key(s, v, &frac);
            if (frac < 1e-9L || frac > 1 - 1e-9L)
                continue; /* next to a bound: the bound test below */
            cr_assert_eq(shmetrics_native_key_(h->native, bits_of(v)), want, "schema %d, %a", s, v);
            cr_assert_eq(smx_native_key(s, v), want, "schema %d, %a", s, v);
            checked++;
        }
        cr_assert_gt(checked, 19000);
        /* Powers of two end their bucket: 2^e is in bucket e * 2^s (s >= 0)
         * or ceil(e / 2^-s), and the next double is in the next bucket
         * above schema 0 and in the same one below it unless e is a
         * multiple of 2^-s. */
        for (int e = -1022; e <= 1023; e++) {
            double v = ldexp(1, e), up = nextafter(v, INFINITY);
            long double frac;
            int32_t want = ref_key(s, v, &frac);
            int32_t want_up = s >= 0 ? e * (1 << s) + 1 : want + (e % (1 << -s) == 0);
            cr_assert_eq(shmetrics_native_key_(h->native, bits_of(v)), want, "schema %d, 2^%d", s, e);
            cr_assert_eq(shmetrics_native_key_(h->native, bits_of(up)), want_up, "schema %d, above 2^%d", s, e);
            cr_assert_eq(smx_native_key(s, v), want);
            cr_assert_eq(smx_native_key(s, up), want_up);
        }
    }
}

/* The largest double at most 2^x. */
static double floor_exp2(long double x)
{
    long double t = exp2l(x);
    double d = (double)t;
    return (long double)d > t ? nextafter(d, 0) : d;
}

Test(native, every_bound_ends_its_bucket)
{
    for (int s = 1; s <= 8; s++) {
        shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = s};
        char name[32];
        snprintf(name, sizeof name, "bound_%d", s);
        const shmetrics_histogram_series_t *h = native_series(name, &spec);
        for (int k = 1; k < (1 << s); k++) {
            for (int e = -3; e <= 3; e++) {
                double b = ldexp(floor_exp2((long double)k / (1 << s)), e);
                int32_t want = e * (1 << s) + k;
                cr_assert_eq(shmetrics_native_key_(h->native, bits_of(b)), want, "schema %d, bound %d, 2^%d", s, k, e);
                cr_assert_eq(shmetrics_native_key_(h->native, bits_of(nextafter(b, INFINITY))), want + 1);
                cr_assert_eq(smx_native_key(s, b), want);
                cr_assert_eq(smx_native_key(s, nextafter(b, INFINITY)), want + 1);
            }
        }
    }
}

static shmetrics_snapshot_t *snap;

static const shmetrics_sample_t *count_sample(const char *family)
{
    cr_assert_eq(shmetrics_collect(reg, &snap), 0, "%s", shmetrics_errmsg());
    for (size_t i = 0; i < snap->nfamilies; i++)
        if (strcmp(snap->families[i].name, family) == 0)
            for (size_t j = 0; j < snap->families[i].nsamples; j++)
                if (strcmp(snap->families[i].samples[j].suffix, "_count") == 0)
                    return &snap->families[i].samples[j];
    cr_assert_fail("no %s_count", family);
    return NULL;
}

static void assert_spans(const shmetrics_native_span_t *got, size_t n, const int32_t *want, size_t nwant)
{
    cr_assert_eq(n * 2, nwant, "%zu spans", n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].offset, want[2 * i], "span %zu offset %d", i, got[i].offset);
        cr_assert_eq(got[i].length, (uint32_t)want[2 * i + 1], "span %zu length %u", i, got[i].length);
    }
}

static void assert_counts(const uint64_t *got, size_t n, const uint64_t *want, size_t nwant)
{
    cr_assert_eq(n, nwant, "%zu buckets", n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "bucket %zu: %llu", i, (unsigned long long)got[i]);
}

Test(native, zero_nan_infinities_negative_and_spans)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 0};
    shmetrics_histogram_series_t *h = native_series("z", &spec);
    const double obs[] = {0, -0.0, 1e-40, 1, 2, 2, 8, 64, 1 << 20, -3, -3, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        shmetrics_histogram_observe(h, obs[i]);
    const shmetrics_sample_t *c = count_sample("z");
    const shmetrics_native_histogram_t *n = c->native;
    cr_assert(n);
    cr_assert_eq(c->value, 14);
    cr_assert_eq(n->count, 14);
    cr_assert(isnan(n->sum));
    cr_assert_eq(n->schema, 0);
    cr_assert_eq(n->zero_threshold, SHMETRICS_NATIVE_ZERO_THRESHOLD);
    cr_assert_eq(n->zero_count, 3);
    cr_assert_eq(n->nan_count, 1);
    cr_assert_eq(n->unplaced, 0);
    /* Positive: 1 in bucket 0, 2 in 1, 8 in 3, 64 in 6 (gaps of 1 and 2
     * stay in the span), 2^20 in 20, +Inf in 1025 (after the largest
     * double's 1024). */
    const int32_t pos_spans[] = {0, 7, 13, 1, 1004, 1};
    const uint64_t pos[] = {1, 2, 0, 1, 0, 0, 1, 1, 1};
    assert_spans(n->positive_spans, n->npositive_spans, pos_spans, 6);
    assert_counts(n->positive, n->npositive, pos, 9);
    const int32_t neg_spans[] = {2, 1, 1022, 1};
    const uint64_t neg[] = {2, 1};
    assert_spans(n->negative_spans, n->nnegative_spans, neg_spans, 4);
    assert_counts(n->negative, n->nnegative, neg, 2);
    shmetrics_snapshot_free(snap);
}

Test(native, the_sum_and_a_classic_count_of_one_bucket)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 3};
    shmetrics_histogram_series_t *h = native_series("s", &spec);
    for (int i = 1; i <= 100; i++)
        shmetrics_histogram_observe(h, i * 0.25);
    cr_assert_eq(shmetrics_histogram_count(h), 100);
    cr_assert_eq(shmetrics_histogram_sum(h), 1262.5);
    uint64_t one[1];
    cr_assert_eq(shmetrics_histogram_buckets(h, one, 1), 0);
    cr_assert_eq(one[0], 100);
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, &text, NULL), 0);
    cr_assert_str_eq(text, "# HELP s \n# TYPE s histogram\ns_bucket{le=\"+Inf\"} 100\ns_sum 1262.5\ns_count 100\n");
    free(text);
    shmetrics_snapshot_free(snap);
}

/* OpenMetrics carries no native buckets: a native-only histogram shows its
 * count, sum and the +Inf bucket; one of kind both its classic buckets, as
 * client_golang's text does.  (Creation times left out, as
 * PROMETHEUS_DISABLE_CREATED_SERIES asks.) */
Test(native, openmetrics_shows_the_classic_buckets_only)
{
    shmetrics_spec_t only = {.native = SHMETRICS_HISTOGRAM_NATIVE, .unit = "seconds"};
    static const double bounds[] = {0.5, 2};
    shmetrics_spec_t both = {.native = SHMETRICS_HISTOGRAM_BOTH, .buckets = bounds, .nbuckets = 2};
    shmetrics_histogram_series_t *a = native_series("a_seconds", &only), *b = native_series("b", &both);
    static const double obs[] = {0.25, 1, 1.5, 3, -1};
    for (size_t i = 0; i < 5; i++) {
        shmetrics_histogram_observe(a, obs[i]);
        shmetrics_histogram_observe(b, obs[i]);
    }
    cr_assert_eq(setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "true", 1), 0);
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_OPENMETRICS, &text, NULL), 0);
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    cr_assert_str_eq(text, "# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n# HELP a_seconds \n"
                           "a_seconds_bucket{le=\"+Inf\"} 5\na_seconds_sum 4.75\na_seconds_count 5\n"
                           "# TYPE b histogram\n# HELP b \n"
                           "b_bucket{le=\"0.5\"} 2\nb_bucket{le=\"2.0\"} 4\nb_bucket{le=\"+Inf\"} 5\n"
                           "b_sum 4.75\nb_count 5\n# EOF\n");
    free(text);
    shmetrics_snapshot_free(snap);
}

/* Bucket keys and counts of a snapshot's positive side, expanded. */
static size_t expand(const shmetrics_native_histogram_t *n, int32_t *keys, uint64_t *counts)
{
    size_t k = 0, c = 0;
    int32_t key = 0;
    for (size_t i = 0; i < n->npositive_spans; i++) {
        key += n->positive_spans[i].offset;
        for (uint32_t j = 0; j < n->positive_spans[i].length; j++, key++) {
            if (n->positive[c])
                keys[k] = key, counts[k++] = n->positive[c];
            c++;
        }
    }
    return k;
}

Test(native, reduction_halves_the_schema_exactly)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 5, .native_max_buckets = 6};
    shmetrics_histogram_series_t *h = native_series("r", &spec);
    double vals[200];
    srand(3);
    for (int i = 0; i < 200; i++) {
        vals[i] = ldexp(1.0 + (double)rand() / RAND_MAX, rand() % 5);
        shmetrics_histogram_observe(h, vals[i]);
    }
    const shmetrics_native_histogram_t *n = count_sample("r")->native;
    /* The reference: each schema from 5 down, counting buckets by log2,
     * until at most 6 are populated. */
    int s = 5;
    int32_t keys[256];
    uint64_t counts[256];
    size_t nk;
    for (;; s--) {
        nk = 0;
        for (int i = 0; i < 200; i++) {
            long double frac;
            int32_t k = ref_key(s, vals[i], &frac);
            size_t j = 0;
            while (j < nk && keys[j] != k)
                j++;
            if (j == nk)
                keys[nk] = k, counts[nk++] = 0;
            counts[j]++;
        }
        if (nk <= 6 || s == -4)
            break;
    }
    cr_assert_eq(n->schema, s);
    cr_assert_lt(s, 5);
    int32_t got_keys[256];
    uint64_t got_counts[256];
    size_t ng = expand(n, got_keys, got_counts);
    cr_assert_eq(ng, nk);
    uint64_t total = 0;
    for (size_t i = 0; i < ng; i++) {
        size_t j = 0;
        while (j < nk && keys[j] != got_keys[i])
            j++;
        cr_assert_lt(j, nk, "bucket %d is not the reference's", got_keys[i]);
        cr_assert_eq(got_counts[i], counts[j], "bucket %d", got_keys[i]);
        total += got_counts[i];
    }
    cr_assert_eq(total, 200);
    shmetrics_snapshot_free(snap);
}

Test(native, outside_the_range_spill_then_unplaced)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE,
                             .native_schema = 0,
                             .native_min_exponent = -2,
                             .native_max_exponent = 2};
    shmetrics_histogram_series_t *h = native_series("o", &spec);
    /* Buckets -1..2 are dense; 2^3 .. 2^12 are ten buckets beyond. */
    shmetrics_histogram_observe(h, 3);
    for (int e = 3; e <= 12; e++)
        shmetrics_histogram_observe(h, ldexp(1, e));
    shmetrics_histogram_observe(h, 8); /* its slot is there */
    const shmetrics_native_histogram_t *n = count_sample("o")->native;
    cr_assert_eq(n->count, 12);
    cr_assert_eq(n->unplaced, 2); /* 2^11 and 2^12: the 8 slots were taken */
    const int32_t spans[] = {2, 9};
    const uint64_t counts[] = {1, 2, 1, 1, 1, 1, 1, 1, 1};
    assert_spans(n->positive_spans, n->npositive_spans, spans, 2);
    assert_counts(n->positive, n->npositive, counts, 9);
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    cr_assert_eq(in.native_unplaced, 2);
    shmetrics_snapshot_free(snap);
}

Test(native, kind_both_keeps_classic_buckets_too)
{
    const double b[] = {1, 10};
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_BOTH, .native_schema = 1, .buckets = b, .nbuckets = 2};
    shmetrics_histogram_series_t *h = native_series("both", &spec);
    const double obs[] = {0.5, 2, 2, 50, NAN};
    for (size_t i = 0; i < 5; i++)
        shmetrics_histogram_observe(h, obs[i]);
    cr_assert_eq(shmetrics_histogram_count(h), 5);
    uint64_t cum[3];
    cr_assert_eq(shmetrics_histogram_buckets(h, cum, 3), 0);
    cr_assert_eq(cum[0], 1);
    cr_assert_eq(cum[1], 3);
    cr_assert_eq(cum[2], 5);
    const shmetrics_native_histogram_t *n = count_sample("both")->native;
    cr_assert_eq(n->count, 5);
    cr_assert_eq(n->nan_count, 1);
    /* Schema 1: 0.5 in -2, 2 in 2, 50 in 12 (2^5.5 < 50 <= 2^6). */
    const int32_t spans[] = {-2, 1, 3, 1, 9, 1};
    const uint64_t counts[] = {1, 2, 1};
    assert_spans(n->positive_spans, n->npositive_spans, spans, 6);
    assert_counts(n->positive, n->npositive, counts, 3);
    shmetrics_snapshot_free(snap);
}

Test(native, an_empty_histogram_with_a_zero_threshold)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_zero_threshold = 0.5};
    native_series("e", &spec);
    const shmetrics_native_histogram_t *n = count_sample("e")->native;
    cr_assert_eq(n->count, 0);
    cr_assert_eq(n->zero_threshold, 0.5);
    cr_assert_eq(n->npositive_spans + n->nnegative_spans, 0);
    shmetrics_snapshot_free(snap);
}

static int reg_native(const char *name, shmetrics_spec_t spec, uint32_t type)
{
    spec.name = name;
    void *m;
    switch (type) {
    case SHMETRICS_COUNTER:
        return shmetrics_counter_register(reg, &spec, (shmetrics_counter_t **)&m);
    default:
        return shmetrics_histogram_register(reg, &spec, (shmetrics_histogram_t **)&m);
    }
}

Test(native, spec_errors_name_the_field)
{
    const double b[] = {1};
    struct {
        shmetrics_spec_t spec;
        uint32_t type;
        const char *msg;
    } rows[] = {
        {{.native = 3}, SHMETRICS_HISTOGRAM, "histogram h: native is 3, none of classic (0), native (1) and both (2)"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 9},
         SHMETRICS_HISTOGRAM,
         "histogram h: native_schema 9 is outside -4..8"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = -5},
         SHMETRICS_HISTOGRAM,
         "histogram h: native_schema -5 is outside -4..8"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_zero_threshold = -1},
         SHMETRICS_HISTOGRAM,
         "histogram h: native_zero_threshold -1 must be finite and at least 0"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_zero_threshold = NAN},
         SHMETRICS_HISTOGRAM,
         "histogram h: native_zero_threshold nan must be finite and at least 0"},
        {{.native = SHMETRICS_HISTOGRAM_BOTH, .native_zero_threshold = INFINITY},
         SHMETRICS_HISTOGRAM,
         "histogram h: native_zero_threshold inf must be finite and at least 0"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .buckets = b, .nbuckets = 1},
         SHMETRICS_HISTOGRAM,
         "histogram h is native only: classic buckets given (native both keeps both)"},
        {{.native_schema = 3},
         SHMETRICS_HISTOGRAM,
         "histogram h is classic: native_schema, native_zero_threshold, native_max_buckets and the native "
         "exponents need native set to native or both"},
        {{.native_max_buckets = 10},
         SHMETRICS_HISTOGRAM,
         "histogram h is classic: native_schema, native_zero_threshold, native_max_buckets and the native "
         "exponents need native set to native or both"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE},
         SHMETRICS_COUNTER,
         "h: native histogram fields are for histograms, not for a counter"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_min_exponent = 4, .native_max_exponent = 4},
         SHMETRICS_HISTOGRAM,
         "histogram h: the native exponents 4..4 must be increasing and within -1075..1024"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE, .native_min_exponent = -2000, .native_max_exponent = 4},
         SHMETRICS_HISTOGRAM,
         "histogram h: the native exponents -2000..4 must be increasing and within -1075..1024"},
        {{.native = SHMETRICS_HISTOGRAM_NATIVE,
          .native_schema = 8,
          .native_min_exponent = -8,
          .native_max_exponent = 9},
         SHMETRICS_HISTOGRAM,
         "histogram h: the native range 2^-8..2^9 at schema 8 takes 4352 buckets per sign, more than 4096"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cr_assert_eq(reg_native("h", rows[i].spec, rows[i].type), -EINVAL, "row %zu", i);
        assert_msg(rows[i].msg);
    }
    /* At the limit: 4096 buckets per sign. */
    shmetrics_spec_t ok = {.native = SHMETRICS_HISTOGRAM_NATIVE,
                           .native_schema = 8,
                           .native_min_exponent = -8,
                           .native_max_exponent = 8};
    cr_assert_eq(reg_native("h", ok, SHMETRICS_HISTOGRAM), 0, "%s", shmetrics_errmsg());
}

Test(native, another_native_spec_is_a_conflict)
{
    shmetrics_spec_t base = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 3};
    cr_assert_eq(reg_native("c", base, SHMETRICS_HISTOGRAM), 0);
    cr_assert_eq(reg_native("c", base, SHMETRICS_HISTOGRAM), 0);
    shmetrics_spec_t x = base;
    x.native = SHMETRICS_HISTOGRAM_CLASSIC;
    x.native_schema = 0;
    cr_assert_eq(reg_native("c", x, SHMETRICS_HISTOGRAM), -EEXIST);
    assert_msg("c is already registered as a native histogram, not a classic one");
    x = base;
    x.native_schema = 2;
    cr_assert_eq(reg_native("c", x, SHMETRICS_HISTOGRAM), -EEXIST);
    assert_msg("c is already registered with native schema 3, not 2");
    x = base;
    x.native_zero_threshold = 0.001;
    cr_assert_eq(reg_native("c", x, SHMETRICS_HISTOGRAM), -EEXIST);
    assert_msg("c is already registered with native zero threshold 2.93874e-39, not 0.001");
    x = base;
    x.native_max_buckets = 20;
    cr_assert_eq(reg_native("c", x, SHMETRICS_HISTOGRAM), -EEXIST);
    assert_msg("c is already registered with at most 160 native buckets, not 20");
    x = base;
    x.native_min_exponent = -10;
    x.native_max_exponent = 10;
    cr_assert_eq(reg_native("c", x, SHMETRICS_HISTOGRAM), -EEXIST);
    assert_msg("c is already registered with the native range 2^-32..2^32, not 2^-10..2^10");
}

/* Four processes, each on its own (simulated) CPU of a series that has
 * stripes, observe known values: the merged counts are exact. */
Test(native, four_processes_through_stripes)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE,
                             .native_schema = 2,
                             .native_min_exponent = -4,
                             .native_max_exponent = 4};
    native_series("mp", &spec);
    pid_t pids[4];
    for (int p = 0; p < 4; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *r = test_worker_open(path);
            shmetrics_histogram_t *m;
            shmetrics_histogram_series_t *s;
            if (shmetrics_histogram_get(r, "mp", &m) < 0 || shmetrics_histogram_labels(m, &s, NULL) < 0)
                _exit(11);
            shmetrics_cpu_simulate(p);
            shmetrics_cells_grow_(&s->cells); /* as a collision would */
            for (int i = 0; i < 10000; i++) {
                shmetrics_histogram_observe(s, (double)(i % 10 + 1));
                shmetrics_histogram_observe(s, -0.5);
            }
            shmetrics_histogram_observe(s, 64); /* beyond 2^4: spilled, in this stripe's slots */
            _exit(shmetrics_shutdown(r, 0) == 0 ? 0 : 12);
        }
    }
    test_wait_all(pids, 4);
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    cr_assert_geq(in.striped, 1);
    const shmetrics_sample_t *c = count_sample("mp");
    const shmetrics_native_histogram_t *n = c->native;
    cr_assert_eq(c->value, 80004);
    cr_assert_eq(n->count, 80004);
    cr_assert_eq(n->unplaced, 0);
    /* Schema 2: 1 in 0, 2 in 4, 3 in 7, 4 in 8, 5 in 10, 6 in 11, 7 in 12,
     * 8 in 12, 9 in 13, 10 in 14; -0.5 in -4; 64 in 24. */
    const int32_t pos_spans[] = {0, 1, 3, 11, 9, 1};
    const uint64_t pos[] = {4000, 4000, 0, 0, 4000, 4000, 0, 4000, 4000, 8000, 4000, 4000, 4};
    assert_spans(n->positive_spans, n->npositive_spans, pos_spans, 6);
    assert_counts(n->positive, n->npositive, pos, 13);
    const int32_t neg_spans[] = {-4, 1};
    const uint64_t neg[] = {40000};
    assert_spans(n->negative_spans, n->nnegative_spans, neg_spans, 2);
    assert_counts(n->negative, n->nnegative, neg, 1);
    cr_assert_eq(n->sum, 4 * (55000 - 5000 + 64));
    shmetrics_snapshot_free(snap);
}

Test(native, json_shows_the_buckets)
{
    shmetrics_spec_t spec = {.native = SHMETRICS_HISTOGRAM_NATIVE, .native_schema = 0};
    shmetrics_histogram_series_t *h = native_series("j", &spec);
    const double obs[] = {1, 2, -3, 0};
    for (size_t i = 0; i < 4; i++)
        shmetrics_histogram_observe(h, obs[i]);
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_JSON, &text, NULL), 0);
    cr_assert_str_eq(text, "[\n{\"name\":\"j\",\"type\":\"histogram\",\"help\":\"\",\"samples\":["
                           "{\"name\":\"j_bucket\",\"labels\":{\"le\":\"+Inf\"},\"value\":4},"
                           "{\"name\":\"j_sum\",\"labels\":{},\"value\":0},"
                           "{\"name\":\"j_count\",\"labels\":{},\"value\":4,\"native\":{\"schema\":0,"
                           "\"zero_threshold\":2.938735877055719e-39,\"zero_count\":1,\"count\":4,\"sum\":0,"
                           "\"nan_count\":0,\"unplaced\":0,\"positive\":[[0,1],[1,1]],\"negative\":[[2,1]]}}]}\n]\n");
    free(text);
    shmetrics_snapshot_free(snap);
}
