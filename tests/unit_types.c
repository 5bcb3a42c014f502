/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_types.c - info and enum metrics (prometheus_client's Info and
 * Enum, OpenMetrics' info and stateset) and units: every error with its
 * code and message, the replace semantics of info, the most recent state
 * or value set winning across processes, and the exposition of each in
 * the text formats.
 */
#include <math.h>

#include "common.h"

static shmetrics_registry_t *reg;
static const char *path;

static void setup(void)
{
    path = test_arena_path("types");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(units, .init = setup, .fini = teardown);
TestSuite(enums, .init = setup, .fini = teardown);
TestSuite(infos, .init = setup, .fini = teardown);

#define ASSERT_FAILS(call, code, msg)                                             \
    do {                                                                          \
        int rc_ = (call);                                                         \
        cr_assert_eq(rc_, (code), "%s: %d (%s)", #call, rc_, shmetrics_errmsg()); \
        cr_assert_str_eq(shmetrics_errmsg(), (msg));                              \
    } while (0)

/* The exposition of the registry's arena in `fmt`, without creation times. */
static char *expose(shmetrics_format_t fmt)
{
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(snap->damaged, 0);
    cr_assert_eq(shmetrics_format_with(snap, fmt, SHMETRICS_FORMAT_NO_CREATED, &text, NULL), 0);
    shmetrics_snapshot_free(snap);
    return text;
}

static void assert_exposed(shmetrics_format_t fmt, const char *want)
{
    char *text = expose(fmt);
    cr_assert_str_eq(text, want);
    free(text);
}

/* ------------------------------------------------------------------ units */

static void assert_full_name(shmetrics_type_t type, const char *name, const char *unit, const char *want)
{
    shmetrics_spec_t spec = {.name = name, .unit = unit};
    char buf[300];
    cr_assert_eq(shmetrics_full_name(&spec, type, buf, sizeof buf), 0, "%s", shmetrics_errmsg());
    cr_assert_str_eq(buf, want);
}

Test(units, appended_as_prometheus_client_appends_them)
{
    assert_full_name(SHMETRICS_COUNTER, "requests_total", "bytes", "requests_bytes");
    assert_full_name(SHMETRICS_COUNTER, "requests_bytes_total", "bytes", "requests_bytes");
    assert_full_name(SHMETRICS_GAUGE, "latency_seconds", "seconds", "latency_seconds");
    assert_full_name(SHMETRICS_GAUGE, "latency", "seconds", "latency_seconds");
    assert_full_name(SHMETRICS_HISTOGRAM, "xseconds", "seconds", "xseconds_seconds");
    assert_full_name(SHMETRICS_SUMMARY, "ttft", "", "ttft");
    assert_full_name(SHMETRICS_SUMMARY, "ttft", NULL, "ttft");
    shmetrics_spec_t ns = {.name = "lat", .namespace_name = "app", .subsystem = "http", .unit = "seconds"};
    char buf[64];
    cr_assert_eq(shmetrics_full_name(&ns, SHMETRICS_HISTOGRAM, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "app_http_lat_seconds");
}

Test(units, bad_units_are_refused)
{
    shmetrics_counter_t *c;
    shmetrics_info_t *i;
    shmetrics_enum_t *e;
    const char *states[] = {"a"};
    shmetrics_spec_t sp = {.name = "x", .unit = "sec onds"};
    ASSERT_FAILS(shmetrics_counter_register(reg, &sp, &c), -EINVAL,
                 "invalid unit \"sec onds\" for x: it must be 1 to 64 bytes of [a-zA-Z0-9_:]");
    char longu[70];
    memset(longu, 'u', 65);
    longu[65] = 0;
    sp.unit = longu;
    ASSERT_FAILS(
        shmetrics_counter_register(reg, &sp, &c), -EINVAL,
        "invalid unit \"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\" for x: it must be 1 "
        "to 64 bytes of [a-zA-Z0-9_:]");
    char longn[260];
    memset(longn, 'n', 250);
    longn[250] = 0;
    sp = (shmetrics_spec_t){.name = longn, .unit = "seconds"};
    ASSERT_FAILS(shmetrics_counter_register(reg, &sp, &c), -EINVAL, "metric name is longer than 255 bytes");
    sp = (shmetrics_spec_t){.name = "build", .unit = "bytes"};
    ASSERT_FAILS(shmetrics_info_register(reg, &sp, &i), -EINVAL,
                 "build: an info metric cannot have a unit (bytes given)");
    sp = (shmetrics_spec_t){.name = "state", .unit = "seconds", .states = states, .nstates = 1};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL,
                 "state: an enum metric cannot have a unit (seconds given)");
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    cr_assert_eq(in.families_used, 0, "nothing registered");
}

Test(units, stored_compared_and_shown)
{
    shmetrics_spec_t sp = {.name = "req_total", .help = "h", .unit = "bytes"};
    shmetrics_counter_t *c, *again;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &sp, &c), 0);
    cr_assert_eq(shmetrics_counter_register(reg, &sp, &again), 0);
    cr_assert_eq(c, again);
    shmetrics_spec_t same_name = {.name = "req_bytes_total", .help = "h"};
    ASSERT_FAILS(shmetrics_counter_register(reg, &same_name, &again), -EEXIST,
                 "req_bytes is already registered with unit \"bytes\", not \"\"");
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    shmetrics_counter_add(s, 3);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    const shmetrics_family_t *f = test_family(snap, "req_bytes");
    cr_assert(f);
    cr_assert_str_eq(f->unit, "bytes");
    shmetrics_snapshot_free(snap);
    assert_exposed(SHMETRICS_FORMAT_OPENMETRICS, "# TYPE req_bytes counter\n"
                                                 "# UNIT req_bytes bytes\n"
                                                 "# HELP req_bytes h\n"
                                                 "req_bytes_total 3\n"
                                                 "# EOF\n");
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP req_bytes_total h\n"
                                                "# TYPE req_bytes_total counter\n"
                                                "req_bytes_total 3\n");
}

Test(units, a_unit_line_only_where_the_name_ends_with_it)
{
    /* A snapshot built by hand may pair any name and unit: OpenMetrics
     * allows the UNIT line only for a name that ends with _UNIT. */
    static const shmetrics_sample_t smp[] = {{"", 0, NULL, 1, 0, NULL, NULL}};
    static const shmetrics_family_t fams[] = {
        {.name = "a_seconds", .help = "", .type = SHMETRICS_GAUGE, .nsamples = 1, .samples = smp, .unit = "seconds"},
        {.name = "b", .help = "", .type = SHMETRICS_GAUGE, .nsamples = 1, .samples = smp, .unit = "seconds"},
        {.name = "cseconds", .help = "", .type = SHMETRICS_GAUGE, .nsamples = 1, .samples = smp, .unit = "seconds"},
    };
    shmetrics_snapshot_t snap = {.nfamilies = 3, .families = fams};
    char *text;
    cr_assert_eq(shmetrics_format(&snap, SHMETRICS_FORMAT_OPENMETRICS, &text, NULL), 0);
    cr_assert_str_eq(text, "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds \na_seconds 1\n"
                           "# TYPE b gauge\n# HELP b \nb 1\n"
                           "# TYPE cseconds gauge\n# HELP cseconds \ncseconds 1\n# EOF\n");
    free(text);
}

/* ------------------------------------------------------------------ enums */

static const char *const task_states[] = {"starting", "running", "stopped"};

static shmetrics_enum_t *task_enum(void)
{
    shmetrics_spec_t sp = {.name = "state", .help = "Task state", .states = task_states, .nstates = 3};
    shmetrics_enum_t *e;
    cr_assert_eq(shmetrics_enum_register(reg, &sp, &e), 0, "%s", shmetrics_errmsg());
    return e;
}

Test(enums, specs_are_checked)
{
    shmetrics_enum_t *e;
    shmetrics_counter_t *c;
    shmetrics_spec_t sp = {.name = "state"};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL, "enum state has no states");
    const char *many[257];
    char names[257][8];
    for (int i = 0; i < 257; i++) {
        snprintf(names[i], sizeof names[i], "s%d", i);
        many[i] = names[i];
    }
    sp.states = many;
    sp.nstates = 257;
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL, "enum state has 257 states, more than 256");
    sp.name = "big";
    sp.nstates = 256;
    cr_assert_eq(shmetrics_enum_register(reg, &sp, &e), 0, "256 states are fine");
    const char *twice[] = {"running", "x", "running"};
    sp = (shmetrics_spec_t){.name = "other", .states = twice, .nstates = 3};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL, "enum other: state \"running\" appears twice");
    const char *null_state[] = {"a", NULL};
    sp.states = null_state;
    sp.nstates = 2;
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL, "enum other: state 2 is NULL");
    const char *bad_utf8[] = {"\xff"};
    sp.states = bad_utf8;
    sp.nstates = 1;
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL,
                 "enum other: state 1 is not valid UTF-8 of at most 2048 bytes");
    sp = (shmetrics_spec_t){.name = "vllm:state", .states = task_states, .nstates = 3};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL,
                 "enum name \"vllm:state\" is also the label of its states: it must match [a-zA-Z_][a-zA-Z0-9_]* and "
                 "not start with __");
    const char *lbl[] = {"task", "state"};
    sp = (shmetrics_spec_t){.name = "state", .label_names = lbl, .nlabels = 2, .states = task_states, .nstates = 3};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EINVAL,
                 "label name \"state\" of enum state is the label of its states (overlapping labels)");
    sp = (shmetrics_spec_t){.name = "x", .states = task_states, .nstates = 3};
    ASSERT_FAILS(shmetrics_counter_register(reg, &sp, &c), -EINVAL, "x: states are for enums, not for a counter");
    /* The same enum again, and then other states. */
    shmetrics_enum_t *a = task_enum(), *b = task_enum();
    cr_assert_eq(a, b);
    const char *fewer[] = {"starting", "running"};
    sp = (shmetrics_spec_t){.name = "state", .help = "Task state", .states = fewer, .nstates = 2};
    ASSERT_FAILS(shmetrics_enum_register(reg, &sp, &e), -EEXIST,
                 "state is already registered with 3 other states (first \"starting\")");
}

Test(enums, states_set_by_name_and_index)
{
    shmetrics_enum_t *e = task_enum();
    const char *const *st;
    size_t n;
    cr_assert_eq(shmetrics_enum_states(e, &st, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(st[1], "running");
    shmetrics_enum_series_t *s;
    cr_assert_eq(shmetrics_enum_labels(e, &s, NULL), 0);
    /* A new series is in its first state. */
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP state Task state\n# TYPE state gauge\n"
                                                "state{state=\"starting\"} 1\nstate{state=\"running\"} 0\n"
                                                "state{state=\"stopped\"} 0\n");
    cr_assert_eq(shmetrics_enum_state(s, "running"), 0);
    ASSERT_FAILS(shmetrics_enum_state(s, "paused"), -EINVAL,
                 "enum state has no state 'paused' (its states: starting, running, stopped); the state is unchanged");
    ASSERT_FAILS(shmetrics_enum_state_index(s, 3), -EINVAL,
                 "enum state has no state number 3 (it has 3 states); the state is unchanged");
    ASSERT_FAILS(shmetrics_enum_state(s, NULL), -EINVAL, "shmetrics_enum_state: no series or state given");
    assert_exposed(SHMETRICS_FORMAT_OPENMETRICS, "# TYPE state stateset\n# HELP state Task state\n"
                                                 "state{state=\"starting\"} 0\nstate{state=\"running\"} 1\n"
                                                 "state{state=\"stopped\"} 0\n# EOF\n");
    cr_assert_eq(shmetrics_enum_state_index(s, 2), 0);
    char *text = expose(SHMETRICS_FORMAT_JSON);
    cr_assert(strstr(text, "{\"name\":\"state\",\"labels\":{\"state\":\"stopped\"},\"value\":1}"), "%s", text);
    free(text);
    shmetrics_counter_t *c;
    shmetrics_spec_t cs = {.name = "x"};
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), 0);
    ASSERT_FAILS(shmetrics_enum_states((shmetrics_enum_t *)c, &st, &n), -EINVAL,
                 "shmetrics_enum_states: x is a counter, not a stateset");
}

Test(enums, labelled_and_removed)
{
    const char *lbl[] = {"task"};
    shmetrics_spec_t sp = {.name = "phase", .label_names = lbl, .nlabels = 1, .states = task_states, .nstates = 3};
    shmetrics_enum_t *e;
    shmetrics_enum_series_t *a, *b;
    cr_assert_eq(shmetrics_enum_register(reg, &sp, &e), 0);
    cr_assert_eq(shmetrics_enum_labels(e, &a, "a", NULL), 0);
    cr_assert_eq(shmetrics_enum_labels(e, &b, "b", NULL), 0);
    cr_assert_eq(shmetrics_enum_state(b, "stopped"), 0);
    cr_assert_eq(shmetrics_enum_remove(e, "a", NULL), 0);
    ASSERT_FAILS(shmetrics_enum_remove(e, "a", NULL), -ENOENT, "phase has no such label set");
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP phase \n# TYPE phase gauge\n"
                                                "phase{task=\"b\",phase=\"starting\"} 0\n"
                                                "phase{task=\"b\",phase=\"running\"} 0\n"
                                                "phase{task=\"b\",phase=\"stopped\"} 1\n");
}

/* In a child: open the arena, set the enum to `state`, exit 0. */
static void set_in_child(const char *state, bool only_resolve)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        shmetrics_registry_t *r = test_worker_open(path);
        shmetrics_spec_t sp = {.name = "state", .help = "Task state", .states = task_states, .nstates = 3};
        shmetrics_enum_t *e;
        shmetrics_enum_series_t *s;
        if (shmetrics_enum_register(r, &sp, &e) < 0 || shmetrics_enum_labels(e, &s, NULL) < 0 ||
            (!only_resolve && shmetrics_enum_state(s, state) < 0))
            _exit(3);
        shmetrics_shutdown(r, 0);
        _exit(0);
    }
    test_wait_all(&pid, 1);
}

static double state_value(const char *state)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    char pair[64];
    snprintf(pair, sizeof pair, "state=%s", state);
    const char *pairs[] = {pair};
    double v = test_sample(snap, "state", 1, pairs);
    shmetrics_snapshot_free(snap);
    return v;
}

Test(enums, the_most_recently_set_state_wins_across_processes)
{
    shmetrics_enum_series_t *s;
    cr_assert_eq(shmetrics_enum_labels(task_enum(), &s, NULL), 0);
    set_in_child("running", false);
    cr_assert_eq(state_value("running"), 1.0, "a child's set, after this process resolved it");
    set_in_child(NULL, true);
    cr_assert_eq(state_value("running"), 1.0, "a process that only resolves the series changes nothing");
    cr_assert_eq(shmetrics_enum_state(s, "stopped"), 0);
    cr_assert_eq(state_value("stopped"), 1.0, "this process set it last");
    cr_assert_eq(state_value("running"), 0.0);
    set_in_child("starting", false);
    cr_assert_eq(state_value("starting"), 1.0, "a later child's set, in a slot of its own");
    cr_assert_eq(state_value("stopped"), 0.0);
}

/* ------------------------------------------------------------------ infos */

static shmetrics_info_t *build_info(size_t nlabels, const char *const *labels)
{
    shmetrics_spec_t sp = {.name = "build", .help = "Build info", .label_names = labels, .nlabels = nlabels};
    shmetrics_info_t *i;
    cr_assert_eq(shmetrics_info_register(reg, &sp, &i), 0, "%s", shmetrics_errmsg());
    return i;
}

Test(infos, a_new_value_set_replaces_the_last)
{
    shmetrics_info_series_t *s;
    cr_assert_eq(shmetrics_info_labels(build_info(0, NULL), &s, NULL), 0);
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS,
                   "# HELP build_info Build info\n# TYPE build_info gauge\nbuild_info 1\n");
    shmetrics_label_t v1[] = {{"version", "1.2.3"}, {"host", "a"}};
    cr_assert_eq(shmetrics_info_set(s, v1, 2), 0);
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP build_info Build info\n# TYPE build_info gauge\n"
                                                "build_info{version=\"1.2.3\",host=\"a\"} 1\n");
    shmetrics_label_t v2[] = {{"version", "2.0"}};
    cr_assert_eq(shmetrics_info_set(s, v2, 1), 0);
    assert_exposed(SHMETRICS_FORMAT_OPENMETRICS,
                   "# TYPE build info\n# HELP build Build info\nbuild_info{version=\"2.0\"} 1\n# EOF\n");
    /* Back and forth within one clock tick: the last set wins each time. */
    for (int k = 0; k < 50; k++) {
        cr_assert_eq(shmetrics_info_set(s, k % 2 ? v1 : v2, k % 2 ? 2 : 1), 0);
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(reg, &snap), 0);
        const shmetrics_family_t *f = test_family(snap, "build");
        cr_assert_eq(f->nsamples, 1);
        cr_assert_str_eq(f->samples[0].labels[0].value, k % 2 ? "1.2.3" : "2.0");
        cr_assert_eq(f->samples[0].nlabels, k % 2 ? 2u : 1u);
        cr_assert_str_eq(f->samples[0].suffix, "_info");
        shmetrics_snapshot_free(snap);
    }
    cr_assert_eq(shmetrics_info_set(s, NULL, 0), 0);
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS,
                   "# HELP build_info Build info\n# TYPE build_info gauge\nbuild_info 1\n");
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    cr_assert_eq(in.series_used, 3, "a record per value set, none per set made again");
}

Test(infos, bad_pairs_change_nothing)
{
    const char *lbl[] = {"env"};
    shmetrics_info_series_t *s;
    cr_assert_eq(shmetrics_info_labels(build_info(1, lbl), &s, "prod", NULL), 0);
    shmetrics_label_t good[] = {{"version", "1"}};
    cr_assert_eq(shmetrics_info_set(s, good, 1), 0);
    shmetrics_label_t overlap[] = {{"version", "2"}, {"env", "x"}};
    ASSERT_FAILS(shmetrics_info_set(s, overlap, 2), -EINVAL,
                 "info build: overlapping labels: \"env\" is a label name of the metric");
    shmetrics_label_t bad_name[] = {{"1x", "2"}};
    ASSERT_FAILS(shmetrics_info_set(s, bad_name, 1), -EINVAL,
                 "info build: invalid label name \"1x\": it must match [a-zA-Z_][a-zA-Z0-9_]*");
    shmetrics_label_t reserved[] = {{"__x", "2"}};
    ASSERT_FAILS(shmetrics_info_set(s, reserved, 1), -EINVAL,
                 "info build: label name \"__x\" is reserved: names starting with __ are Prometheus's own");
    shmetrics_label_t twice[] = {{"version", "2"}, {"version", "3"}};
    ASSERT_FAILS(shmetrics_info_set(s, twice, 2), -EINVAL, "info build: label name \"version\" appears twice");
    shmetrics_label_t no_value[] = {{"version", NULL}};
    ASSERT_FAILS(shmetrics_info_set(s, no_value, 1), -EINVAL, "info build: pair 1 has no value");
    shmetrics_label_t no_name[] = {{NULL, "x"}};
    ASSERT_FAILS(shmetrics_info_set(s, no_name, 1), -EINVAL, "info build: pair 1 has no name");
    shmetrics_label_t bad_value[] = {{"version", "\xc0\x80"}};
    ASSERT_FAILS(shmetrics_info_set(s, bad_value, 1), -EINVAL,
                 "info build: the value of \"version\" is not valid UTF-8 of at most 2048 bytes");
    shmetrics_label_t many[16];
    char names[16][8];
    for (int i = 0; i < 16; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many[i] = (shmetrics_label_t){names[i], "v"};
    }
    ASSERT_FAILS(shmetrics_info_set(s, many, 16), -EINVAL,
                 "info build: 16 pairs and 1 label names, more than 16 names in all");
    cr_assert_eq(shmetrics_info_set(s, many, 15), 0, "15 pairs and a label are 16 names");
    cr_assert_eq(shmetrics_info_set(s, good, 1), 0);
    ASSERT_FAILS(shmetrics_info_set(NULL, good, 1), -EINVAL, "shmetrics_info_set: no series or pairs given");
    ASSERT_FAILS(shmetrics_info_set(s, NULL, 1), -EINVAL, "shmetrics_info_set: no series or pairs given");
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP build_info Build info\n# TYPE build_info gauge\n"
                                                "build_info{env=\"prod\",version=\"1\"} 1\n");
    /* Removing the label set takes its value sets with it. */
    cr_assert_eq(shmetrics_info_remove(build_info(1, lbl), "prod", NULL), 0);
    assert_exposed(SHMETRICS_FORMAT_PROMETHEUS, "# HELP build_info Build info\n# TYPE build_info gauge\n");
    ASSERT_FAILS(shmetrics_info_remove(build_info(1, lbl), "prod", NULL), -ENOENT, "build has no such label set");
}

/* In a child: set the info to {version=`v`}, exit 0. */
static void info_in_child(const char *v)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        shmetrics_registry_t *r = test_worker_open(path);
        shmetrics_spec_t sp = {.name = "build", .help = "Build info"};
        shmetrics_info_t *i;
        shmetrics_info_series_t *s;
        shmetrics_label_t p[] = {{"version", v}};
        if (shmetrics_info_register(r, &sp, &i) < 0 || shmetrics_info_labels(i, &s, NULL) < 0 ||
            shmetrics_info_set(s, p, 1) < 0)
            _exit(3);
        shmetrics_shutdown(r, 0);
        _exit(0);
    }
    test_wait_all(&pid, 1);
}

static double version_value(const char *v)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    char pair[64];
    snprintf(pair, sizeof pair, "version=%s", v);
    const char *pairs[] = {pair};
    double r = test_sample(snap, "build", 1, pairs);
    const shmetrics_family_t *f = test_family(snap, "build");
    cr_assert_eq(f->nsamples, 1, "one value set shown");
    shmetrics_snapshot_free(snap);
    return r;
}

Test(infos, the_most_recent_value_set_wins_across_processes)
{
    shmetrics_info_series_t *s;
    cr_assert_eq(shmetrics_info_labels(build_info(0, NULL), &s, NULL), 0);
    info_in_child("1");
    cr_assert_eq(version_value("1"), 1.0);
    shmetrics_label_t two[] = {{"version", "2"}};
    cr_assert_eq(shmetrics_info_set(s, two, 1), 0);
    cr_assert_eq(version_value("2"), 1.0);
    info_in_child("1");
    cr_assert_eq(version_value("1"), 1.0, "an older value set, set again later, wins");
    info_in_child("3");
    cr_assert_eq(version_value("3"), 1.0);
}
