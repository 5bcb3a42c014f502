/* SPDX-License-Identifier: MIT */
/*
 * src/cli/cli.h - what the verbs of the shmetrics command share: the
 * argument scanner, exit codes, and opening the arena named by --arena or
 * SHMETRICS_ARENA.
 */
#ifndef SHMETRICS_CLI_H
#define SHMETRICS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmetrics.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct verb {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
};

/* Print `usage` to stderr after an error line; returns EXIT_USAGE. */
int cli_usage_error(const struct verb *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a library failure (code and message) to stderr; returns EXIT_FAIL. */
int cli_fail(const char *what, int rc);
/* Flush stdout; on a write error (full disk, closed pipe) print it and
 * return EXIT_FAIL, else return `status`. */
int cli_finish_output(int status);
/* Is argv[i] "--help" or "-h" asking for usage (see update.c for the
 * one verb family where --help may also take a value)? */
bool cli_is_help(const char *arg);
/* Parse a whole number in [min, max]; false if it is not one. */
bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* "10s", "500ms", "2m", "1h", or a number of seconds, from 1 ms to a day,
 * into milliseconds; false if it is not one. */
bool cli_parse_duration(const char *s, uint32_t *ms);
/* Bytes for people: "51.2 MiB", "100 bytes"; returns buf. */
const char *cli_human_bytes(uint64_t b, char *buf, size_t len);
/* The arena path: --arena, else SHMETRICS_ARENA, else NULL. */
const char *cli_arena(const char *given);
/* Open `arena` read-only, as a collector does, into `*reg`: 0, or
 * EXIT_FAIL after printing why it did not open (the messages of dump, stat,
 * top and bench --scrape alike). */
int cli_open_readonly(const char *arena, shmetrics_registry_t **reg);
/* For the verbs that run until stopped (serve, push): block SIGTERM and
 * SIGINT in every thread started after this (the caller sigwait()s for
 * `stop`), ignore SIGPIPE, and open `arena` read-only into `*reg`.
 * Returns 0, or EXIT_FAIL after printing why the arena did not open. */
int cli_open_collector(const char *arena, sigset_t *stop, shmetrics_registry_t **reg);

extern const struct verb verb_create, verb_inc, verb_set, verb_observe, verb_info, verb_dump, verb_stat, verb_serve,
    verb_push, verb_reset, verb_demo, verb_top, verb_bench;

#endif
