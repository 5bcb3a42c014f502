/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_collector.c - the collector side that serve and push share
 * (src/read/reader.c), through its interface: the process counts a snapshot
 * carries against shmetrics_processes for live, SIGKILLed and exited
 * processes; the reader re-attaching after the arena is unlinked and
 * re-created; the collector's own families appended once each, in table
 * order, with their values; and the arena's bytes in use.
 */
#include <math.h>
#include <signal.h>

#include "../shm/layout.h"
#include "../src/read/reader.h"
#include "common.h"

/* A writer's slot: register the gauge (mode all, so that a clean exit keeps
 * the slot) and set it. */
static shmetrics_registry_t *child_attach(const char *path, double v)
{
    shmetrics_registry_t *r = test_worker_open(path);
    shmetrics_spec_t spec = {.name = "held", .help = "h", .gauge_mode = SHMETRICS_MODE_ALL};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    if (shmetrics_gauge_register(r, &spec, &g) < 0 || shmetrics_gauge_labels(g, &s, NULL) < 0 ||
        shmetrics_gauge_set(s, v) < 0) {
        fprintf(stderr, "child: %s\n", shmetrics_errmsg());
        _exit(11);
    }
    return r;
}

Test(collector, snapshot_process_counts_match_shmetrics_processes, .timeout = 60)
{
    const char *path = test_arena_path("procs");
    /* One process attaches, writes and detaches: exited. */
    pid_t exited = fork();
    if (exited == 0) {
        shmetrics_shutdown(child_attach(path, 1), 0);
        _exit(0);
    }
    test_wait_all(&exited, 1);
    /* Five attach and stay; three of them are SIGKILLed (after all five
     * attached: a writer attaching reclaims the slots of dead ones). */
    struct test_gate gate;
    test_gate_init(&gate);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pids[5];
    for (int i = 0; i < 5; i++) {
        if ((pids[i] = fork()) == 0) {
            close(ready[0]);
            child_attach(path, 2 + i);
            if (write(ready[1], "r", 1) != 1)
                _exit(12);
            test_gate_wait(&gate);
            _exit(0);
        }
    }
    close(ready[1]);
    for (int i = 0; i < 5; i++) {
        char c;
        cr_assert_eq(read(ready[0], &c, 1), 1, "worker %d attached", i);
    }
    close(ready[0]);
    for (int i = 2; i < 5; i++) {
        int st;
        kill(pids[i], SIGKILL);
        cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_process_t procs[16];
    size_t n = 0, want[3] = {0, 0, 0}; /* attached, dead, exited */
    cr_assert_eq(shmetrics_processes(r, procs, 16, &n), 0);
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        want[procs[i].exited ? 2 : procs[i].alive ? 0 : 1]++;
    cr_assert_eq(want[0], 2);
    cr_assert_eq(want[1], 3);
    cr_assert_eq(want[2], 1);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(snap->procs_attached, want[0]);
    cr_assert_eq(snap->procs_dead, want[1]);
    cr_assert_eq(snap->procs_exited, want[2]);

    /* Serve's processes family reads those counts. */
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    struct smx_self_in self = {.who = SMX_SELF_SERVE, .snap = snap, .arena = &in};
    shmetrics_snapshot_t merged;
    cr_assert_eq(smx_self_append(&self, &merged), 0);
    const char *att[] = {"state=attached"}, *dead[] = {"state=dead"}, *ex[] = {"state=exited"};
    cr_assert_eq(test_sample(&merged, "shmetrics_arena_processes", 1, att), 2.0);
    cr_assert_eq(test_sample(&merged, "shmetrics_arena_processes", 1, dead), 3.0);
    cr_assert_eq(test_sample(&merged, "shmetrics_arena_processes", 1, ex), 1.0);
    smx_self_free(&merged);
    shmetrics_snapshot_free(snap);

    test_gate_open(&gate);
    test_wait_all(pids, 2);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* A fresh arena at `path` holding one counter `name` at `value`. */
static void make_arena(const char *path, const char *name, uint64_t value)
{
    shmetrics_registry_t *w = test_open(path, SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL);
    shmetrics_spec_t spec = {.name = name, .help = "h"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(w, &spec, &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    shmetrics_counter_add(s, value);
    shmetrics_shutdown(w, 0);
}

/* The value of counter `name` read through `r`; NAN if it is not there. */
static double read_counter(shmetrics_registry_t *r, const char *name)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0, "%s", shmetrics_errmsg());
    double v = test_sample(snap, name, 0, NULL);
    shmetrics_snapshot_free(snap);
    return v;
}

static void reattach(bool shared)
{
    const char *path = test_arena_path(shared ? "reattach-shared" : "reattach");
    make_arena(path, "first", 1);
    shmetrics_registry_t *given = test_open(path, SHMETRICS_OPEN_READONLY);
    struct smx_reader rd;
    cr_assert_eq(smx_reader_init(&rd, given, shared), 0);
    bool fresh = true;
    cr_assert_eq(smx_reader_registry(&rd, &fresh), given);
    cr_assert_not(fresh);

    /* Unlinked, not re-created yet: the old mapping still reads. */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(smx_reader_registry(&rd, &fresh), given);
    cr_assert_not(fresh);
    cr_assert_eq(smx_reader_reattached(&rd), 0);

    make_arena(path, "second", 2);
    shmetrics_registry_t *second = smx_reader_registry(&rd, &fresh);
    cr_assert_neq(second, given);
    cr_assert(fresh);
    cr_assert_eq(smx_reader_reattached(&rd), 1);
    cr_assert_eq(read_counter(second, "second"), 2.0);
    cr_assert(isnan(read_counter(second, "first")));
    cr_assert_eq(smx_reader_registry(&rd, &fresh), second, "no second re-attach to the same arena");
    cr_assert_not(fresh);
    /* The caller's registry is never shut down by the reader. */
    cr_assert_eq(read_counter(given, "first"), 1.0);

    cr_assert_eq(unlink(path), 0);
    make_arena(path, "third", 3);
    shmetrics_registry_t *third = smx_reader_registry(&rd, &fresh);
    cr_assert(fresh);
    cr_assert_eq(smx_reader_reattached(&rd), 2);
    cr_assert_eq(read_counter(third, "third"), 3.0);
    if (shared) /* a replaced registry stays mapped for readers on other threads */
        cr_assert_eq(read_counter(second, "second"), 2.0);

    smx_reader_fini(&rd);
    cr_assert_eq(read_counter(given, "first"), 1.0);
    shmetrics_shutdown(given, 0);
    unlink(path);
}

Test(collector, reader_reattaches_after_unlink_and_recreate, .timeout = 60)
{
    reattach(false);
}

Test(collector, shared_reader_reattaches_and_keeps_the_old_mapped, .timeout = 60)
{
    reattach(true);
}

/* The arena's families first (the same records), then `n` self families
 * with these names, each once. */
static void assert_families(const shmetrics_snapshot_t *snap, const shmetrics_snapshot_t *merged,
                            const char *const *names, size_t n)
{
    cr_assert_eq(merged->nfamilies, snap->nfamilies + n);
    for (size_t i = 0; i < snap->nfamilies; i++)
        cr_assert_eq(memcmp(&merged->families[i], &snap->families[i], sizeof(shmetrics_family_t)), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(merged->families[snap->nfamilies + i].name, names[i]);
    cr_assert_eq(merged->damaged, snap->damaged);
    cr_assert_eq(merged->nseries, snap->nseries);
}

Test(collector, serve_self_families_appended_once_in_table_order)
{
    const char *path = test_arena_path("self-serve");
    make_arena(path, "work", 5);
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    shmetrics_arena_info_t in = {.file_bytes = 4096,
                                 .refused = 3,
                                 .bytes_used = 1234,
                                 .fs_refused = 4,
                                 .allocated_bytes = 2048,
                                 .striped = 5,
                                 .native_unplaced = 6,
                                 .exemplars_dropped = 7,
                                 .exemplars_taken_over = 8};
    struct smx_self_in self = {.who = SMX_SELF_SERVE,
                               .snap = snap,
                               .arena = &in,
                               .scrapes = 7,
                               .last_scrape_ns = 1500000000,
                               .reattached = 2,
                               .conns_open = 9,
                               .conns_max = 1024,
                               .conns_closed = {11, 12, 13},
                               .resident_bytes = 8192,
                               .auth_checks = {21, 22, 23}};
    shmetrics_snapshot_t m;
    cr_assert_eq(smx_self_append(&self, &m), 0);
    static const char *const names[] = {"shmetrics_collector_scrapes",
                                        "shmetrics_collector_reattached",
                                        "shmetrics_collector_last_scrape_duration_seconds",
                                        "shmetrics_arena_families",
                                        "shmetrics_arena_series",
                                        "shmetrics_arena_bytes_used",
                                        "shmetrics_arena_bytes_capacity",
                                        "shmetrics_arena_registrations_refused",
                                        "shmetrics_arena_filesystem_full",
                                        "shmetrics_arena_bytes_allocated",
                                        "shmetrics_arena_stripes",
                                        "shmetrics_arena_native_unplaced",
                                        "shmetrics_arena_exemplars_dropped",
                                        "shmetrics_arena_exemplar_slots_taken_over",
                                        "shmetrics_arena_damaged_records",
                                        "shmetrics_arena_processes",
                                        "shmetrics_collector_connections",
                                        "shmetrics_collector_connections_max",
                                        "shmetrics_collector_connections_closed",
                                        "shmetrics_collector_password_checks",
                                        "shmetrics_collector_resident_memory_bytes"};
    static const double values[] = {7, 2, 1.5, 1, 1, 1234, 4096, 3, 4, 2048, 5, 6, 7, 8, 0};
    static const shmetrics_type_t types[] = {SHMETRICS_COUNTER, SHMETRICS_COUNTER, SHMETRICS_GAUGE,   SHMETRICS_GAUGE,
                                             SHMETRICS_GAUGE,   SHMETRICS_GAUGE,   SHMETRICS_GAUGE,   SHMETRICS_COUNTER,
                                             SHMETRICS_COUNTER, SHMETRICS_GAUGE,   SHMETRICS_COUNTER, SHMETRICS_COUNTER,
                                             SHMETRICS_COUNTER, SHMETRICS_COUNTER, SHMETRICS_GAUGE};
    assert_families(snap, &m, names, 21);
    cr_assert_eq(snap->nfamilies, 1);
    for (size_t i = 0; i < 15; i++) {
        const shmetrics_family_t *f = &m.families[1 + i];
        cr_assert_eq(f->type, types[i], "%s", f->name);
        cr_assert_eq(f->nsamples, 1, "%s", f->name);
        cr_assert_eq(f->samples[0].nlabels, 0, "%s", f->name);
        cr_assert_str_eq(f->samples[0].suffix, types[i] == SHMETRICS_COUNTER ? "_total" : "", "%s", f->name);
        cr_assert_eq(f->samples[0].value, values[i], "%s: %g", f->name, f->samples[0].value);
    }
    const shmetrics_family_t *p = &m.families[16];
    cr_assert_eq(p->type, SHMETRICS_GAUGE);
    cr_assert_eq(p->nsamples, 3);
    static const char *const states[] = {"attached", "dead", "exited"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(p->samples[i].nlabels, 1);
        cr_assert_str_eq(p->samples[i].labels[0].name, "state");
        cr_assert_str_eq(p->samples[i].labels[0].value, states[i]);
        cr_assert_eq(p->samples[i].value, 0.0);
    }
    /* The connection guard's: open, the limit, closed by reason, memory. */
    cr_assert_eq(m.families[17].samples[0].value, 9.0);
    cr_assert_eq(m.families[17].type, SHMETRICS_GAUGE);
    cr_assert_eq(m.families[18].samples[0].value, 1024.0);
    const shmetrics_family_t *c = &m.families[19];
    cr_assert_eq(c->type, SHMETRICS_COUNTER);
    cr_assert_eq(c->nsamples, 3);
    static const char *const reasons[] = {"request_timeout", "address_limit", "connection_limit"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(c->samples[i].nlabels, 1);
        cr_assert_str_eq(c->samples[i].labels[0].name, "reason");
        cr_assert_str_eq(c->samples[i].labels[0].value, reasons[i]);
        cr_assert_str_eq(c->samples[i].suffix, "_total");
        cr_assert_eq(c->samples[i].value, 11.0 + (double)i);
    }
    const shmetrics_family_t *a = &m.families[20];
    static const char *const results[] = {"cached", "verified", "refused"};
    cr_assert_eq(a->nsamples, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq(a->samples[i].labels[0].name, "result");
        cr_assert_str_eq(a->samples[i].labels[0].value, results[i]);
        cr_assert_eq(a->samples[i].value, 21.0 + (double)i);
    }
    cr_assert_eq(m.families[21].samples[0].value, 8192.0);
    cr_assert_str_eq(m.families[1].help, "Scrapes served by this collector.");
    smx_self_free(&m);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(collector, push_self_families_carry_the_backend_label)
{
    const char *path = test_arena_path("self-push");
    make_arena(path, "work", 5);
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    shmetrics_push_stats_t st = {.attempts = 9,
                                 .failures = 4,
                                 .consecutive_failures = 2,
                                 .samples = 100,
                                 .bytes = 2048,
                                 .last_success_ns = 1700000000500000000ull,
                                 .last_duration_ns = 250000000,
                                 .reattached = 1};
    shmetrics_label_t backend = {"backend", "otlp"};
    struct smx_self_in self = {.who = SMX_SELF_PUSH, .label = &backend, .snap = snap, .push = &st};
    shmetrics_snapshot_t m;
    cr_assert_eq(smx_self_append(&self, &m), 0);
    static const char *const names[] = {"shmetrics_push_attempts",
                                        "shmetrics_push_failures",
                                        "shmetrics_push_consecutive_failures",
                                        "shmetrics_push_samples",
                                        "shmetrics_push_bytes",
                                        "shmetrics_push_last_success_timestamp_seconds",
                                        "shmetrics_push_last_duration_seconds",
                                        "shmetrics_push_reattached"};
    static const double values[] = {9, 4, 2, 100, 2048, 1700000000.5, 0.25, 1};
    assert_families(snap, &m, names, 8);
    for (size_t i = 0; i < 8; i++) {
        const shmetrics_family_t *f = &m.families[snap->nfamilies + i];
        cr_assert_eq(f->nsamples, 1, "%s", f->name);
        cr_assert_eq(f->samples[0].nlabels, 1, "%s", f->name);
        cr_assert_str_eq(f->samples[0].labels[0].name, "backend");
        cr_assert_str_eq(f->samples[0].labels[0].value, "otlp");
        cr_assert_eq(f->samples[0].value, values[i], "%s: %.17g", f->name, f->samples[0].value);
    }
    smx_self_free(&m);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(collector, arena_bytes_used_leaves_out_the_free_room)
{
    const char *path = test_arena_path("bytes");
    shmetrics_options_t o =
        {.path = path, .flags = SHMETRICS_OPEN_CREATE, .families = 8, .series = 16, .processes = 2, .shards = 1};
    shmetrics_registry_t *w;
    cr_assert_eq(shmetrics_open(&o, &w), 0, "%s", shmetrics_errmsg());
    shmetrics_arena_info_t a, b;
    cr_assert_eq(shmetrics_arena_info(w, &a), 0);
    shmetrics_spec_t spec = {.name = "g", .help = "h"};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(w, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_arena_info(w, &b), 0);
    for (int k = 0; k < 2; k++) {
        const shmetrics_arena_info_t *i = k ? &b : &a;
        uint64_t free_room = (uint64_t)(i->families_cap - i->families_used) * sizeof(struct shm_family) +
                             (uint64_t)(i->series_cap - i->series_used) * sizeof(struct shm_series) +
                             (i->heap_bytes - i->heap_used) + (i->cells_cap - i->cells_used) * 8 +
                             (uint64_t)i->processes_cap * (i->proc_cells_cap - i->proc_cells_used) * 8;
        cr_assert_eq(i->bytes_used, i->file_bytes - free_room);
        cr_assert_lt(i->bytes_used, i->file_bytes);
    }
    cr_assert_eq(b.families_used, a.families_used + 1);
    cr_assert_eq(b.series_used, a.series_used + 1);
    cr_assert_gt(b.bytes_used, a.bytes_used + sizeof(struct shm_family) + sizeof(struct shm_series) - 1);
    shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK);
}
