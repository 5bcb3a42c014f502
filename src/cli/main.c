/* SPDX-License-Identifier: MIT */
/*
 * src/cli/main.c - owns the shmetrics command's entry point: the verb
 * table, top-level --help and --version, and the helpers every verb uses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct verb *const verbs[] = {&verb_create, &verb_inc,  &verb_set,   &verb_observe, &verb_info,
                                           &verb_dump,   &verb_stat, &verb_serve, &verb_push,    &verb_reset,
                                           &verb_demo,   &verb_top,  &verb_bench};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void top_usage(FILE *f)
{
    fprintf(f, "usage: shmetrics VERB [OPTIONS] ...\n\n"
               "Lock-free shared-memory metrics: workers update an arena, a collector reads it.\n\n"
               "verbs:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(f, "  %-8s %s\n", verbs[i]->name, verbs[i]->summary);
    fprintf(f, "\n'shmetrics VERB --help' describes a verb.  The arena is --arena PATH, or the\n"
               "SHMETRICS_ARENA environment variable; a name without '/' lives in /dev/shm.\n"
               "Exit status: 0 success, 1 failure, 2 wrong usage.\n");
}

int cli_usage_error(const struct verb *v, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "shmetrics %s: ", v->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", v->usage);
    return EXIT_USAGE;
}

int cli_fail(const char *what, int rc)
{
    fprintf(stderr, "shmetrics: %s: %s (%s)\n", what, shmetrics_errmsg(), strerror(-rc));
    return EXIT_FAIL;
}

int cli_finish_output(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "shmetrics: writing the output: %s\n", strerror(errno ? errno : EIO));
        return EXIT_FAIL;
    }
    return status;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* "10s", "500ms", "2m", "1h", or a number of seconds; > 0 and at most a day. */
bool cli_parse_duration(const char *s, uint32_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v <= 0)
        return false;
    double scale = strcmp(end, "ms") == 0               ? 1
                   : strcmp(end, "s") == 0 || *end == 0 ? 1e3
                   : strcmp(end, "m") == 0              ? 60e3
                   : strcmp(end, "h") == 0              ? 3600e3
                                                        : -1;
    if (scale < 0 || v * scale > 86400e3 || v * scale < 1)
        return false;
    *ms = (uint32_t)(v * scale + 0.5);
    return true;
}

bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Bytes for people: 51.2 MiB. */
const char *cli_human_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu bytes", (unsigned long long)b);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

const char *cli_arena(const char *given)
{
    if (given)
        return given;
    const char *env = getenv("SHMETRICS_ARENA");
    return env && *env ? env : NULL;
}

int cli_open_readonly(const char *arena, shmetrics_registry_t **reg)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_READONLY};
    int rc = shmetrics_open(&o, reg);
    return rc < 0 ? cli_fail("opening the arena", rc) : 0;
}

int cli_open_collector(const char *arena, sigset_t *stop, shmetrics_registry_t **reg)
{
    sigemptyset(stop);
    sigaddset(stop, SIGTERM);
    sigaddset(stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    return cli_open_readonly(arena, reg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        top_usage(stderr);
        return EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        top_usage(stdout);
        return cli_finish_output(EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("shmetrics %s\n", SHMETRICS_VERSION);
        return cli_finish_output(EXIT_OK);
    }
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(argv[1], verbs[i]->name) == 0)
            return cli_finish_output(verbs[i]->run(argc - 1, argv + 1));
    fprintf(stderr, "shmetrics: unknown verb '%s'\n\n", argv[1]);
    top_usage(stderr);
    return EXIT_USAGE;
}
