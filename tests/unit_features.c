/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_features.c - the parts of the Python registry beyond the four
 * types: sampled counters, rate-limited gauges, cardinality limits, and the
 * ready-made vLLM and inference metric sets.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../shm/layout.h"
#include "common.h"

static shmetrics_registry_t *reg;

static void setup(void)
{
    reg = test_open(test_arena_path("features"), SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(sampled, .init = setup, .fini = teardown);
TestSuite(limited, .init = setup, .fini = teardown);
TestSuite(cardinality, .init = setup, .fini = teardown);
TestSuite(sets, .init = setup, .fini = teardown);

static void assert_msg(const char *needle)
{
    cr_assert(strstr(shmetrics_errmsg(), needle), "message \"%s\" lacks \"%s\"", shmetrics_errmsg(), needle);
}

static shmetrics_counter_series_t *counter(const char *name)
{
    shmetrics_spec_t spec = {.name = name, .help = "h"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    return s;
}

/* ---------------------------------------------------------------- sampled */

Test(sampled, exact_on_multiples_within_one_percent_otherwise)
{
    shmetrics_counter_series_t *s = counter("hot_total");
    shmetrics_sampler_t smp;
    cr_assert_eq(shmetrics_sampler_init(&smp, s, 0.1), 0);
    for (int i = 0; i < 1000000; i++)
        shmetrics_sampler_inc(&smp);
    cr_assert_eq(shmetrics_counter_sum(s), 1000000.0, "a multiple of 10 is exact");
    for (int i = 0; i < 7; i++)
        shmetrics_sampler_inc(&smp);
    double v = shmetrics_counter_sum(s);
    cr_assert(fabs(v - 1000007.0) / 1000007.0 < 0.01, "%g", v);
    cr_assert_eq(v, 1000000.0, "the 7 are pending");
    shmetrics_sampler_flush();
    cr_assert_eq(shmetrics_counter_sum(s), 1000007.0, "a flush adds what is pending");
}

Test(sampled, rates_outside_zero_one_are_refused)
{
    shmetrics_counter_series_t *s = counter("r_total");
    shmetrics_sampler_t smp;
    const double bad[] = {0, -0.1, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(shmetrics_sampler_init(&smp, s, bad[i]), -EINVAL, "%g", bad[i]);
        assert_msg("is outside (0, 1]");
    }
    cr_assert_eq(shmetrics_sampler_init(&smp, s, 1), 0);
    shmetrics_sampler_inc(&smp);
    cr_assert_eq(shmetrics_counter_sum(s), 1.0, "rate 1 counts every call");
    cr_assert_eq(shmetrics_sampler_init(&smp, NULL, 0.5), -EINVAL);
}

struct thr {
    shmetrics_sampler_t *smp;
    int n;
};

static void *sample_thread(void *p)
{
    struct thr *t = p;
    for (int i = 0; i < t->n; i++)
        shmetrics_sampler_inc(t->smp);
    return NULL; /* the exit flushes what is pending */
}

Test(sampled, threads_flush_at_exit_and_slots_are_shared_exactly)
{
    shmetrics_counter_series_t *a = counter("a_total"), *b = counter("b_total");
    shmetrics_sampler_t sa, sb;
    cr_assert_eq(shmetrics_sampler_init(&sa, a, 0.01), 0);
    cr_assert_eq(shmetrics_sampler_init(&sb, b, 0.3), 0); /* every 3rd */
    pthread_t th[4];
    struct thr args[4] = {{&sa, 250003}, {&sa, 250003}, {&sb, 1001}, {&sb, 1001}};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, sample_thread, &args[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(shmetrics_counter_sum(a), 500006.0, "exact after the threads exited");
    cr_assert_eq(shmetrics_counter_sum(b), 2002.0);
}

/* The arena file of an open registry (a copy). */
static const char *path_of(shmetrics_registry_t *r, char *buf, size_t cap)
{
    shmetrics_arena_info_t info;
    cr_assert_eq(shmetrics_arena_info(r, &info), 0);
    snprintf(buf, cap, "%s", info.path);
    return buf;
}

Test(sampled, a_flush_lets_go_of_the_sampler)
{
    shmetrics_counter_series_t *a = counter("fa_total"), *b = counter("fb_total");
    shmetrics_sampler_t *smp = malloc(sizeof *smp);
    cr_assert_eq(shmetrics_sampler_init(smp, a, 0.1), 0);
    for (int i = 0; i < 13; i++)
        shmetrics_sampler_inc(smp);
    shmetrics_sampler_flush();
    cr_assert_eq(shmetrics_counter_sum(a), 13.0);
    /* The thread holds nothing of it now: the same memory, initialised for
     * another series, counts there alone. */
    cr_assert_eq(shmetrics_sampler_init(smp, b, 0.1), 0);
    for (int i = 0; i < 17; i++)
        shmetrics_sampler_inc(smp);
    shmetrics_sampler_flush();
    cr_assert_eq(shmetrics_counter_sum(a), 13.0);
    cr_assert_eq(shmetrics_counter_sum(b), 17.0);
    free(smp);
}

Test(sampled, shutdown_adds_what_is_pending_and_later_calls_count_nowhere)
{
    char path[256];
    shmetrics_registry_t *r2 = test_open(test_arena_path("features-sampled-2"), SHMETRICS_OPEN_CREATE);
    path_of(r2, path, sizeof path);
    static const shmetrics_spec_t spec = {.name = "gone", .help = "h"};
    shmetrics_counter_t *m;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(r2, &spec, &m), 0);
    cr_assert_eq(shmetrics_counter_labels(m, &s, NULL), 0);
    shmetrics_sampler_t smp;
    cr_assert_eq(shmetrics_sampler_init(&smp, s, 0.1), 0);
    for (int i = 0; i < 25; i++)
        shmetrics_sampler_inc(&smp);
    cr_assert_eq(shmetrics_counter_sum(s), 20.0, "5 pending");
    cr_assert_eq(shmetrics_shutdown(r2, 0), 0);
    for (int i = 0; i < 1000; i++)
        shmetrics_sampler_inc(&smp); /* the series and its mapping are gone */
    shmetrics_sampler_flush();
    shmetrics_registry_t *rd = test_open(path, 0);
    cr_assert_eq(shmetrics_counter_get(rd, "gone", &m), 0);
    cr_assert_eq(shmetrics_counter_labels(m, &s, NULL), 0);
    cr_assert_eq(shmetrics_counter_sum(s), 25.0, "the shutdown added the 5; nothing after it counted");
    shmetrics_shutdown(rd, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ---------------------------------------------------------------- limited */

Test(limited, sets_inside_the_interval_are_dropped_and_counted)
{
    shmetrics_spec_t spec = {.name = "load",
                             .help = "h",
                             .gauge_mode = SHMETRICS_MODE_MOSTRECENT,
                             .min_interval_seconds = SHMETRICS_GAUGE_MIN_INTERVAL};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(reg, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    const uint64_t ms = 1000000, t0 = 1000000000000ull;
    cr_assert_eq(shmetrics_gauge_set_at(s, 1, t0), 0, "the first set is accepted");
    cr_assert_eq(shmetrics_gauge_set_at(s, 2, t0 + 50 * ms), 1, "50 ms later: dropped");
    cr_assert_eq(shmetrics_gauge_set_at(s, 3, t0 + 99 * ms), 1, "99 ms later: dropped");
    cr_assert_eq(shmetrics_gauge_local(s), 1.0);
    cr_assert_eq(shmetrics_gauge_set_at(s, 4, t0 + 100 * ms), 0, "100 ms later: accepted");
    cr_assert_eq(shmetrics_gauge_local(s), 4.0);
    cr_assert_eq(shmetrics_gauge_set_at(s, 5, t0 + 150 * ms), 1);
    cr_assert_eq(shmetrics_gauge_set_at(s, 6, t0 + 250 * ms), 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    const char *m[] = {"metric=load"};
    cr_assert_eq(test_sample(snap, "shmetrics_gauge_sets_dropped", 1, m), 3.0);
    cr_assert_eq(test_sample(snap, "load", 0, NULL), 6.0);
    shmetrics_snapshot_free(snap);
    /* The real clock: a burst keeps the first value. */
    shmetrics_spec_t fast = {.name = "burst",
                             .help = "h",
                             .gauge_mode = SHMETRICS_MODE_SUM,
                             .min_interval_seconds = 60};
    cr_assert_eq(shmetrics_gauge_register(reg, &fast, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, 7), 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(shmetrics_gauge_set(s, i), 1);
    cr_assert_eq(shmetrics_gauge_local(s), 7.0);
}

Test(limited, spec_errors)
{
    shmetrics_gauge_t *g;
    shmetrics_spec_t neg = {.name = "g", .help = "h", .min_interval_seconds = -1};
    cr_assert_eq(shmetrics_gauge_register(reg, &neg, &g), -EINVAL);
    assert_msg("minimum interval -1 s must be between 0 and 3600");
    neg.min_interval_seconds = NAN;
    cr_assert_eq(shmetrics_gauge_register(reg, &neg, &g), -EINVAL);
    shmetrics_spec_t ctr = {.name = "c", .help = "h", .min_interval_seconds = 0.1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &ctr, &c), -EINVAL);
    assert_msg("c: a minimum interval between sets is for gauges");
    shmetrics_spec_t a = {.name = "g", .help = "h", .min_interval_seconds = 0.1};
    shmetrics_spec_t b = {.name = "g", .help = "h", .min_interval_seconds = 0.2};
    cr_assert_eq(shmetrics_gauge_register(reg, &a, &g), 0);
    cr_assert_eq(shmetrics_gauge_register(reg, &b, &g), -EEXIST);
    assert_msg("g is already registered with a minimum interval of 0.1 s");
}

/* ------------------------------------------------------------ cardinality */

Test(cardinality, label_sets_beyond_the_limit_fold_into_one_overflow_series)
{
    const char *lbl[] = {"user"};
    shmetrics_spec_t spec = {.name = "req_total", .help = "h", .label_names = lbl, .nlabels = 1, .max_series = 10};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), 0);
    for (int i = 0; i < 25; i++) {
        char v[16];
        snprintf(v, sizeof v, "u%d", i);
        shmetrics_counter_series_t *s;
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0, "%s", shmetrics_errmsg());
        shmetrics_counter_add(s, 1);
        shmetrics_counter_add(s, 1); /* twice, through the cache the second time */
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0);
    }
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    const shmetrics_family_t *f = test_family(snap, "req");
    cr_assert_eq(f->nsamples, 11, "10 label sets and the overflow series");
    const char *over[] = {"otel_metric_overflow=true"};
    cr_assert_eq(test_sample(snap, "req", 1, over), 30.0, "15 label sets x 2 folded in");
    const char *u0[] = {"user=u0"};
    cr_assert_eq(test_sample(snap, "req", 1, u0), 2.0);
    const char *m[] = {"metric=req"};
    cr_assert_eq(test_sample(snap, "shmetrics_cardinality_overflow", 1, m), 15.0);
    cr_assert_eq(shmetrics_format_prometheus(snap, &text, NULL), 0);
    cr_assert(strstr(text, "\nreq_total{otel_metric_overflow=\"true\"} 30\n"), "%s", text);
    free(text);
    shmetrics_snapshot_free(snap);
    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    cr_assert_lt(in.series_used, 20, "no record for the folded label sets: %u", in.series_used);
}

/* Set the label-set count of family `name` in the arena file, as a damaged
 * or hostile writer could. */
static void patch_nseries(const char *path, const char *name, uint32_t nseries)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    cr_assert(fd >= 0 && fstat(fd, &st) == 0);
    char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert(p != MAP_FAILED);
    const struct shm_header *h = (const struct shm_header *)p;
    struct shm_family *f = (struct shm_family *)(p + h->off_families);
    bool found = false;
    for (uint32_t i = 0; i < h->families_used; i++)
        if (f[i].name_len == strlen(name) && memcmp(p + h->off_heap + f[i].name_off, name, f[i].name_len) == 0) {
            __atomic_store_n(&f[i].nseries, nseries, __ATOMIC_RELAXED);
            found = true;
        }
    cr_assert(found, "family %s", name);
    munmap(p, (size_t)st.st_size);
    close(fd);
}

Test(cardinality, a_counting_family_over_its_own_limit_does_not_recurse)
{
    /* The overflow count is itself a labelled counter; if its record says it
     * is full, counting a fold folds it into its own overflow series once,
     * instead of counting that fold again (and so on, until the stack ran
     * out, as a fuzzed arena found). */
    const char *lbl[] = {"user"};
    shmetrics_spec_t a = {.name = "first_total", .label_names = lbl, .nlabels = 1, .max_series = 1};
    shmetrics_spec_t b = {.name = "second_total", .label_names = lbl, .nlabels = 1, .max_series = 1};
    shmetrics_counter_t *ca, *cb;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &a, &ca), 0);
    cr_assert_eq(shmetrics_counter_labels(ca, &s, "x", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(ca, &s, "y", NULL), 0, "folded, and counted");
    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    patch_nseries(in.path, "shmetrics_cardinality_overflow", UINT32_MAX);
    cr_assert_eq(shmetrics_counter_register(reg, &b, &cb), 0);
    cr_assert_eq(shmetrics_counter_labels(cb, &s, "x", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(cb, &s, "y", NULL), 0, "folded; its count folds too, once");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    const char *first[] = {"metric=first"}, *over[] = {"otel_metric_overflow=true"};
    cr_assert_eq(test_sample(snap, "shmetrics_cardinality_overflow", 1, first), 1.0);
    cr_assert_eq(test_sample(snap, "shmetrics_cardinality_overflow", 1, over), 1.0);
    shmetrics_snapshot_free(snap);
}

Test(cardinality, default_limit_is_2000_and_unlimited_is_unlimited)
{
    const char *lbl[] = {"k"};
    shmetrics_spec_t spec = {.name = "d_total", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), 0);
    for (int i = 0; i < 2001; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        shmetrics_counter_series_t *s;
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0);
        shmetrics_counter_add(s, 1);
    }
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(test_family(snap, "d")->nsamples, 2001, "2,000 and the overflow");
    const char *over[] = {"otel_metric_overflow=true"};
    cr_assert_eq(test_sample(snap, "d", 1, over), 1.0);
    shmetrics_snapshot_free(snap);
    shmetrics_spec_t other = {.name = "d_total", .help = "h", .label_names = lbl, .nlabels = 1, .max_series = 5};
    cr_assert_eq(shmetrics_counter_register(reg, &other, &c), -EEXIST);
    assert_msg("d is already registered with at most 2000 label sets");
}

/* ---------------------------------------------------------------- sets */

static const shmetrics_family_t *fam(const shmetrics_snapshot_t *snap, const char *name)
{
    const shmetrics_family_t *f = test_family(snap, name);
    cr_assert_not_null(f, "%s", name);
    return f;
}

Test(sets, vllm_names_types_labels_buckets)
{
    shmetrics_vllm_t v;
    shmetrics_vllm_options_t o = {.max_model_len = 1000};
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0, "%s", shmetrics_errmsg());
    shmetrics_vllm_t again;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &again), 0);
    cr_assert_eq(again.time_to_first_token_seconds, v.time_to_first_token_seconds);
    shmetrics_histogram_series_t *h;
    cr_assert_eq(shmetrics_histogram_labels(v.time_to_first_token_seconds, &h, "m", "0", NULL), 0);
    cr_assert_eq(h->nbuckets, 22);
    cr_assert(h->bounds[0] == 0.001 && h->bounds[21] == 2560.0);
    cr_assert_eq(shmetrics_histogram_labels(v.inter_token_latency_seconds, &h, "m", "0", NULL), 0);
    cr_assert(h->nbuckets == 19 && h->bounds[0] == 0.01 && h->bounds[18] == 80.0);
    cr_assert_eq(shmetrics_histogram_labels(v.e2e_request_latency_seconds, &h, "m", "0", NULL), 0);
    cr_assert(h->nbuckets == 21 && h->bounds[0] == 0.3 && h->bounds[20] == 7680.0);
    cr_assert_eq(shmetrics_histogram_labels(v.request_prompt_tokens, &h, "m", "0", NULL), 0);
    const double t125[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    cr_assert_eq(h->nbuckets, 10, "1-2-5 up to max_model_len 1000");
    for (int i = 0; i < 10; i++)
        cr_assert_eq(h->bounds[i], t125[i]);
    cr_assert_eq(shmetrics_histogram_labels(v.iteration_tokens_total, &h, "m", "0", NULL), 0);
    cr_assert(h->nbuckets == 13 && h->bounds[12] == 16384.0);
    shmetrics_counter_series_t *c;
    cr_assert_eq(shmetrics_counter_labels(v.request_success, &c, "m", "0", "stop", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(v.prompt_tokens, &c, "m", "0", NULL), 0);
    shmetrics_counter_add(c, 12);
    shmetrics_gauge_series_t *g;
    cr_assert_eq(shmetrics_gauge_labels(v.num_requests_running, &g, "m", "0", NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(g, 3), 0);
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(fam(snap, "vllm:num_requests_running")->gauge_mode, SHMETRICS_MODE_MOSTRECENT);
    cr_assert_eq(fam(snap, "vllm:kv_cache_usage_perc")->type, SHMETRICS_GAUGE);
    cr_assert_eq(fam(snap, "vllm:spec_decode_num_accepted_tokens")->type, SHMETRICS_COUNTER);
    cr_assert_eq(fam(snap, "vllm:request_params_max_tokens")->type, SHMETRICS_HISTOGRAM);
    cr_assert_eq(fam(snap, "vllm:request_decode_time_seconds")->type, SHMETRICS_HISTOGRAM);
    cr_assert_eq(shmetrics_format_prometheus(snap, &text, NULL), 0);
    cr_assert(
        strstr(text,
               "# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{model_name=\"m\",engine=\"0\"} 12\n"),
        "%s", text);
    cr_assert(strstr(text, "vllm:request_success_total{model_name=\"m\",engine=\"0\",finished_reason=\"stop\"} 0\n"));
    cr_assert(strstr(text, "vllm:num_requests_running{model_name=\"m\",engine=\"0\"} 3\n"));
    free(text);
    shmetrics_snapshot_free(snap);
}

Test(sets, vllm_bucket_overrides)
{
    const double mine[] = {0.1, 1, 10};
    shmetrics_bucket_override_t ov = {"vllm:time_to_first_token_seconds", mine, 3};
    shmetrics_vllm_options_t o = {.overrides = &ov, .noverrides = 1};
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0, "%s", shmetrics_errmsg());
    shmetrics_histogram_series_t *h;
    cr_assert_eq(shmetrics_histogram_labels(v.time_to_first_token_seconds, &h, "m", "0", NULL), 0);
    cr_assert(h->nbuckets == 3 && h->bounds[2] == 10.0);
    shmetrics_bucket_override_t bad = {"vllm:no_such_histogram", mine, 3};
    o.overrides = &bad;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("bucket override for vllm:no_such_histogram: no histogram of that name");
    double b[8];
    size_t n;
    cr_assert_eq(shmetrics_buckets_1_2_5(0, b, 8, &n), -EINVAL);
    cr_assert_eq(shmetrics_buckets_1_2_5(60, b, 8, &n), 0);
    cr_assert(n == 6 && b[5] == 50);
}

Test(sets, inference_set_names)
{
    shmetrics_inference_t x;
    cr_assert_eq(shmetrics_inference_register(reg, "llm", &x), 0, "%s", shmetrics_errmsg());
    shmetrics_gauge_t *g;
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_gauge_get(reg, "llm_engine_requests_running", &g), 0);
    cr_assert_eq(g, x.engine_requests_running);
    cr_assert_eq(shmetrics_gauge_get(reg, "llm_gpu_memory_used_bytes", &g), 0);
    cr_assert_eq(shmetrics_gauge_get(reg, "llm_cache_usage_ratio", &g), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "llm_spec_decode_accepted_tokens", &c), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "llm_engine_requests", &c), 0);
    shmetrics_histogram_t *h;
    cr_assert_eq(shmetrics_histogram_get(reg, "llm_engine_time_to_first_token_seconds", &h), 0);
    shmetrics_inference_t bare;
    cr_assert_eq(shmetrics_inference_register(reg, NULL, &bare), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "engine_prompt_tokens", &c), 0);
}

/* The handle of member m of a set, looked up by its full name. */
static void *get_by_name(const shmetrics_set_member_t *m, const char *full)
{
    void *h = NULL;
    int rc;
    switch (m->type) {
    case SHMETRICS_GAUGE:
        rc = shmetrics_gauge_get(reg, full, (shmetrics_gauge_t **)&h);
        break;
    case SHMETRICS_HISTOGRAM:
        rc = shmetrics_histogram_get(reg, full, (shmetrics_histogram_t **)&h);
        break;
    case SHMETRICS_SUMMARY:
        rc = shmetrics_summary_get(reg, full, (shmetrics_summary_t **)&h);
        break;
    default:
        rc = shmetrics_counter_get(reg, full, (shmetrics_counter_t **)&h);
        break;
    }
    cr_assert_eq(rc, 0, "%s: %s", full, shmetrics_errmsg());
    return h;
}

Test(sets, member_tables_describe_every_handle_in_registration_order)
{
    shmetrics_vllm_t v;
    shmetrics_inference_t x;
    shmetrics_vllm_options_t all = {.features = SHMETRICS_VLLM_ALL_FEATURES};
    cr_assert_eq(shmetrics_vllm_register(reg, &all, &v), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_inference_register(reg, "llm", &x), 0, "%s", shmetrics_errmsg());
    size_t nv, ni;
    const shmetrics_set_member_t *vm = shmetrics_vllm_members(&nv), *im = shmetrics_inference_members(&ni);
    cr_assert_eq(nv, 76, "34 core families and 42 of the feature groups");
    cr_assert_eq(vm[33].feature, 0);
    cr_assert_eq(vm[34].feature, SHMETRICS_VLLM_SPEC_DECODE);
    cr_assert_eq(vm[48].feature, SHMETRICS_VLLM_SLEEP);
    cr_assert_eq(ni, 16);
    cr_assert_str_eq(vm[0].field, "num_requests_running");
    cr_assert_str_eq(vm[11].name, "vllm:request_success");
    cr_assert_eq(vm[11].nlabels, 3);
    cr_assert_str_eq(vm[11].label_names[2], "finished_reason");
    cr_assert_null(vm[20].buckets, "%s: the token list", vm[20].name);
    cr_assert_str_eq(im[2].field, "engine_requests");
    cr_assert_str_eq(im[2].subsystem, "engine");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(snap->nfamilies, nv + ni);
    char full[256];
    for (size_t i = 0; i < nv; i++) {
        void *h = *(void **)((char *)&v + vm[i].offset);
        cr_assert_eq(get_by_name(&vm[i], vm[i].name), h, "%s", vm[i].field);
        cr_assert_str_eq(snap->families[i].name, vm[i].name);
        cr_assert_eq(snap->families[i].type, vm[i].type);
        cr_assert_str_eq(snap->families[i].help, vm[i].help);
    }
    for (size_t i = 0; i < ni; i++) {
        snprintf(full, sizeof full, "llm_%s_%s", im[i].subsystem, im[i].name);
        void *h = *(void **)((char *)&x + im[i].offset);
        cr_assert_eq(get_by_name(&im[i], full), h, "%s", im[i].field);
        cr_assert_str_eq(snap->families[nv + i].name, full);
    }
    shmetrics_snapshot_free(snap);
}

Test(sets, overrides_announced_but_missing_are_refused)
{
    shmetrics_vllm_options_t o = {.noverrides = 2};
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("2 bucket overrides announced, none given");
    const double bad[] = {1, 0.5};
    shmetrics_bucket_override_t ov = {"vllm:request_params_n", bad, 2};
    o.overrides = &ov;
    o.noverrides = 1;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("histogram vllm:request_params_n: bucket bounds must be strictly increasing (0.5 after 1)");
    shmetrics_inference_t x;
    cr_assert_eq(shmetrics_inference_register(reg, "9lives", &x), -EINVAL);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(snap->nfamilies, 0, "a refused set registers nothing");
    shmetrics_snapshot_free(snap);
}
