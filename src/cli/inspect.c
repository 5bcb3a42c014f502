/* SPDX-License-Identifier: MIT */
/*
 * src/cli/inspect.c - owns the verbs that manage and read an arena as a
 * whole: create, dump and stat.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Options shared by the three verbs; each verb accepts a subset. */
struct inspect_args {
    const char *arena;
    shmetrics_options_t o;
    shmetrics_format_t format; /* dump */
    bool unlink;               /* reset */
    bool allow_foreign;        /* reset */
    bool no_created;           /* dump */
};

#define OPT_CAPS 1     /* --families --series --processes --shards --cells --gauges --file-mode */
#define OPT_FORMAT 2   /* --format */
#define OPT_UNLINK 4   /* --unlink */
#define OPT_FOREIGN 8  /* --allow-foreign-arena */
#define OPT_CREATED 16 /* --no-created */

static int parse(const struct verb *v, int argc, char **argv, unsigned accept, struct inspect_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(v->usage, stdout);
            return -1;
        }
        if (arg[0] != '-')
            return cli_usage_error(v, "unexpected argument %s", arg);
        if ((accept & OPT_UNLINK) && strcmp(arg, "--unlink") == 0) {
            a->unlink = true;
            continue;
        }
        if ((accept & OPT_FOREIGN) && strcmp(arg, "--allow-foreign-arena") == 0) {
            a->allow_foreign = true;
            continue;
        }
        if ((accept & OPT_CREATED) && strcmp(arg, "--no-created") == 0) {
            a->no_created = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error(v, "%s needs a value, or is unknown", arg);
        const char *val = argv[++i];
        uint32_t *cap = NULL;
        uint32_t max = 1u << 24;
        if (strcmp(arg, "--arena") == 0) {
            a->arena = val;
            continue;
        }
        if ((accept & OPT_FORMAT) && strcmp(arg, "--format") == 0) {
            if (shmetrics_format_parse(val, &a->format) < 0)
                return cli_usage_error(v, "unknown format '%s' (prometheus, openmetrics, json, protobuf)", val);
            continue;
        }
        if (accept & OPT_CAPS) {
            if (strcmp(arg, "--families") == 0)
                cap = &a->o.families;
            else if (strcmp(arg, "--series") == 0)
                cap = &a->o.series;
            else if (strcmp(arg, "--processes") == 0)
                cap = &a->o.processes, max = SHMETRICS_MAX_PROCESSES;
            else if (strcmp(arg, "--shards") == 0)
                cap = &a->o.shards, max = SHMETRICS_MAX_SHARDS;
            else if (strcmp(arg, "--gauges") == 0)
                cap = &a->o.gauges;
            else if (strcmp(arg, "--cells") == 0) {
                uint32_t cells;
                if (!cli_parse_u32(val, 1, 1u << 28, &cells))
                    return cli_usage_error(v, "--cells takes a whole number from 1 to %u, not '%s'", 1u << 28, val);
                a->o.cells = cells;
                continue;
            } else if (strcmp(arg, "--file-mode") == 0) {
                char *end;
                unsigned long m = strtoul(val, &end, 8);
                if (!*val || *end || m > 0777)
                    return cli_usage_error(v, "--file-mode takes an octal permission mode, not '%s'", val);
                a->o.file_mode = (unsigned)m;
                continue;
            }
        }
        if (!cap)
            return cli_usage_error(v, "unknown option %s", arg);
        if (!cli_parse_u32(val, 1, max, cap))
            return cli_usage_error(v, "%s takes a whole number from 1 to %u, not '%s'", arg, max, val);
    }
    a->arena = cli_arena(a->arena);
    if (!a->arena)
        return cli_usage_error(v, "no arena: give --arena PATH or set SHMETRICS_ARENA");
    a->o.path = a->arena;
    return 0;
}

/* What the arena costs: at most its file's size (every byte is allocated
 * before it is used, never more), and what its filesystem holds now; a
 * warning when the filesystem could not take the most. */
static void print_cost(const shmetrics_arena_info_t *in)
{
    char most[32], now[32], fr[32];
    printf("memory: at most %s (the file's size), %s allocated now\n",
           cli_human_bytes(in->file_bytes, most, sizeof most), cli_human_bytes(in->allocated_bytes, now, sizeof now));
    struct statvfs vfs;
    if (statvfs(in->path, &vfs) == 0) {
        uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        if (in->file_bytes - in->allocated_bytes > free_bytes)
            fprintf(stderr,
                    "shmetrics: warning: the filesystem of %s has %s free, less than the arena may still "
                    "take: registrations will fail with 'filesystem full' once it is full (no process is harmed)\n",
                    in->path, cli_human_bytes(free_bytes, fr, sizeof fr));
    }
}

/* An arena that writers will refuse unless they opt in (include/shmetrics.h,
 * "Foreign arenas"): say so when create finds one. */
static void warn_foreign(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISLNK(st.st_mode)) {
        fprintf(stderr,
                "shmetrics: warning: %s is a symbolic link: writers do not follow one (give them the "
                "path of the file itself)\n",
                path);
        return;
    }
    const char *why = st.st_uid != geteuid() ? "it belongs to another user"
                      : (st.st_mode & 022)   ? "users other than its owner may write to it"
                                             : NULL;
    if (why)
        fprintf(stderr,
                "shmetrics: warning: %s (uid %u, mode %04o): %s; writers refuse it unless they opt in "
                "(--allow-foreign-arena, SHMETRICS_ALLOW_FOREIGN_ARENA=1)\n",
                path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), why);
}

static int run_create(int argc, char **argv)
{
    struct inspect_args a;
    int st = parse(&verb_create, argc, argv, OPT_CAPS, &a);
    if (st)
        return st < 0 ? EXIT_OK : st;
    shmetrics_registry_t *reg;
    a.o.flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL;
    int rc = shmetrics_open(&a.o, &reg);
    if (rc == -EEXIST) {
        /* Left alone; report it, and fail only if it does not fit. */
        a.o.flags = SHMETRICS_OPEN_READONLY;
        rc = shmetrics_open(&a.o, &reg);
        if (rc < 0)
            return cli_fail("an arena exists but does not match", rc);
        shmetrics_arena_info_t in;
        shmetrics_arena_info(reg, &in);
        printf("exists %s: families=%u series=%u processes=%u shards=%u (left alone)\n", in.path, in.families_cap,
               in.series_cap, in.processes_cap, in.shards);
        warn_foreign(in.path);
        shmetrics_shutdown(reg, 0);
        return EXIT_OK;
    }
    if (rc < 0)
        return cli_fail("creating the arena", rc);
    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    printf("created %s: families=%u series=%u processes=%u shards=%u bytes=%llu\n", in.path, in.families_cap,
           in.series_cap, in.processes_cap, in.shards, (unsigned long long)in.file_bytes);
    print_cost(&in);
    shmetrics_shutdown(reg, 0);
    return EXIT_OK;
}

static int open_ro(struct inspect_args *a, shmetrics_registry_t **reg)
{
    return cli_open_readonly(a->arena, reg);
}

static int run_dump(int argc, char **argv)
{
    struct inspect_args a;
    int st = parse(&verb_dump, argc, argv, OPT_FORMAT | OPT_CREATED, &a);
    if (st)
        return st < 0 ? EXIT_OK : st;
    /* Binary on a terminal is of no use to anyone (as gzip refuses it). */
    if (a.format == SHMETRICS_FORMAT_PROTOBUF && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "shmetrics dump: the protobuf format is binary: not written to a terminal "
                        "(redirect it to a file or a pipe)\n");
        return EXIT_USAGE;
    }
    shmetrics_registry_t *reg;
    if ((st = open_ro(&a, &reg)))
        return st;
    shmetrics_snapshot_t *snap = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = shmetrics_collect(reg, &snap);
    if (rc == 0)
        rc = shmetrics_format_with(snap, a.format, a.no_created ? SHMETRICS_FORMAT_NO_CREATED : 0, &text, &len);
    if (rc < 0)
        st = cli_fail("reading the arena", rc);
    else if (fwrite(text, 1, len, stdout) != len)
        st = EXIT_FAIL; /* main reports the write error */
    if (snap && snap->damaged)
        fprintf(stderr, "shmetrics dump: %llu damaged records skipped\n", (unsigned long long)snap->damaged);
    free(text);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(reg, 0);
    return st;
}

static void print_time(const char *label, uint64_t ns)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s%s", label, buf);
}

static int run_stat(int argc, char **argv)
{
    struct inspect_args a;
    int st = parse(&verb_stat, argc, argv, 0, &a);
    if (st)
        return st < 0 ? EXIT_OK : st;
    shmetrics_registry_t *reg;
    if ((st = open_ro(&a, &reg)))
        return st;
    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    size_t np = 0;
    shmetrics_processes(reg, NULL, 0, &np);
    shmetrics_process_t *procs = calloc(np ? np : 1, sizeof *procs);
    size_t got = 0;
    if (procs)
        shmetrics_processes(reg, procs, np, &got);
    size_t live = 0, dead = 0;
    for (size_t i = 0; i < got && i < np; i++) {
        live += (size_t)procs[i].alive;
        dead += (size_t)(!procs[i].alive && !procs[i].exited);
    }

    printf("arena      %s\n", in.path);
    printf("bytes      %llu\n", (unsigned long long)in.file_bytes);
    printf("generation %016llx\n", (unsigned long long)in.generation);
    print_time("created    ", in.created_ns);
    printf(" by pid %u\n", in.creator_pid);
    printf("families   %u / %u\n", in.families_used, in.families_cap);
    printf("series     %u / %u\n", in.series_used, in.series_cap);
    printf("processes  %zu / %u (%zu attached, %zu dead, %zu exited)\n", np, in.processes_cap, live, dead,
           np - live - dead);
    printf("shards     %u (stripes a series may gain)\n", in.shards);
    printf("heap       %llu / %llu bytes\n", (unsigned long long)in.heap_used, (unsigned long long)in.heap_bytes);
    printf("cells      %llu / %llu words in the pool\n", (unsigned long long)in.cells_used,
           (unsigned long long)in.cells_cap);
    printf("gauges     %u / %u (a line per process each)\n", in.gauges_used, in.gauges_cap);
    printf("striped    %llu stripe sets (%llu refused)\n", (unsigned long long)in.striped,
           (unsigned long long)in.stripes_refused);
    char most[32], now[32];
    printf("memory     %s allocated, at most %s\n", cli_human_bytes(in.allocated_bytes, now, sizeof now),
           cli_human_bytes(in.file_bytes, most, sizeof most));
    printf("refused    %llu (%llu by a full filesystem)\n", (unsigned long long)in.refused,
           (unsigned long long)in.fs_refused);
    printf("abandoned  %llu\n", (unsigned long long)in.abandoned);
    printf("unplaced   %llu native histogram observations (outside every bucket)\n",
           (unsigned long long)in.native_unplaced);
    printf("exemplars  %llu dropped (slot busy), %llu slots taken over from dead writers\n",
           (unsigned long long)in.exemplars_dropped, (unsigned long long)in.exemplars_taken_over);
    printf("reclaimed  %llu\n", (unsigned long long)in.reclaimed);
    if (got) {
        printf("\n%6s %10s %-9s %s\n", "SLOT", "PID", "STATE", "ATTACHED");
        for (size_t i = 0; i < got && i < np; i++) {
            printf("%6u %10u %-9s ", procs[i].slot, procs[i].pid,
                   procs[i].exited  ? "exited"
                   : procs[i].alive ? "attached"
                                    : "dead");
            print_time("", procs[i].attach_ns);
            printf("\n");
        }
    }
    free(procs);
    shmetrics_shutdown(reg, 0);
    return EXIT_OK;
}

static int run_reset(int argc, char **argv)
{
    struct inspect_args a;
    int st = parse(&verb_reset, argc, argv, OPT_UNLINK | OPT_FOREIGN, &a);
    if (st)
        return st < 0 ? EXIT_OK : st;
    shmetrics_registry_t *reg;
    a.o.flags = a.allow_foreign ? SHMETRICS_OPEN_ALLOW_FOREIGN : 0; /* read-write, never create */
    int rc = shmetrics_open(&a.o, &reg);
    if (rc < 0)
        return cli_fail("opening the arena", rc);
    if ((rc = shmetrics_reset(reg)) < 0) {
        shmetrics_shutdown(reg, 0);
        return cli_fail("resetting the arena", rc);
    }
    if ((rc = shmetrics_shutdown(reg, a.unlink ? SHMETRICS_SHUTDOWN_UNLINK : 0)) < 0)
        return cli_fail("removing the arena", rc);
    printf("%s %s\n", a.unlink ? "reset and removed" : "reset", a.arena);
    return EXIT_OK;
}

const struct verb verb_reset = {
    "reset",
    "set every value of an arena to zero, or remove the arena",
    "usage: shmetrics reset [--arena PATH] [--allow-foreign-arena] [--unlink]\n"
    "\n"
    "Sets every counter, gauge, histogram and summary of the arena to zero (the\n"
    "metrics and their label sets stay).  With --unlink the file is removed\n"
    "too: processes still attached keep their mapping, and a collector started\n"
    "with shmetrics serve moves to a new arena created at the same path.\n"
    "\n"
    "  --arena PATH      the arena (default: $SHMETRICS_ARENA)\n"
    "  --allow-foreign-arena\n"
    "                    reset an arena another user owns, or that others may\n"
    "                    write to (refused otherwise: see shmetrics inc --help)\n"
    "  --unlink          remove the file too\n"
    "  --help            this message\n",
    run_reset,
};

const struct verb verb_create = {
    "create",
    "create an arena with given capacities",
    "usage: shmetrics create [--arena PATH] [--families N] [--series N] [--processes N]\n"
    "                        [--shards N] [--cells N] [--gauges N] [--file-mode OCTAL]\n"
    "\n"
    "Creates the arena file (mode 0600 unless --file-mode) and says what it costs:\n"
    "at most the file's size, whatever the number of CPUs, and what is allocated\n"
    "now; it warns when the filesystem has less room than that.  An existing arena\n"
    "is left alone and reported (with a warning when writers will refuse it: it\n"
    "belongs to another user, or others may write to it); it is an error if it\n"
    "has other capacities than the ones given.  A --file-mode with group or other\n"
    "write bits (0660 for workers in one group) makes an arena that the writing\n"
    "verbs refuse unless they opt in: --allow-foreign-arena, or the environment\n"
    "variable SHMETRICS_ALLOW_FOREIGN_ARENA=1.\n"
    "\n"
    "Defaults (50.6 MiB at most): 1024 families, 16384 series, 256 processes,\n"
    "4194304 cells (8 bytes each) in the pool that counters, histograms and\n"
    "summaries share, 1024 gauge series, and shards = the system's CPUs rounded\n"
    "up to a power of two.\n"
    "\n"
    "A series takes one block of the pool: 1 + its cells, rounded up to 8 (a\n"
    "counter 8 cells, a histogram of 21 buckets 32, a summary with 5 age buckets\n"
    "20504).  Only when writers on different CPUs collide on a series does it gain\n"
    "stripes: one for each CPU its writers run on (up to --shards; summaries 2),\n"
    "each 1 + its cells rounded up to 16; so memory follows what is written and\n"
    "contended, not the CPU count.  A gauge series takes 64 bytes in the unit of\n"
    "each process that writes it.  Pages are allocated before use: a full\n"
    "filesystem is an error for the writer, never a crash.\n",
    run_create,
};

const struct verb verb_dump = {
    "dump",
    "print every metric (Prometheus text, OpenMetrics, JSON or protobuf)",
    "usage: shmetrics dump [--arena PATH] [--format FORMAT] [--no-created]\n"
    "\n"
    "Opens the arena read-only, merges stripes and processes, and prints every\n"
    "metric in one of these formats:\n"
    "\n"
    "  prometheus    the Prometheus text exposition format 0.0.4 (the default)\n"
    "  openmetrics   OpenMetrics 1.0.0 text, ending in # EOF\n"
    "  json          a JSON array of the families, with type, help and samples\n"
    "  protobuf      Prometheus' protobuf format: length-delimited MetricFamily\n"
    "                messages, binary (refused when standard output is a terminal)\n"
    "\n"
    "Counters, histograms and summaries carry the time each series was created\n"
    "(or last reset): name_created samples in OpenMetrics (none in the 0.0.4\n"
    "text, as client_golang), created_timestamp in\n"
    "protobuf.\n"
    "\n"
    "  --arena PATH      the arena (default: $SHMETRICS_ARENA)\n"
    "  --format FORMAT   prometheus, openmetrics, json or protobuf\n"
    "  --no-created      leave the creation times out (as does the environment\n"
    "                    variable PROMETHEUS_DISABLE_CREATED_SERIES=true)\n"
    "  --help            this message\n",
    run_dump,
};

const struct verb verb_stat = {
    "stat",
    "print an arena's capacities, usage and processes",
    "usage: shmetrics stat [--arena PATH]\n"
    "\n"
    "Opens the arena read-only and prints its capacities, how much of each is in\n"
    "use, and the processes that hold a slot: attached (running), dead (gone\n"
    "without detaching; its slot is reclaimed by the next process that attaches\n"
    "read-write) or exited (kept for its gauge values in mode all until the\n"
    "slot is needed).\n",
    run_stat,
};
