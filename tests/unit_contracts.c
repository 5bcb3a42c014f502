/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_contracts.c - the contracts of the public handles: a zeroed,
 * foreign or wrong-type handle given to a public function is -EINVAL with a
 * message naming it (the magic word checked on entry), never a crash or a
 * silent wrong number; and the always-on check tier (base/check.h) prints
 * where and what failed, then aborts.
 */
#include <signal.h>

#include "base/check.h"
#include "common.h"

/* Larger than any handle object, so a cast reads only zeros. */
static _Alignas(64) unsigned char zeros[4096];

static void assert_err(int rc, const char *needle)
{
    cr_assert_eq(rc, -EINVAL, "rc %d, message \"%s\"", rc, shmetrics_errmsg());
    cr_assert(strstr(shmetrics_errmsg(), needle), "message \"%s\" lacks \"%s\"", shmetrics_errmsg(), needle);
}

Test(contracts, zeroed_registry_is_refused)
{
    memset(zeros, 0, sizeof zeros);
    shmetrics_registry_t *bad = (shmetrics_registry_t *)zeros;
    const char *magic = "not a shmetrics registry (bad magic 0x00000000)";
    shmetrics_spec_t spec = {.name = "x"};
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    shmetrics_snapshot_t *snap = NULL;
    shmetrics_arena_info_t info;
    shmetrics_process_t procs[2];
    size_t n;

    assert_err(shmetrics_shutdown(bad, 0), "shmetrics_shutdown: not a shmetrics registry (bad magic 0x00000000)");
    assert_err(shmetrics_counter_register(bad, &spec, &c), magic);
    assert_err(shmetrics_gauge_get(bad, "x", &g), magic);
    assert_err(shmetrics_collect(bad, &snap), "shmetrics_collect_at: not a shmetrics registry");
    cr_assert_null(snap);
    assert_err(shmetrics_collect_at(bad, 1, &snap), magic);
    assert_err(shmetrics_reset(bad), "shmetrics_reset: not a shmetrics registry (bad magic 0x00000000)");
    assert_err(shmetrics_arena_info(bad, &info), "shmetrics_arena_info: not a shmetrics registry");
    assert_err(shmetrics_processes(bad, procs, 2, &n), "shmetrics_processes: not a shmetrics registry");
    assert_err(shmetrics_arena_replaced(bad), "shmetrics_arena_replaced: not a shmetrics registry");
    for (size_t i = 0; i < sizeof zeros; i++)
        cr_assert_eq(zeros[i], 0, "byte %zu of the bad handle was written", i);
}

Test(contracts, metric_handle_is_not_a_registry)
{
    const char *path = test_arena_path("contracts-reg");
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "jobs"};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), 0);
    /* A metric handle where a registry belongs. */
    assert_err(shmetrics_reset((shmetrics_registry_t *)c),
               "shmetrics_reset: not a shmetrics registry (bad magic 0x4d584d53)");
    cr_assert_eq(shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK), 0);
}

Test(contracts, zeroed_metric_is_refused)
{
    memset(zeros, 0, sizeof zeros);
    shmetrics_counter_t *bad = (shmetrics_counter_t *)zeros;
    shmetrics_counter_series_t *s = NULL;
    const char *v[] = {"a"};
    assert_err(shmetrics_counter_labels(bad, &s, "a", NULL),
               "shmetrics_counter_labels: not a shmetrics metric (bad magic 0x00000000)");
    assert_err(shmetrics_counter_labelv(bad, 1, v, &s),
               "shmetrics_counter_labelv: not a shmetrics metric (bad magic 0x00000000)");
    cr_assert_null(s);
    assert_err(shmetrics_counter_remove(bad, "a", NULL), "shmetrics_counter_remove: not a shmetrics metric");
    assert_err(shmetrics_counter_removev(bad, 1, v), "shmetrics_counter_removev: not a shmetrics metric");
    assert_err(shmetrics_counter_clear(bad), "shmetrics_counter_clear: not a shmetrics metric");
    const double *bounds;
    size_t n;
    assert_err(shmetrics_histogram_bounds((shmetrics_histogram_t *)zeros, &bounds, &n),
               "shmetrics_histogram_bounds: not a shmetrics metric (bad magic 0x00000000)");
    assert_err(shmetrics_gauge_labels((shmetrics_gauge_t *)zeros, (shmetrics_gauge_series_t **)&s, NULL),
               "shmetrics_gauge_labels: not a shmetrics metric");
    assert_err(shmetrics_summary_clear((shmetrics_summary_t *)zeros),
               "shmetrics_summary_clear: not a shmetrics metric");
    /* A registry handle where a metric belongs. */
    const char *path = test_arena_path("contracts-metric");
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_CREATE);
    assert_err(shmetrics_counter_clear((shmetrics_counter_t *)reg),
               "shmetrics_counter_clear: not a shmetrics metric (bad magic 0x52584d53)");
    cr_assert_eq(shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK), 0);
}

Test(contracts, metric_of_another_type_is_refused)
{
    const char *path = test_arena_path("contracts-type");
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "temp"};
    shmetrics_gauge_t *g;
    cr_assert_eq(shmetrics_gauge_register(reg, &spec, &g), 0);
    shmetrics_counter_series_t *s = NULL;
    assert_err(shmetrics_counter_labels((shmetrics_counter_t *)g, &s, NULL),
               "shmetrics_counter_labels: temp is a gauge, not a counter");
    cr_assert_null(s);
    assert_err(shmetrics_counter_clear((shmetrics_counter_t *)g),
               "shmetrics_counter_clear: temp is a gauge, not a counter");
    const double *bounds;
    size_t n;
    assert_err(shmetrics_histogram_bounds((shmetrics_histogram_t *)g, &bounds, &n),
               "shmetrics_histogram_bounds: temp is a gauge, not a histogram");
    /* The right type still works. */
    shmetrics_gauge_series_t *gs;
    cr_assert_eq(shmetrics_gauge_labels(g, &gs, NULL), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK), 0);
}

Test(contracts, zeroed_snapshot_is_not_freed)
{
    memset(zeros, 0, sizeof zeros);
    shmetrics_snapshot_free((shmetrics_snapshot_t *)zeros);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_snapshot_free: not a shmetrics snapshot (bad magic 0x00000000)"),
              "message \"%s\"", shmetrics_errmsg());
    /* A real one is freed (ASan builds would report a leak otherwise). */
    const char *path = test_arena_path("contracts-snap");
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK), 0);
}

/* The check tier: in a child, so that its abort is observed. */
static void failing_check(int value)
{
    SMX_CHECK(value == 42);
}

Test(contracts, check_prints_where_and_aborts)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        signal(SIGABRT, SIG_DFL);
        failing_check(7);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[512] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
    cr_assert(strstr(out, "unit_contracts.c:"), "no file in \"%s\"", out);
    cr_assert(strstr(out, ": failing_check: cannot happen: value == 42"), "no function or condition in \"%s\"", out);
}

Test(contracts, zeroed_pusher_and_server_are_refused)
{
    memset(zeros, 0, sizeof zeros);
    shmetrics_pusher_t *p = (shmetrics_pusher_t *)zeros;
    assert_err(shmetrics_pusher_push(p), "shmetrics_pusher_push: not a shmetrics pusher (bad magic 0x00000000)");
    shmetrics_push_stats_t st;
    memset(&st, 0x5a, sizeof st);
    shmetrics_pusher_stats(p, &st);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_pusher_stats: not a shmetrics pusher"), "%s", shmetrics_errmsg());
    cr_assert_eq(st.attempts, 0x5a5a5a5a5a5a5a5aull, "the stats were left alone");
    shmetrics_pusher_stop(p);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_pusher_stop: not a shmetrics pusher"), "%s", shmetrics_errmsg());
    assert_err(shmetrics_pusher_push(NULL), "shmetrics_pusher_push: no pusher given");

    shmetrics_server_t *s = (shmetrics_server_t *)zeros;
    cr_assert_eq(shmetrics_server_port(s), 0);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_server_port: not a shmetrics server (bad magic 0x00000000)"), "%s",
              shmetrics_errmsg());
    shmetrics_server_stop(s);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_server_stop: not a shmetrics server"), "%s", shmetrics_errmsg());
    for (size_t i = 0; i < sizeof zeros; i++)
        cr_assert_eq(zeros[i], 0, "byte %zu of the bad handle was written", i);

    /* Real ones pass the check. */
    const char *path = test_arena_path("contracts-push");
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_push_options_t po = {.backend = SHMETRICS_PUSH_NULL};
    shmetrics_pusher_t *real;
    cr_assert_eq(shmetrics_pusher_create(reg, &po, &real), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_pusher_push(real), 0, "%s", shmetrics_errmsg());
    shmetrics_pusher_stats(real, &st);
    cr_assert_eq(st.attempts, 1);
    shmetrics_pusher_stop(real);
    shmetrics_server_options_t so = {.listen = "127.0.0.1:0"};
    shmetrics_server_t *srv;
    cr_assert_eq(shmetrics_server_start(reg, &so, &srv), 0, "%s", shmetrics_errmsg());
    cr_assert_gt(shmetrics_server_port(srv), 0);
    shmetrics_server_stop(srv);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}
