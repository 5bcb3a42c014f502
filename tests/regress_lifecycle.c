/* SPDX-License-Identifier: MIT */
/*
 * tests/regress_lifecycle.c - processes that come and go: live and
 * non-live gauge modes over live, exited and SIGKILLed processes, slot
 * reclamation through 5,000 short-lived workers, counters that never go
 * backwards, 20 s of chaos with random SIGKILLs (with and without a
 * collector scraping), removal of series, and a re-created arena.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "../shm/arena.h"
#include "common.h"

static shmetrics_registry_t *open_rw(const char *path, uint32_t processes)
{
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE,
                             .processes = processes,
                             .families = 32,
                             .series = 256};
    shmetrics_registry_t *r;
    if (shmetrics_open(&o, &r) < 0) {
        fprintf(stderr, "open: %s\n", shmetrics_errmsg());
        _exit(10);
    }
    return r;
}

static const char *const mode_names[10] = {"all",     "sum",     "min",     "max",     "recent",
                                           "liveall", "livesum", "livemin", "livemax", "liverecent"};

static void set_all_modes(shmetrics_registry_t *r, double v)
{
    for (int m = 0; m < 10; m++) {
        char name[32];
        snprintf(name, sizeof name, "g_%s", mode_names[m]);
        shmetrics_spec_t spec = {.name = name, .help = "h", .gauge_mode = (shmetrics_gauge_mode_t)m};
        shmetrics_gauge_t *g;
        shmetrics_gauge_series_t *s;
        if (shmetrics_gauge_register(r, &spec, &g) < 0 || shmetrics_gauge_labels(g, &s, NULL) < 0 ||
            shmetrics_gauge_set(s, v) < 0) {
            fprintf(stderr, "gauge: %s\n", shmetrics_errmsg());
            _exit(11);
        }
    }
}

static double value(const shmetrics_snapshot_t *snap, const char *fam)
{
    return test_sample(snap, fam, 0, NULL);
}

static size_t nsamples(const shmetrics_snapshot_t *snap, const char *fam)
{
    const shmetrics_family_t *f = test_family(snap, fam);
    return f ? f->nsamples : 0;
}

/* Process 1 exits, process 2 is killed, process 3 lives on. */
Test(lifecycle, gauge_modes_over_live_exited_and_dead_processes, .timeout = 60)
{
    const char *path = test_arena_path("modes5");
    const double v[3] = {1, 5, 3};
    int hold[2];
    cr_assert_eq(pipe(hold), 0);
    pid_t pids[3];
    for (int p = 0; p < 3; p++) {
        int done[2];
        cr_assert_eq(pipe(done), 0);
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *r = open_rw(path, 8);
            set_all_modes(r, v[p]);
            if (write(done[1], "x", 1) != 1)
                _exit(12);
            if (p == 0) {
                shmetrics_shutdown(r, 0);
                _exit(0);
            }
            char c;
            close(hold[1]);
            while (read(hold[0], &c, 1) > 0)
                ;
            shmetrics_shutdown(r, 0);
            _exit(0);
        }
        char c;
        cr_assert_eq(read(done[0], &c, 1), 1);
        close(done[0]);
        close(done[1]);
    }
    close(hold[0]);
    test_wait_all(&pids[0], 1);
    kill(pids[1], SIGKILL);
    cr_assert_eq(waitpid(pids[1], NULL, 0), pids[1]);

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(nsamples(snap, "g_all"), 3, "all: the exited, the dead and the live process");
    cr_assert_eq(value(snap, "g_sum"), 9.0);
    cr_assert_eq(value(snap, "g_min"), 1.0);
    cr_assert_eq(value(snap, "g_max"), 5.0);
    cr_assert_eq(value(snap, "g_recent"), 3.0);
    cr_assert_eq(nsamples(snap, "g_liveall"), 1, "liveall: the live process only");
    char live[32];
    snprintf(live, sizeof live, "pid=%d", (int)pids[2]);
    const char *lp[] = {live};
    cr_assert_eq(test_sample(snap, "g_liveall", 1, lp), 3.0);
    cr_assert_eq(value(snap, "g_livesum"), 3.0);
    cr_assert_eq(value(snap, "g_livemin"), 3.0);
    cr_assert_eq(value(snap, "g_livemax"), 3.0);
    cr_assert_eq(value(snap, "g_liverecent"), 3.0);
    shmetrics_snapshot_free(snap);
    shmetrics_process_t procs[8];
    size_t n;
    cr_assert_eq(shmetrics_processes(r, procs, 8, &n), 0);
    int alive = 0, dead = 0, exited = 0;
    for (size_t i = 0; i < n; i++) {
        alive += procs[i].alive;
        exited += procs[i].exited;
        dead += !procs[i].alive && !procs[i].exited;
    }
    cr_assert(n == 3 && alive == 1 && dead == 1 && exited == 1, "%zu: %d alive %d dead %d exited", n, alive, dead,
              exited);

    /* A writer that attaches reclaims the dead slot: values stay. */
    shmetrics_registry_t *w = open_rw(path, 8);
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(value(snap, "g_sum"), 9.0, "the dead process's value was folded, not lost");
    cr_assert_eq(value(snap, "g_max"), 5.0);
    cr_assert_eq(nsamples(snap, "g_all"), 3, "mode all keeps exited processes' samples");
    cr_assert_eq(value(snap, "g_livesum"), 3.0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(shmetrics_processes(r, procs, 8, &n), 0);
    dead = 0;
    for (size_t i = 0; i < n; i++)
        dead += !procs[i].alive && !procs[i].exited;
    cr_assert_eq(dead, 0, "no dead slot after a writer attached");

    /* The last process exits: live modes have nobody left. */
    close(hold[1]);
    test_wait_all(&pids[2], 1);
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(nsamples(snap, "g_livesum"), 0);
    cr_assert_eq(nsamples(snap, "g_liveall"), 0);
    cr_assert_eq(value(snap, "g_sum"), 9.0);
    cr_assert_eq(value(snap, "g_recent"), 3.0);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(w, 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(lifecycle, a_reused_pid_is_not_the_same_process)
{
    const char *path = test_arena_path("pidreuse");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "g", .help = "h", .gauge_mode = SHMETRICS_MODE_LIVESUM};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(r, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    shmetrics_process_t p;
    size_t n;
    cr_assert_eq(shmetrics_processes(r, &p, 1, &n), 0);
    cr_assert(n == 1 && p.alive && p.pid == (uint32_t)getpid());
    struct shm_proc_view v = {.slot = p.slot, .state = 2, .pid = p.pid, .start_time = p.start_time};
    cr_assert(shm_proc_alive(&v));
    v.start_time = p.start_time + 1; /* the same pid, started at another time */
    cr_assert(!shm_proc_alive(&v));
    v.start_time = p.start_time;
    v.pid = 0x7ffffff0u; /* no such process */
    cr_assert(!shm_proc_alive(&v));
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------------------- thousands of short lives */

#if SANITIZED
#define LIVES 1000
#else
#define LIVES 5000
#endif

Test(lifecycle, five_thousand_short_lived_workers_in_64_slots, .timeout = 600)
{
    const char *path = test_arena_path("lives");
    shmetrics_registry_t *r = open_rw(path, 64);
    unsigned kills = 0;
    for (int i = 0; i < LIVES; i++) {
        int done[2];
        cr_assert_eq(pipe(done), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(done[0]);
            shmetrics_registry_t *w = open_rw(path, 64);
            shmetrics_spec_t cs = {.name = "lives_total", .help = "h"};
            shmetrics_spec_t hs = {.name = "life_seconds", .help = "h"};
            shmetrics_counter_t *c;
            shmetrics_counter_series_t *cser;
            shmetrics_histogram_t *h;
            shmetrics_histogram_series_t *hser;
            if (shmetrics_counter_register(w, &cs, &c) < 0 || shmetrics_counter_labels(c, &cser, NULL) < 0 ||
                shmetrics_histogram_register(w, &hs, &h) < 0 || shmetrics_histogram_labels(h, &hser, NULL) < 0)
                _exit(13);
            shmetrics_counter_add(cser, 1);
            shmetrics_histogram_observe(hser, (i % 10) * 0.1);
            for (int m = 0; m < 10; m++) {
                char name[32];
                snprintf(name, sizeof name, "g_%s", mode_names[m]);
                shmetrics_spec_t gs = {.name = name, .help = "h", .gauge_mode = (shmetrics_gauge_mode_t)m};
                shmetrics_gauge_t *g;
                shmetrics_gauge_series_t *s;
                double v = m == 1 || m == 6 ? 1 : i; /* sums count lives; the others see i */
                if (shmetrics_gauge_register(w, &gs, &g) < 0 || shmetrics_gauge_labels(g, &s, NULL) < 0 ||
                    shmetrics_gauge_set(s, v) < 0) {
                    fprintf(stderr, "life %d: %s\n", i, shmetrics_errmsg());
                    _exit(14);
                }
            }
            if (write(done[1], "x", 1) != 1)
                _exit(15);
            if (i % 7 == 3)
                pause(); /* to be SIGKILLed: no detach */
            shmetrics_shutdown(w, 0);
            _exit(0);
        }
        close(done[1]);
        char ch;
        cr_assert_eq(read(done[0], &ch, 1), 1, "life %d did not write", i);
        close(done[0]);
        if (i % 7 == 3) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            kills++;
        } else {
            test_wait_all(&pid, 1);
        }
    }
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(value(snap, "lives"), (double)LIVES);
    cr_assert_eq(value(snap, "g_sum"), (double)LIVES, "every life's 1 kept: %g", value(snap, "g_sum"));
    cr_assert_eq(value(snap, "g_max"), (double)(LIVES - 1));
    cr_assert_eq(value(snap, "g_min"), 0.0);
    cr_assert_eq(value(snap, "g_recent"), (double)(LIVES - 1));
    cr_assert_leq(nsamples(snap, "g_all"), 64, "mode all: at most one sample per slot");
    cr_assert_geq(nsamples(snap, "g_all"), 1);
    cr_assert_eq(nsamples(snap, "g_livesum"), 0, "nobody is alive");
    const char *inf[] = {"le=+Inf"};
    cr_assert_eq(test_sample(snap, "life_seconds", 1, inf), (double)LIVES);
    cr_assert_eq(snap->damaged, 0);
    shmetrics_snapshot_free(snap);
    shmetrics_arena_info_t in;
    shmetrics_arena_info(r, &in);
    cr_assert_eq(in.refused, 0, "no process was refused a slot");
    cr_assert_geq(in.reclaimed, (uint64_t)LIVES - 64, "%llu slots reclaimed", (unsigned long long)in.reclaimed);
    size_t n;
    cr_assert_eq(shmetrics_processes(r, NULL, 0, &n), 0);
    cr_assert_leq(n, 64);
    cr_assert_gt(kills, 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ---------------------------------------------------------- chaos */

#if SANITIZED
#define CHAOS_SECONDS 6
#else
#define CHAOS_SECONDS 20
#endif
#define WORKERS 8

/* One update: a counter, a histogram and a summary observation, a gauge
 * set; then one byte on the pipe says it is complete. */
static void chaos_worker(const char *path, int id, int out)
{
    shmetrics_registry_t *w = open_rw(path, 64);
    char who[16];
    snprintf(who, sizeof who, "w%d", id % 4);
    const char *lbl[] = {"worker"};
    shmetrics_spec_t cs = {.name = "chaos_total", .help = "Updates.", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t hs = {.name = "chaos_seconds", .help = "Latency.", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t ss = {.name = "chaos_ttft_seconds", .help = "TTFT."};
    shmetrics_spec_t gs = {.name = "chaos_busy", .help = "Busy.", .gauge_mode = SHMETRICS_MODE_LIVESUM};
    shmetrics_counter_t *c;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *sm;
    shmetrics_gauge_t *g;
    shmetrics_counter_series_t *cs_s;
    shmetrics_histogram_series_t *h_s;
    shmetrics_summary_series_t *s_s;
    shmetrics_gauge_series_t *g_s;
    if (shmetrics_counter_register(w, &cs, &c) < 0 || shmetrics_histogram_register(w, &hs, &h) < 0 ||
        shmetrics_summary_register(w, &ss, &sm) < 0 || shmetrics_gauge_register(w, &gs, &g) < 0 ||
        shmetrics_counter_labels(c, &cs_s, who, NULL) < 0 || shmetrics_histogram_labels(h, &h_s, who, NULL) < 0 ||
        shmetrics_summary_labels(sm, &s_s, NULL) < 0 || shmetrics_gauge_labels(g, &g_s, NULL) < 0)
        _exit(16);
    shmetrics_gauge_set(g_s, 1);
    for (unsigned long i = 0;; i++) {
        shmetrics_counter_add(cs_s, 1);
        shmetrics_histogram_observe(h_s, (double)(i % 5) * 0.01);
        shmetrics_summary_observe(s_s, 0.25);
        if (write(out, "u", 1) != 1)
            _exit(17);
    }
}

struct scraper {
    shmetrics_registry_t *r;
    volatile int stop;
    unsigned long scrapes;
    int backwards;
    double last;
};

static double total(const shmetrics_snapshot_t *snap)
{
    const shmetrics_family_t *f = test_family(snap, "chaos");
    double t = 0;
    for (size_t i = 0; f && i < f->nsamples; i++)
        t += f->samples[i].value;
    return t;
}

static void *scrape_loop(void *p)
{
    struct scraper *s = p;
    while (!s->stop) {
        shmetrics_snapshot_t *snap;
        char *text;
        if (shmetrics_collect(s->r, &snap) < 0 || shmetrics_format_prometheus(snap, &text, NULL) < 0)
            continue;
        double t = total(snap);
        if (t < s->last)
            s->backwards++;
        s->last = t;
        s->scrapes++;
        free(text);
        shmetrics_snapshot_free(snap);
    }
    return NULL;
}

static void chaos(const char *tag, bool with_collector)
{
    const char *path = test_arena_path(tag);
    shmetrics_registry_t *r = open_rw(path, 64);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pid_t pids[WORKERS];
    int spawned = 0;
    for (int i = 0; i < WORKERS; i++, spawned++)
        if ((pids[i] = fork()) == 0)
            chaos_worker(path, spawned, fds[1]);
    struct scraper sc = {.r = r};
    pthread_t th;
    if (with_collector)
        pthread_create(&th, NULL, scrape_loop, &sc);
    unsigned seed = (unsigned)getpid();
    unsigned long reported = 0;
    unsigned kills = 0;
    char buf[65536];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        usleep(1000 + rand_r(&seed) % 20000);
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            reported += (unsigned long)n;
        int victim = (int)(rand_r(&seed) % WORKERS);
        kill(pids[victim], SIGKILL);
        cr_assert_eq(waitpid(pids[victim], NULL, 0), pids[victim]);
        kills++;
        if ((pids[victim] = fork()) == 0)
            chaos_worker(path, spawned, fds[1]);
        spawned++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < CHAOS_SECONDS);
    for (int i = 0; i < WORKERS; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        kills++;
    }
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        reported += (unsigned long)n;
    if (with_collector) {
        sc.stop = 1;
        pthread_join(th, NULL);
        cr_assert_gt(sc.scrapes, 0);
        cr_assert_eq(sc.backwards, 0, "a counter went backwards in %d of %lu scrapes", sc.backwards, sc.scrapes);
    }

    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    double written = total(snap);
    cr_assert_geq(written, (double)reported, "%.0f written, %lu reported", written, reported);
    cr_assert_leq(written, (double)(reported + kills), "%.0f written, %lu reported, %u kills", written, reported,
                  kills);
    double hcount = 0;
    const shmetrics_family_t *hf = test_family(snap, "chaos_seconds");
    for (size_t i = 0; hf && i < hf->nsamples; i++)
        if (strcmp(hf->samples[i].suffix, "_count") == 0)
            hcount += hf->samples[i].value;
    cr_assert(hcount >= (double)reported && hcount <= (double)(reported + kills), "histogram count %.0f", hcount);
    cr_assert_eq(snap->damaged, 0, "no damaged record");
    cr_assert_eq(nsamples(snap, "chaos_busy"), 0, "every worker is dead: livesum has nobody");
    cr_assert_eq(shmetrics_format_prometheus(snap, &text, NULL), 0);
    char file[300];
    snprintf(file, sizeof file, "%s.prom", path);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > /dev/null 2>&1", file);
    cr_assert_eq(system(cmd), 0, "promtool rejects the dump after chaos");
    unlink(file);
    free(text);
    shmetrics_snapshot_free(snap);
    printf("# chaos%s: %u kills, %lu updates reported, %.0f counted, %lu scrapes\n",
           with_collector ? " with a collector" : "", kills, reported, written, sc.scrapes);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(lifecycle, chaos_random_sigkills, .timeout = 300)
{
    chaos("chaos", false);
}

Test(lifecycle, chaos_random_sigkills_while_scraping, .timeout = 300)
{
    chaos("chaos2", true);
}

/* ---------------------------------------------------------- removal */

Test(lifecycle, remove_and_clear_series, .timeout = 60)
{
    const char *path = test_arena_path("remove");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    const char *lbl[] = {"route"};
    shmetrics_spec_t spec = {.name = "hits_total", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *a, *b, *again;
    cr_assert_eq(shmetrics_counter_register(r, &spec, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &a, "/a", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &b, "/b", NULL), 0);
    shmetrics_counter_add(a, 5);
    shmetrics_counter_add(b, 7);
    shmetrics_arena_info_t before, after;
    shmetrics_arena_info(r, &before);

    cr_assert_eq(shmetrics_counter_remove(c, "/a", NULL), 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const char *pa[] = {"route=/a"}, *pb[] = {"route=/b"};
    cr_assert(isnan(test_sample(snap, "hits", 1, pa)), "removed: gone from the exposition");
    cr_assert_eq(test_sample(snap, "hits", 1, pb), 7.0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(shmetrics_counter_remove(c, "/a", NULL), -ENOENT);
    cr_assert(strstr(shmetrics_errmsg(), "hits has no such label set"), "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_remove(c, "/zzz", NULL), -ENOENT);
    cr_assert_eq(shmetrics_counter_remove(c, NULL), -EINVAL);

    /* Another process registers /a again: back at 0, in the same cells. */
    pid_t pid = fork();
    if (pid == 0) {
        shmetrics_options_t o = {.path = path};
        shmetrics_registry_t *w;
        shmetrics_counter_t *wc;
        shmetrics_counter_series_t *ws;
        if (shmetrics_open(&o, &w) < 0 || shmetrics_counter_register(w, &spec, &wc) < 0 ||
            shmetrics_counter_labels(wc, &ws, "/a", NULL) < 0)
            _exit(1);
        shmetrics_counter_add(ws, 2);
        _exit(0);
    }
    test_wait_all(&pid, 1);
    cr_assert_eq(shmetrics_counter_sum(a), 2.0, "the old handle sees the revived series");
    cr_assert_eq(shmetrics_counter_labels(c, &again, "/a", NULL), 0);
    cr_assert_eq(again, a);
    shmetrics_arena_info(r, &after);
    cr_assert_eq(after.series_used, before.series_used, "no new record");
    cr_assert_eq(after.cells_used, before.cells_used, "no new cells: they were reused");

    /* This process's cached handle brings a removed series back too. */
    cr_assert_eq(shmetrics_counter_remove(c, "/b", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &b, "/b", NULL), 0);
    shmetrics_counter_add(b, 1);
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(test_sample(snap, "hits", 1, pb), 1.0);
    shmetrics_snapshot_free(snap);

    /* Clear: every label set of the metric. */
    cr_assert_eq(shmetrics_counter_clear(c), 0);
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(nsamples(snap, "hits"), 0);
    shmetrics_snapshot_free(snap);
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *gs;
    shmetrics_spec_t gspec = {.name = "temp",
                              .help = "h",
                              .label_names = lbl,
                              .nlabels = 1,
                              .gauge_mode = SHMETRICS_MODE_SUM};
    cr_assert_eq(shmetrics_gauge_register(r, &gspec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gs, "/x", NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(gs, 4), 0);
    cr_assert_eq(shmetrics_gauge_remove(g, "/x", NULL), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gs, "/x", NULL), 0);
    cr_assert_eq(shmetrics_gauge_local(gs), 0.0, "a revived gauge starts at 0");
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(lifecycle, a_recreated_arena_is_noticed)
{
    const char *path = test_arena_path("regen");
    shmetrics_registry_t *w = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    cr_assert_eq(shmetrics_arena_replaced(r), 0);
    cr_assert_eq(shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK), 0);
    cr_assert_eq(shmetrics_arena_replaced(r), 0, "unlinked, not yet re-created: keep it");
    w = test_open(path, SHMETRICS_OPEN_CREATE);
    cr_assert_eq(shmetrics_arena_replaced(r), 1, "re-created: another generation");
    shmetrics_arena_info_t a, b;
    shmetrics_arena_info(r, &a);
    shmetrics_arena_info(w, &b);
    cr_assert_neq(a.generation, b.generation);
    shmetrics_shutdown(r, 0);
    shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(lifecycle, a_freed_slot_carries_nothing_to_its_next_owner, .timeout = 60)
{
    const char *path = test_arena_path("stale");
    shmetrics_registry_t *r = open_rw(path, 1);
    const char *lbl[] = {"x"};
    shmetrics_spec_t spec = {.name = "h",
                             .help = "h",
                             .label_names = lbl,
                             .nlabels = 1,
                             .gauge_mode = SHMETRICS_MODE_MAX};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(r, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, "a", NULL), 0);
    cr_assert_eq(shmetrics_gauge_remove(g, "a", NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, -7), 0); /* through the old handle, into the hidden series */
    cr_assert_eq(shmetrics_shutdown(r, 0), 0);
    pid_t pid = fork();
    if (pid == 0) {
        shmetrics_registry_t *w = open_rw(path, 1);
        shmetrics_gauge_t *wg;
        shmetrics_gauge_series_t *ws;
        if (shmetrics_gauge_register(w, &spec, &wg) < 0 || shmetrics_gauge_labels(wg, &ws, "a", NULL) < 0)
            _exit(1);
        _exit(shmetrics_gauge_local(ws) == 0.0 ? 0 : 2);
    }
    test_wait_all(&pid, 1);
    shmetrics_registry_t *ro = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(ro, &snap), 0);
    const char *pa[] = {"x=a"};
    cr_assert_eq(test_sample(snap, "h", 1, pa), 0.0, "the revived series reads 0, not the -7 left in the old slot");
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(ro, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(lifecycle, one_sample_per_pid_in_mode_all, .timeout = 60)
{
    const char *path = test_arena_path("twice");
    shmetrics_spec_t spec = {.name = "g", .help = "h", .gauge_mode = SHMETRICS_MODE_ALL};
    for (int round = 1; round <= 2; round++) {
        shmetrics_registry_t *r = open_rw(path, 8);
        shmetrics_gauge_t *g;
        shmetrics_gauge_series_t *s;
        cr_assert_eq(shmetrics_gauge_register(r, &spec, &g), 0);
        cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
        cr_assert_eq(shmetrics_gauge_set(s, round), 0);
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(r, &snap), 0);
        cr_assert_eq(nsamples(snap, "g"), 1, "round %d: this process once, not once per slot", round);
        const shmetrics_family_t *f = test_family(snap, "g");
        cr_assert_eq(f->samples[0].value, (double)round, "the newer slot's value");
        shmetrics_snapshot_free(snap);
        shmetrics_shutdown(r, 0);
    }
    unlink(path);
}
