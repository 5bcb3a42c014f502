/* SPDX-License-Identifier: MIT */
/*
 * tests/common.h - helpers shared by the test programs: unique arena paths,
 * forking workers and collecting their exit status, reading one sample.
 */
#ifndef TESTS_COMMON_H
#define TESTS_COMMON_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmetrics.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* A fresh arena path under /dev/shm, removed before use. */
static inline const char *test_arena_path(const char *tag)
{
    static char path[256];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-test-%s-%d", tag, (int)getpid());
    unlink(path);
    return path;
}

static inline shmetrics_registry_t *test_open(const char *path, unsigned flags)
{
    shmetrics_options_t o = {.path = path, .flags = flags};
    shmetrics_registry_t *reg = NULL;
    int rc = shmetrics_open(&o, &reg);
    cr_assert_eq(rc, 0, "open %s: %d %s", path, rc, shmetrics_errmsg());
    return reg;
}

/* In a forked worker: open (creating) the arena at `path`, or print why
 * not and _exit(10). */
static inline shmetrics_registry_t *test_worker_open(const char *path)
{
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *r;
    if (shmetrics_open(&o, &r) < 0) {
        fprintf(stderr, "worker open %s: %s\n", path, shmetrics_errmsg());
        _exit(10);
    }
    return r;
}

/* Wait for `n` children; assert each exited 0. */
static inline void test_wait_all(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st = 0;
        cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed: status 0x%x", i, st);
    }
}

/* The value of the sample of `family` whose labels (and suffix) match the
 * given "name=value" pairs exactly; NAN if absent. */
static inline double test_sample(const shmetrics_snapshot_t *snap, const char *family, size_t n,
                                 const char *const *pairs)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        if (strcmp(f->name, family) != 0)
            continue;
        for (size_t j = 0; j < f->nsamples; j++) {
            const shmetrics_sample_t *s = &f->samples[j];
            if (s->nlabels != n)
                continue;
            size_t k = 0;
            for (; k < n; k++) {
                char buf[512];
                snprintf(buf, sizeof buf, "%s=%s", s->labels[k].name, s->labels[k].value);
                if (strcmp(buf, pairs[k]) != 0)
                    break;
            }
            if (k == n)
                return s->value;
        }
    }
    return __builtin_nan("");
}

static inline const shmetrics_family_t *test_family(const shmetrics_snapshot_t *snap, const char *name)
{
    for (size_t i = 0; i < snap->nfamilies; i++)
        if (strcmp(snap->families[i].name, name) == 0)
            return &snap->families[i];
    return NULL;
}

/* Start gate for forked workers: children block in test_gate_wait until the
 * parent calls test_gate_open, so they start at the same moment. */
struct test_gate {
    int fd[2];
};
static inline void test_gate_init(struct test_gate *g)
{
    cr_assert_eq(pipe(g->fd), 0);
}
static inline void test_gate_wait(struct test_gate *g)
{
    char c;
    close(g->fd[1]);
    while (read(g->fd[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(g->fd[0]);
}
static inline void test_gate_open(struct test_gate *g)
{
    close(g->fd[0]);
    close(g->fd[1]);
}

#endif
