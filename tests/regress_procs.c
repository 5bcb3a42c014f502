/* SPDX-License-Identifier: MIT */
/*
 * tests/regress_procs.c - many processes and threads on one arena: exact
 * counts under contention, concurrent registration, gauge merge modes
 * across processes, fork, and processes SIGKILLed mid-registration.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "common.h"

#if SANITIZED
#define ITER 100000ull
#else
#define ITER 1000000ull
#endif
#define PROCS 4
#define THREADS 4

/* ---------------------------------------------- one hot labelled counter */

struct hot_arg {
    shmetrics_counter_t *c;
    int thread;
    int failed;
};

static void *hot_thread(void *p)
{
    struct hot_arg *a = p;
    shmetrics_counter_series_t *s;
    if (shmetrics_counter_labels(a->c, &s, "decode", "llama", NULL) < 0) {
        a->failed = 1;
        return NULL;
    }
    /* Half the threads take the integer API, half the double one. */
    for (uint64_t i = 0; i < ITER; i++) {
        if (a->thread & 1)
            shmetrics_counter_add(s, 1);
        else if (shmetrics_counter_inc(s, 1.0) < 0)
            a->failed = 1;
    }
    return NULL;
}

Test(threads, hot_counter_exact_across_processes_and_threads, .timeout = 300)
{
    const char *path = test_arena_path("hot");
    struct test_gate gate;
    test_gate_init(&gate);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            test_gate_wait(&gate);
            shmetrics_registry_t *r = test_worker_open(path);
            const char *lbl[] = {"phase", "model"};
            shmetrics_spec_t spec = {.name = "tokens_total", .help = "Tokens", .label_names = lbl, .nlabels = 2};
            shmetrics_counter_t *c;
            if (shmetrics_counter_register(r, &spec, &c) < 0)
                _exit(11);
            pthread_t th[THREADS];
            struct hot_arg args[THREADS];
            for (int t = 0; t < THREADS; t++) {
                args[t] = (struct hot_arg){c, t, 0};
                pthread_create(&th[t], NULL, hot_thread, &args[t]);
            }
            int failed = 0;
            for (int t = 0; t < THREADS; t++) {
                pthread_join(th[t], NULL);
                failed |= args[t].failed;
            }
            shmetrics_shutdown(r, 0);
            _exit(failed ? 12 : 0);
        }
    }
    test_gate_open(&gate);
    test_wait_all(pids, PROCS);

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const char *want[] = {"phase=decode", "model=llama"};
    cr_assert_eq(test_sample(snap, "tokens", 2, want), (double)(PROCS * THREADS * ITER));
    cr_assert_eq(shmetrics_format_prometheus(snap, &text, NULL), 0);
    char line[128];
    snprintf(line, sizeof line, "tokens_total{phase=\"decode\",model=\"llama\"} %llu\n",
             (unsigned long long)(PROCS * THREADS * ITER));
    cr_assert(strstr(text, line), "dump lacks %s:\n%s", line, text);
    free(text);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------------- 64 label sets registered at once */

#define SETS 64
#define PER_SET 1000

struct sets_arg {
    shmetrics_counter_t *c;
    unsigned seed;
    int failed;
};

static void *sets_thread(void *p)
{
    struct sets_arg *a = p;
    int order[SETS];
    for (int i = 0; i < SETS; i++)
        order[i] = i;
    for (int i = SETS - 1; i > 0; i--) {
        int j = (int)(rand_r(&a->seed) % (unsigned)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    shmetrics_counter_series_t *s[SETS];
    for (int i = 0; i < SETS; i++) {
        char v[16];
        snprintf(v, sizeof v, "set%02d", order[i]);
        if (shmetrics_counter_labels(a->c, &s[i], v, NULL) < 0) {
            fprintf(stderr, "labels: %s\n", shmetrics_errmsg());
            a->failed = 1;
            return NULL;
        }
    }
    for (int k = 0; k < PER_SET; k++)
        for (int i = 0; i < SETS; i++)
            shmetrics_counter_add(s[i], 1);
    return NULL;
}

Test(threads, label_sets_registered_concurrently, .timeout = 300)
{
    const char *path = test_arena_path("sets");
    for (int round = 0; round < 5; round++) {
        unlink(path);
        struct test_gate gate;
        test_gate_init(&gate);
        pid_t pids[PROCS];
        for (int p = 0; p < PROCS; p++) {
            if ((pids[p] = fork()) == 0) {
                shmetrics_registry_t *r = test_worker_open(path);
                test_gate_wait(&gate);
                const char *lbl[] = {"set"};
                shmetrics_spec_t spec = {.name = "sets_total", .help = "h", .label_names = lbl, .nlabels = 1};
                shmetrics_counter_t *c;
                if (shmetrics_counter_register(r, &spec, &c) < 0) {
                    fprintf(stderr, "register: %s\n", shmetrics_errmsg());
                    _exit(11);
                }
                pthread_t th[THREADS];
                struct sets_arg args[THREADS];
                for (int t = 0; t < THREADS; t++) {
                    args[t] = (struct sets_arg){c, (unsigned)(p * 100 + t + round * 7), 0};
                    pthread_create(&th[t], NULL, sets_thread, &args[t]);
                }
                int failed = 0;
                for (int t = 0; t < THREADS; t++) {
                    pthread_join(th[t], NULL);
                    failed |= args[t].failed;
                }
                _exit(failed ? 12 : 0);
            }
        }
        /* Give every worker time to attach, then start them together. */
        usleep(100000);
        test_gate_open(&gate);
        test_wait_all(pids, PROCS);

        shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(r, &snap), 0);
        const shmetrics_family_t *f = test_family(snap, "sets");
        cr_assert_not_null(f);
        cr_assert_eq(f->nsamples, SETS, "round %d: %zu series", round, f->nsamples);
        for (int i = 0; i < SETS; i++) {
            char pair[32];
            snprintf(pair, sizeof pair, "set=set%02d", i);
            const char *want[] = {pair};
            cr_assert_eq(test_sample(snap, "sets", 1, want), (double)(PROCS * THREADS * PER_SET), "round %d %s", round,
                         pair);
        }
        shmetrics_arena_info_t in;
        shmetrics_arena_info(r, &in);
        cr_assert_leq(in.families_used, 1 + PROCS);
        /* A record that loses a race is kept as its process's spare. */
        cr_assert_leq(in.series_used, SETS + PROCS, "round %d: %u records", round, in.series_used);
        cr_assert_eq(snap->damaged, 0);
        shmetrics_snapshot_free(snap);
        shmetrics_shutdown(r, 0);
    }
    unlink(path);
}

/* --------------------------------------------------- gauge merge modes */

Test(procs, gauge_modes_across_processes, .timeout = 60)
{
    const char *path = test_arena_path("modes");
    const double values[3] = {1, 5, 3};
    const char *names[5] = {"g_all", "g_sum", "g_min", "g_max", "g_recent"};
    pid_t pids[3];
    /* One process after the other, so that "most recent" is the third. */
    for (int p = 0; p < 3; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *r = test_worker_open(path);
            for (int m = 0; m < 5; m++) {
                const char *lbl[] = {"model"};
                shmetrics_spec_t spec = {.name = names[m],
                                         .help = "h",
                                         .label_names = lbl,
                                         .nlabels = 1,
                                         .gauge_mode = (shmetrics_gauge_mode_t)m};
                shmetrics_gauge_t *g;
                shmetrics_gauge_series_t *s;
                if (shmetrics_gauge_register(r, &spec, &g) < 0 || shmetrics_gauge_labels(g, &s, "m1", NULL) < 0 ||
                    shmetrics_gauge_set(s, values[p]) < 0)
                    _exit(11);
            }
            shmetrics_shutdown(r, 0);
            _exit(0);
        }
        test_wait_all(&pids[p], 1);
    }
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const char *m1[] = {"model=m1"};
    cr_assert_eq(test_sample(snap, "g_sum", 1, m1), 9.0);
    cr_assert_eq(test_sample(snap, "g_min", 1, m1), 1.0);
    cr_assert_eq(test_sample(snap, "g_max", 1, m1), 5.0);
    cr_assert_eq(test_sample(snap, "g_recent", 1, m1), 3.0);
    const shmetrics_family_t *all = test_family(snap, "g_all");
    cr_assert_eq(all->nsamples, 3);
    for (int p = 0; p < 3; p++) {
        char pid[32];
        snprintf(pid, sizeof pid, "pid=%d", (int)pids[p]);
        const char *want[] = {"model=m1", pid};
        cr_assert_eq(test_sample(snap, "g_all", 2, want), values[p], "%s", pid);
    }
    shmetrics_snapshot_free(snap);
    size_t n;
    shmetrics_process_t procs[8];
    cr_assert_eq(shmetrics_processes(r, procs, 8, &n), 0);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(procs[i].pid, (uint32_t)pids[i]);
        cr_assert_eq(procs[i].exited, 1);
        cr_assert_gt(procs[i].start_time, 0);
    }
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(procs, forked_child_writes_its_own_gauge_cell, .timeout = 60)
{
    const char *path = test_arena_path("fork");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "busy", .help = "h"};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(r, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, 1), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(shmetrics_gauge_set(s, 2) == 0 && shmetrics_gauge_local(s) == 2.0 ? 0 : 1);
    test_wait_all(&pid, 1);
    cr_assert_eq(shmetrics_gauge_local(s), 1.0, "the child did not write the parent's cell");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    char me[32], child[32];
    snprintf(me, sizeof me, "pid=%d", (int)getpid());
    snprintf(child, sizeof child, "pid=%d", (int)pid);
    const char *w1[] = {me}, *w2[] = {child};
    cr_assert_eq(test_sample(snap, "busy", 1, w1), 1.0);
    cr_assert_eq(test_sample(snap, "busy", 1, w2), 2.0);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ----------------------------------------- SIGKILL in the middle of it */

#define KEYS 200

Test(procs, sigkill_mid_registration_never_blocks, .timeout = 240)
{
    const char *path = test_arena_path("kill");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    unsigned seed = (unsigned)getpid();
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            shmetrics_registry_t *w = test_worker_open(path);
            for (unsigned i = 0;; i++) {
                char fam[32], val[32];
                snprintf(fam, sizeof fam, "fam%u_total", i % 7);
                snprintf(val, sizeof val, "k%u", (i * 7919u) % KEYS);
                const char *lbl[] = {"key"};
                shmetrics_spec_t spec = {.name = fam, .help = "h", .label_names = lbl, .nlabels = 1};
                shmetrics_counter_t *c;
                shmetrics_counter_series_t *s;
                if (shmetrics_counter_register(w, &spec, &c) == 0 && shmetrics_counter_labels(c, &s, val, NULL) == 0)
                    shmetrics_counter_add(s, 1);
            }
        }
        usleep(rand_r(&seed) % 3000);
        kill(pid, SIGKILL);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFSIGNALED(st));
    }
    /* Every key of every family can still be registered and counted. */
    for (int f = 0; f < 7; f++) {
        char fam[32];
        snprintf(fam, sizeof fam, "fam%d_total", f);
        const char *lbl[] = {"key"};
        shmetrics_spec_t spec = {.name = fam, .help = "h", .label_names = lbl, .nlabels = 1};
        shmetrics_counter_t *c;
        cr_assert_eq(shmetrics_counter_register(r, &spec, &c), 0, "%s", shmetrics_errmsg());
        for (int k = 0; k < KEYS; k++) {
            char val[32];
            snprintf(val, sizeof val, "k%d", k);
            shmetrics_counter_series_t *s;
            cr_assert_eq(shmetrics_counter_labels(c, &s, val, NULL), 0, "%s", shmetrics_errmsg());
            double before = shmetrics_counter_sum(s);
            shmetrics_counter_add(s, 1000000);
            cr_assert_eq(shmetrics_counter_sum(s), before + 1000000);
        }
    }
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(snap->damaged, 0);
    for (int f = 0; f < 7; f++) {
        char fam[32];
        snprintf(fam, sizeof fam, "fam%d", f);
        cr_assert_eq(test_family(snap, fam)->nsamples, KEYS);
    }
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------------- threads of one process registering */

struct reg_arg {
    shmetrics_registry_t *r;
    shmetrics_counter_t *out;
};

static void *reg_thread(void *p)
{
    struct reg_arg *a = p;
    shmetrics_spec_t spec = {.name = "same_total", .help = "h"};
    if (shmetrics_counter_register(a->r, &spec, &a->out) < 0)
        a->out = NULL;
    return NULL;
}

Test(threads, one_process_threads_get_one_metric)
{
    const char *path = test_arena_path("samereg");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    pthread_t th[8];
    struct reg_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct reg_arg){r, NULL};
        pthread_create(&th[i], NULL, reg_thread, &args[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(args[i].out, args[0].out);
    cr_assert_not_null(args[0].out);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}
