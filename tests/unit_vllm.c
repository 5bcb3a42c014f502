/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_vllm.c - the vLLM set's feature groups, the series an engine
 * creates at start-up (exactly vLLM's, at 0), the sleep state, and
 * vllm:cache_config_info, each error with its code and message.
 */
#include "common.h"

static shmetrics_registry_t *reg;

static void setup(void)
{
    reg = test_open(test_arena_path("vllm"), SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(vllm, .init = setup, .fini = teardown);

static void assert_msg(const char *needle)
{
    cr_assert(strstr(shmetrics_errmsg(), needle), "message \"%s\" lacks \"%s\"", shmetrics_errmsg(), needle);
}

/* The text exposition of the arena (free it). */
static char *exposition(void)
{
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(shmetrics_format_prometheus(snap, &text, NULL), 0);
    shmetrics_snapshot_free(snap);
    return text;
}

/* The number of lines of `text` that start with `prefix`. */
static size_t lines_with(const char *text, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

Test(vllm, core_only_leaves_the_groups_null)
{
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, NULL, &v), 0, "%s", shmetrics_errmsg());
    cr_assert_not_null(v.num_requests_waiting_by_reason);
    cr_assert_not_null(v.prompt_tokens_cached_by_source);
    cr_assert_not_null(v.request_prefill_kv_computed_tokens);
    cr_assert_null(v.spec_decode_num_accepted_tokens_per_pos);
    cr_assert_null(v.kv_offload_total_bytes);
    cr_assert_null(v.nixl_xfer_time_seconds);
    cr_assert_null(v.lora_requests_info);
    cr_assert_null(v.mm_cache_hits);
    cr_assert_null(v.engine_sleep_state);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(snap->nfamilies, 34, "the 34 core families");
    shmetrics_snapshot_free(snap);
}

Test(vllm, engine_start_creates_vllm_s_series_at_zero)
{
    shmetrics_vllm_options_t o = {.max_model_len = 1000,
                                  .features = SHMETRICS_VLLM_ALL_FEATURES,
                                  .num_speculative_tokens = 3};
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_vllm_engine_start(&v, &o, "m", "0"), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_vllm_engine_start(&v, &o, "m", "1"), 0, "%s", shmetrics_errmsg());
    char *text = exposition();
    static const char *const zero[] = {
        "vllm:request_success_total{model_name=\"m\",engine=\"0\",finished_reason=\"stop\"} 0\n",
        "vllm:request_success_total{model_name=\"m\",engine=\"1\",finished_reason=\"error\"} 0\n",
        "vllm:num_preemptions_total{model_name=\"m\",engine=\"1\"} 0\n",
        "vllm:num_requests_waiting_by_reason{model_name=\"m\",engine=\"0\",reason=\"deferred\"} 0\n",
        "vllm:prompt_tokens_by_source_total{model_name=\"m\",engine=\"0\",source=\"external_kv_transfer\"} 0\n",
        "vllm:prompt_tokens_cached_by_source_total{model_name=\"m\",engine=\"0\",source=\"external_unspecified\"} 0\n",
        "vllm:spec_decode_num_drafts_total{model_name=\"m\",engine=\"0\"} 0\n",
        "vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name=\"m\",engine=\"0\",position=\"2\"} 0\n",
        "vllm:kv_offload_total_time_total{model_name=\"m\",engine=\"0\",transfer_type=\"GPU_to_CPU\"} 0\n",
        "vllm:kv_offload_size_count{model_name=\"m\",engine=\"0\",transfer_type=\"CPU_to_GPU\"} 0\n",
        "vllm:nixl_num_kv_expired_reqs_total{model_name=\"m\",engine=\"1\"} 0\n",
        "vllm:nixl_xfer_time_seconds_bucket{model_name=\"m\",engine=\"0\",le=\"0.005\"} 0\n",
        "vllm:mm_cache_hits_total{model_name=\"m\",engine=\"0\"} 0\n",
        "vllm:engine_sleep_state{model_name=\"m\",engine=\"0\",sleep_state=\"awake\"} 1\n",
        "vllm:engine_sleep_state{model_name=\"m\",engine=\"0\",sleep_state=\"discard_all\"} 0\n",
        "vllm:request_max_num_generation_tokens_count{model_name=\"m\",engine=\"0\"} 0\n",
        "vllm:kv_cache_usage_perc{model_name=\"m\",engine=\"1\"} 0\n",
        "vllm:nixl_num_notifications_after_expiry_total{model_name=\"m\",engine=\"0\"} 0\n",
        "vllm:num_requests_kv_fetch_by_stage{model_name=\"m\",engine=\"1\",stage=\"completed_waiting\"} 0\n",
        "vllm:kv_block_reuse_gap_seconds_bucket{model_name=\"m\",engine=\"0\",le=\"3600.0\"} 0\n",
        "vllm:estimated_flops_per_gpu_total{model_name=\"m\",engine=\"1\"} 0\n",
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        cr_assert(strstr(text, zero[i]), "missing %s", zero[i]);
    cr_assert_eq(lines_with(text, "vllm:request_success_total{"), 8, "4 reasons x 2 engines");
    cr_assert_eq(lines_with(text, "vllm:spec_decode_num_accepted_tokens_per_pos_total{"), 6, "3 positions x 2");
    cr_assert_eq(lines_with(text, "vllm:engine_sleep_state{"), 6);
    cr_assert_eq(lines_with(text, "vllm:lora_requests_info{"), 0, "vLLM sets it at the first step");
    cr_assert_eq(lines_with(text, "vllm:num_requests_kv_fetch_by_stage{"), 6, "3 stages x 2 engines");
    /* The offloading connectors' current families: when first written. */
    cr_assert_eq(lines_with(text, "vllm:kv_offload_load_bytes_total{"), 0);
    cr_assert_eq(lines_with(text, "vllm:kv_offload_cpu_cache_usage_perc{"), 0);
    cr_assert_eq(lines_with(text, "vllm:kv_offload_lookup_sync_delay_seconds_count{"), 0);
    cr_assert_eq(lines_with(text, "vllm:simple_kv_offload_"), 0);
    cr_assert_eq(lines_with(text, "vllm:kv_offload_total_bytes_total{"), 4, "2 transfer types x 2 engines");
    cr_assert_eq(lines_with(text, "vllm:nixl_xfer_time_seconds_bucket{model_name=\"m\",engine=\"0\""), 13,
                 "the NIXL transfer buckets from the second on, and +Inf");
    free(text);
}

Test(vllm, spec_decode_series_only_for_a_drafting_engine)
{
    shmetrics_vllm_options_t o = {.features = SHMETRICS_VLLM_SLEEP};
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_vllm_engine_start(&v, &o, "m", "0"), 0, "%s", shmetrics_errmsg());
    char *text = exposition();
    cr_assert_eq(lines_with(text, "vllm:spec_decode_"), 0, "%s", text);
    cr_assert_eq(lines_with(text, "vllm:mm_cache_"), 0);
    cr_assert_eq(lines_with(text, "vllm:engine_sleep_state{"), 3);
    free(text);
}

Test(vllm, sleep_state_levels)
{
    shmetrics_vllm_options_t o = {.features = SHMETRICS_VLLM_SLEEP};
    shmetrics_vllm_t v;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0);
    cr_assert_eq(shmetrics_vllm_sleep_state(&v, "m", "0", 1, 2), 0, "%s", shmetrics_errmsg());
    char *text = exposition();
    cr_assert(strstr(text, "vllm:engine_sleep_state{model_name=\"m\",engine=\"0\",sleep_state=\"awake\"} 0\n"));
    cr_assert(strstr(text, "sleep_state=\"weights_offloaded\"} 0\n"));
    cr_assert(strstr(text, "sleep_state=\"discard_all\"} 1\n"));
    free(text);
    cr_assert_eq(shmetrics_vllm_sleep_state(&v, "m", "0", 1, 1), 0);
    cr_assert_eq(shmetrics_vllm_sleep_state(&v, "m", "0", 0, 0), 0);
    text = exposition();
    cr_assert(strstr(text, "sleep_state=\"awake\"} 1\n"));
    cr_assert(strstr(text, "sleep_state=\"weights_offloaded\"} 0\n"));
    cr_assert(strstr(text, "sleep_state=\"discard_all\"} 0\n"));
    free(text);
    cr_assert_eq(shmetrics_vllm_sleep_state(&v, "m", "0", 1, 3), -EINVAL);
    assert_msg("sleep level 3, not 1 (weights offloaded) or 2 (discard all)");
    cr_assert_eq(shmetrics_vllm_sleep_state(&v, NULL, "0", 0, 0), -EINVAL);
    assert_msg("no model_name or engine given");
    shmetrics_vllm_t core;
    cr_assert_eq(shmetrics_vllm_register(reg, NULL, &core), 0);
    cr_assert_eq(shmetrics_vllm_sleep_state(&core, "m", "0", 0, 0), -EINVAL);
    assert_msg("the set has no engine_sleep_state (SHMETRICS_VLLM_SLEEP)");
}

Test(vllm, cache_config_info_is_a_gauge_at_one)
{
    const shmetrics_label_t cfg[] = {{"block_size", "16"}, {"enable_prefix_caching", "True"}};
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, cfg, 2, "0"), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, cfg, 2, "1"), 0, "%s", shmetrics_errmsg());
    char *text = exposition();
    cr_assert(strstr(text, "# TYPE vllm:cache_config_info gauge\n"
                           "vllm:cache_config_info{block_size=\"16\",enable_prefix_caching=\"True\",engine=\"0\"} 1\n"
                           "vllm:cache_config_info{block_size=\"16\",enable_prefix_caching=\"True\",engine=\"1\"} 1\n"),
              "%s", text);
    free(text);
    const shmetrics_label_t other[] = {{"block_size", "16"}};
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, other, 1, "0"), -EEXIST);
    assert_msg("vllm:cache_config_info is already registered");
    const shmetrics_label_t bad[] = {{"block size", "16"}};
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, bad, 1, "0"), -EINVAL);
    const shmetrics_label_t null_value[] = {{"block_size", NULL}};
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, null_value, 1, "0"), -EINVAL);
    assert_msg("configuration label 0 has no name or value");
    shmetrics_label_t many[16];
    for (int i = 0; i < 16; i++)
        many[i] = (shmetrics_label_t){"k", "v"};
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, many, 16, "0"), -EINVAL);
    assert_msg("16 configuration labels, at most 15 (with engine)");
    cr_assert_eq(shmetrics_vllm_cache_config_info(reg, cfg, 2, NULL), -EINVAL);
    assert_msg("no registry, configuration or engine given");
}

Test(vllm, errors_name_the_problem)
{
    shmetrics_vllm_t v;
    shmetrics_vllm_options_t o = {.features = 0x200};
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("vLLM set: unknown feature bits 0x200 (the groups are 0x1ff)");
    o = (shmetrics_vllm_options_t){.features = SHMETRICS_VLLM_SPEC_DECODE, .num_speculative_tokens = 65};
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("vLLM set: 65 speculative tokens, at most 64");
    const double b[] = {1, 2};
    shmetrics_bucket_override_t ov = {"vllm:nixl_bytes_transferred", b, 2};
    o = (shmetrics_vllm_options_t){.overrides = &ov, .noverrides = 1};
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), -EINVAL);
    assert_msg("bucket override for vllm:nixl_bytes_transferred: its feature group (0x4) is not registered");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(snap->nfamilies, 0, "a refused set registers nothing");
    shmetrics_snapshot_free(snap);
    o.features = SHMETRICS_VLLM_KV_CONNECTOR;
    cr_assert_eq(shmetrics_vllm_register(reg, &o, &v), 0, "%s", shmetrics_errmsg());
    shmetrics_histogram_series_t *h;
    cr_assert_eq(shmetrics_histogram_labels(v.nixl_bytes_transferred, &h, "m", "0", NULL), 0);
    cr_assert_eq(h->nbuckets, 2, "the override applies to a group's histogram");
    cr_assert_eq(shmetrics_vllm_engine_start(&v, &o, NULL, "0"), -EINVAL);
    assert_msg("vLLM engine start: no set, model_name or engine given");
    shmetrics_vllm_t none = {0};
    cr_assert_eq(shmetrics_vllm_engine_start(&none, NULL, "m", "0"), -EINVAL);
    assert_msg("vLLM engine start: the set is not registered");
    o.num_speculative_tokens = 100;
    cr_assert_eq(shmetrics_vllm_engine_start(&v, &o, "m", "0"), -EINVAL);
    assert_msg("vLLM engine start: 100 speculative tokens, at most 64");
    cr_assert_eq(shmetrics_vllm_engine_start(&v, NULL, "m", "\xff"), -EINVAL, "a label value that is not UTF-8");
}
