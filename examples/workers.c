/* SPDX-License-Identifier: MIT */
/*
 * examples/workers.c - a small multi-process job: N worker processes (forked)
 * serve simulated requests, each updating labelled counters and a gauge in
 * one arena; the parent waits and leaves the arena for `shmetrics dump`.
 *
 * usage: workers ARENA [WORKERS] [REQUESTS_PER_WORKER]
 */
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int work(const char *arena, int id, long nreq)
{
    shmetrics_options_t opts = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&opts, &reg) < 0) {
        fprintf(stderr, "worker %d: %s\n", id, shmetrics_errmsg());
        return 1;
    }
    const char *labels[] = {"model", "status"};
    shmetrics_spec_t req = {.name = "requests_total",
                            .namespace_name = "demo",
                            .help = "Requests finished, by model and status.",
                            .label_names = labels,
                            .nlabels = 2};
    shmetrics_spec_t tok = {.name = "generated_tokens_total",
                            .namespace_name = "demo",
                            .help = "Tokens generated.",
                            .label_names = labels,
                            .nlabels = 1};
    shmetrics_spec_t run = {.name = "requests_running",
                            .namespace_name = "demo",
                            .help = "Requests in flight, per worker process.",
                            .gauge_mode = SHMETRICS_MODE_ALL};
    shmetrics_counter_t *requests, *tokens;
    shmetrics_gauge_t *running;
    shmetrics_counter_series_t *ok, *err, *tok_s;
    shmetrics_gauge_series_t *run_s;
    if (shmetrics_counter_register(reg, &req, &requests) < 0 || shmetrics_counter_register(reg, &tok, &tokens) < 0 ||
        shmetrics_gauge_register(reg, &run, &running) < 0 ||
        shmetrics_counter_labels(requests, &ok, "llama-3-8b", "ok", NULL) < 0 ||
        shmetrics_counter_labels(requests, &err, "llama-3-8b", "error", NULL) < 0 ||
        shmetrics_counter_labels(tokens, &tok_s, "llama-3-8b", NULL) < 0 ||
        shmetrics_gauge_labels(running, &run_s, NULL) < 0) {
        fprintf(stderr, "worker %d: %s\n", id, shmetrics_errmsg());
        return 1;
    }
    unsigned seed = (unsigned)getpid();
    for (long i = 0; i < nreq; i++) {
        shmetrics_gauge_inc(run_s, 1);
        shmetrics_counter_add(tok_s, 16 + rand_r(&seed) % 240);
        shmetrics_counter_add(rand_r(&seed) % 100 ? ok : err, 1);
        shmetrics_gauge_dec(run_s, 1);
    }
    shmetrics_gauge_set(run_s, id % 3);
    return shmetrics_shutdown(reg, 0) < 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: workers ARENA [WORKERS] [REQUESTS_PER_WORKER]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 4;
    long requests = argc > 3 ? atol(argv[3]) : 250000;
    if (n < 1 || n > 256 || requests < 0) {
        fprintf(stderr, "workers: 1..256 workers and a request count >= 0, please\n");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(work(argv[1], i, requests));
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    return failed;
}
