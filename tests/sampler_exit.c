/* SPDX-License-Identifier: MIT */
/*
 * tests/sampler_exit.c - sampled counts are exact however a process ends:
 * for each way out (return from main, exit(), exit() from another thread,
 * shutdown then return, shutdown then _exit, threads that exited, threads
 * still blocked at exit or at shutdown, threads counting on another
 * registry's samplers (in the same slots) during the shutdown, pthread_exit of main (and then
 * _exit once every thread is gone), the
 * SHMETRICS_ARENA registry, a forked child, SIGKILL) a child process (this
 * program again, with the case's name) counts 15 and 1,234 calls on the main
 * thread and 1,234 on each of three other threads, at rates 0.1 and 0.01,
 * then leaves that way; the parent then opens the arena and asserts the
 * exact total of each series.
 *
 * A plain program rather than a Criterion suite, so that it runs under
 * ThreadSanitizer too (tests/stress_threads.c says why); it reports like
 * the other suites and exits non-zero on any failed check.
 *
 *   sampler_exit              every case
 *   sampler_exit CASE PATH    one child: the case, on the arena at PATH
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmetrics.h"

#define THREADS 3
#define N_SMALL 15u  /* main thread, rate 0.1: 5 pending */
#define N_LARGE 1234 /* main thread and each other thread: 4 pending at 0.1, 34 at 0.01 */
#define AFTER 100    /* calls after the shutdown, which count nowhere */

static int passed, failed;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (cond) {                                              \
            passed++;                                            \
        } else {                                                 \
            failed++;                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
        }                                                        \
    } while (0)

/* The series of the family exit_sampled, by label s. */
enum { MAIN_SMALL, MAIN_LARGE, THREAD_10, THREAD_100, NSERIES };
static const char *const series_names[NSERIES] = {"main_small", "main_large", "thread_10", "thread_100"};

/* ------------------------------------------------------------------ child */

static shmetrics_registry_t *reg;
static shmetrics_sampler_t samplers[NSERIES];
static sem_t counted, go;

static void die(const char *what)
{
    fprintf(stderr, "child: %s: %s\n", what, shmetrics_errmsg());
    _exit(10);
}

static void setup(const char *path, int use_default)
{
    if (use_default) {
        if (setenv("SHMETRICS_ARENA", path, 1) < 0 || !(reg = shmetrics_default()))
            die("default registry");
    } else {
        shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
        if (shmetrics_open(&o, &reg) < 0)
            die("open");
    }
    static const char *const lbl[] = {"s"};
    shmetrics_spec_t spec = {.name = "exit_sampled", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *m;
    if (shmetrics_counter_register(reg, &spec, &m) < 0)
        die("register");
    for (int i = 0; i < NSERIES; i++) {
        shmetrics_counter_series_t *s;
        if (shmetrics_counter_labels(m, &s, series_names[i], NULL) < 0 ||
            shmetrics_sampler_init(&samplers[i], s, i == THREAD_100 ? 0.01 : 0.1) < 0)
            die("series");
    }
    if (sem_init(&counted, 0, 0) < 0 || sem_init(&go, 0, 0) < 0)
        die("sem_init");
}

static void count(int which, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        shmetrics_sampler_inc(&samplers[which]);
}

static void count_main(void)
{
    count(MAIN_SMALL, N_SMALL);
    count(MAIN_LARGE, N_LARGE);
}

/* What the other threads do after counting. */
enum after { RETURN, BLOCK, AFTER_SHUTDOWN, EXIT };

static void *worker(void *arg)
{
    enum after what = (enum after)(intptr_t)arg;
    count(THREAD_10, N_LARGE);
    count(THREAD_100, N_LARGE);
    if (what == EXIT)
        exit(0); /* while main waits in pthread_join */
    if (what == RETURN)
        return NULL;
    sem_post(&counted);
    sem_wait(&go); /* BLOCK: never posted, the process ends meanwhile */
    count(THREAD_10, AFTER);
    count(THREAD_100, AFTER);
    return NULL;
}

/* Another registry whose samplers the threads keep counting on while the
 * first is shut down: 64 samplers, so that they take every slot of a
 * thread (the one of the first registry's samplers too) or share one. */
#define OTHERS 64
static shmetrics_registry_t *other;
static shmetrics_counter_series_t *other_series[OTHERS];
static shmetrics_sampler_t other_samplers[OTHERS];
static int stop_others;

static void setup_other(const char *path)
{
    char p[300];
    snprintf(p, sizeof p, "%s.other", path);
    shmetrics_options_t o = {.path = p, .flags = SHMETRICS_OPEN_CREATE};
    static const char *const lbl[] = {"s"};
    shmetrics_spec_t spec = {.name = "other_sampled", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *m;
    if (shmetrics_open(&o, &other) < 0 || unlink(p) < 0 || shmetrics_counter_register(other, &spec, &m) < 0)
        die("other registry");
    for (int i = 0; i < OTHERS; i++) {
        char v[16];
        snprintf(v, sizeof v, "o%d", i);
        if (shmetrics_counter_labels(m, &other_series[i], v, NULL) < 0 ||
            shmetrics_sampler_init(&other_samplers[i], other_series[i], 0.1) < 0)
            die("other series");
    }
}

/* Counts on the other registry until told to stop: the rounds done. */
static void *other_worker(void *arg)
{
    (void)arg;
    count(THREAD_10, N_LARGE);
    count(THREAD_100, N_LARGE);
    sem_post(&counted);
    uintptr_t rounds = 0;
    while (!__atomic_load_n(&stop_others, __ATOMIC_RELAXED) || rounds < 1000) {
        for (int i = 0; i < OTHERS; i++)
            shmetrics_sampler_inc(&other_samplers[i]);
        rounds++;
    }
    return (void *)rounds;
}

static void start(pthread_t *th, int n, enum after what, int detach)
{
    for (int i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)what) != 0)
            die("pthread_create");
        if (detach)
            pthread_detach(th[i]);
    }
}

static void wait_counted(int n)
{
    for (int i = 0; i < n; i++)
        while (sem_wait(&counted) < 0 && errno == EINTR)
            ;
}

/* Whether the main thread has exited: its task is a zombie while other
 * threads run.  (Not pthread_join: ThreadSanitizer cannot join main.) */
static int main_gone(void)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Waits for main (after its pthread_exit) and joins the threads, then
 * ends the process with no exit handler: the thread-exit flushes alone
 * count. */
static void *closer(void *arg)
{
    pthread_t *th = arg;
    for (int i = 0; !main_gone(); i++) {
        if (i == 10000)
            die("the main thread did not exit");
        usleep(1000);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    _exit(0);
}

static void nested_exit(void)
{
    exit(0);
}

static int child(const char *name, const char *path)
{
    pthread_t th[THREADS];
    setup(path, strcmp(name, "default_registry") == 0);
    count_main();
    if (strcmp(name, "return") == 0 || strcmp(name, "default_registry") == 0)
        return 0;
    if (strcmp(name, "exit") == 0)
        nested_exit();
    if (strcmp(name, "exit_from_thread") == 0) {
        start(th, 1, EXIT, 0);
        pthread_join(th[0], NULL); /* the thread's exit() ends the process */
        return 20;
    }
    if (strcmp(name, "shutdown_return") == 0 || strcmp(name, "shutdown_exit_now") == 0) {
        if (shmetrics_shutdown(reg, 0) < 0)
            die("shutdown");
        count(MAIN_SMALL, AFTER); /* a shut-down registry: counted nowhere */
        count(MAIN_LARGE, AFTER);
        if (strcmp(name, "shutdown_exit_now") == 0)
            _exit(0); /* no exit handler runs: the shutdown added everything */
        return 0;
    }
    if (strcmp(name, "threads_joined") == 0) {
        start(th, THREADS, RETURN, 0);
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        return 0;
    }
    if (strcmp(name, "threads_blocked_at_exit") == 0) {
        start(th, THREADS, BLOCK, 1);
        wait_counted(THREADS);
        exit(0);
    }
    if (strcmp(name, "threads_blocked_at_shutdown") == 0) {
        start(th, THREADS, AFTER_SHUTDOWN, 0);
        wait_counted(THREADS);
        if (shmetrics_shutdown(reg, 0) < 0)
            die("shutdown");
        for (int i = 0; i < THREADS; i++)
            sem_post(&go); /* they count again, on the shut-down registry */
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        return 0;
    }
    if (strcmp(name, "shutdown_while_others_count") == 0) {
        setup_other(path);
        for (int i = 0; i < THREADS; i++)
            if (pthread_create(&th[i], NULL, other_worker, NULL) != 0)
                die("pthread_create");
        wait_counted(THREADS);
        if (shmetrics_shutdown(reg, 0) < 0)
            die("shutdown");
        __atomic_store_n(&stop_others, 1, __ATOMIC_RELAXED);
        uint64_t rounds = 0;
        for (int i = 0; i < THREADS; i++) {
            void *r;
            pthread_join(th[i], &r);
            rounds += (uintptr_t)r;
        }
        /* The threads exited: the other registry has every call. */
        for (int i = 0; i < OTHERS; i++)
            if (shmetrics_counter_sum(other_series[i]) != (double)rounds) {
                fprintf(stderr, "child: o%d reads %.0f, not %llu\n", i, shmetrics_counter_sum(other_series[i]),
                        (unsigned long long)rounds);
                return 3;
            }
        return 0;
    }
    if (strcmp(name, "pthread_exit_main") == 0) {
        start(th, THREADS, RETURN, 1);
        pthread_exit(NULL); /* the process ends when the last thread does */
    }
    if (strcmp(name, "pthread_exit_main_then_exit_now") == 0) {
        start(th, THREADS, RETURN, 0);
        pthread_t c;
        if (pthread_create(&c, NULL, closer, th) != 0)
            die("pthread_create");
        pthread_exit(NULL);
    }
    if (strcmp(name, "fork") == 0) {
        /* The child's copy of the slots holds the parent's 5 + 4 pending
         * calls: they must be added once, by the parent. */
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            count(MAIN_SMALL, 7);
            count(MAIN_LARGE, 3);
            nested_exit();
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("forked child");
        return 0;
    }
    if (strcmp(name, "sigkill") == 0) {
        start(th, THREADS, BLOCK, 1);
        wait_counted(THREADS);
        raise(SIGKILL);
    }
    fprintf(stderr, "child: no case %s\n", name);
    return 2;
}

/* ----------------------------------------------------------------- parent */

struct exit_case {
    const char *name;
    int signal; /* the child's end: killed by this signal, 0: exit status 0 */
    double want[NSERIES];
};

#define T10 ((double)THREADS * N_LARGE)
static const struct exit_case cases[] = {
    {"return", 0, {N_SMALL, N_LARGE, 0, 0}},
    {"exit", 0, {N_SMALL, N_LARGE, 0, 0}},
    {"exit_from_thread", 0, {N_SMALL, N_LARGE, N_LARGE, N_LARGE}},
    {"shutdown_return", 0, {N_SMALL, N_LARGE, 0, 0}},
    {"shutdown_exit_now", 0, {N_SMALL, N_LARGE, 0, 0}},
    {"threads_joined", 0, {N_SMALL, N_LARGE, T10, T10}},
    {"threads_blocked_at_exit", 0, {N_SMALL, N_LARGE, T10, T10}},
    {"threads_blocked_at_shutdown", 0, {N_SMALL, N_LARGE, T10, T10}},
    {"shutdown_while_others_count", 0, {N_SMALL, N_LARGE, T10, T10}},
#if !defined(__SANITIZE_THREAD__)
    /* Not under ThreadSanitizer: its own thread never exits, so neither
     * would the process. */
    {"pthread_exit_main", 0, {N_SMALL, N_LARGE, T10, T10}},
#endif
    {"pthread_exit_main_then_exit_now", 0, {N_SMALL, N_LARGE, T10, T10}},
    {"default_registry", 0, {N_SMALL, N_LARGE, 0, 0}},
    {"fork", 0, {N_SMALL + 7, N_LARGE + 3, 0, 0}},
    /* No exit path runs: each thread loses what it had pending on each
     * sampler, less than `every`: 5 and 4 on the main thread, 4 and 34 on
     * each other thread. */
    {"sigkill", SIGKILL, {10, 1230, THREADS * 1230.0, THREADS * 1200.0}},
};

/* The value of exit_sampled_total{s="`series`"}, -1 if there is none. */
static double sample(const shmetrics_snapshot_t *snap, const char *series)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        for (size_t j = 0; strcmp(f->name, "exit_sampled") == 0 && j < f->nsamples; j++)
            if (strcmp(f->samples[j].suffix, "_total") == 0 && f->samples[j].nlabels == 1 &&
                strcmp(f->samples[j].labels[0].value, series) == 0)
                return f->samples[j].value;
    }
    return -1;
}

static void run_case(const struct exit_case *c, const char *self)
{
    int failed_before = failed;
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-test-sampler-exit-%d-%s", (int)getpid(), c->name);
    unlink(path);
    pid_t pid = fork();
    if (pid < 0) {
        CHECK(0, "%s: fork: %s", c->name, strerror(errno));
        return;
    }
    if (pid == 0) {
        execl(self, self, c->name, path, (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "%s: waitpid", c->name);
    if (c->signal)
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == c->signal, "%s: the child ended with status 0x%x", c->name, st);
    else
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the child ended with status 0x%x", c->name, st);

    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_READONLY};
    shmetrics_registry_t *r;
    shmetrics_snapshot_t *snap;
    if (shmetrics_open(&o, &r) < 0) {
        CHECK(0, "%s: opening the arena: %s", c->name, shmetrics_errmsg());
        unlink(path);
        return;
    }
    if (shmetrics_collect(r, &snap) < 0) {
        CHECK(0, "%s: reading the arena: %s", c->name, shmetrics_errmsg());
        snap = NULL;
    }
    for (int i = 0; snap && i < NSERIES; i++) {
        double v = sample(snap, series_names[i]);
        CHECK(v == c->want[i], "%s: %s reads %.0f, not %.0f", c->name, series_names[i], v, c->want[i]);
    }
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, 0);
    unlink(path);
    printf("%s %s\n", failed == failed_before ? "ok" : "FAILED", c->name);
}

int main(int argc, char **argv)
{
    if (argc == 3)
        return child(argv[1], argv[2]);
    /* The child is this program, found again through /proc: argv[0] may
     * be a bare name. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    self[n] = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], self);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
