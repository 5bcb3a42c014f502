/* SPDX-License-Identifier: MIT */
/*
 * src/read/procstat.h - what /proc says of the processes attached to an
 * arena, read by the collector at each scrape without the workers' help
 * (src/read/procstat.c): the parsers of /proc/PID/stat, /proc/PID/limits
 * and /proc/stat's btime line, one process read through a descriptor of
 * its /proc directory, and the live processes of a snapshot read in turn.
 */
#ifndef SMX_PROCSTAT_H
#define SMX_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmetrics.h"

/* The fields of /proc/PID/stat the process_* families come from (proc(5)
 * numbers them from 1: the pid is 1, the command name 2). */
struct smx_stat {
    char state;         /* 3: R, S, D, ...; Z a zombie, X (or x) dead */
    uint64_t utime;     /* 14: clock ticks in user mode */
    uint64_t stime;     /* 15: clock ticks in kernel mode */
    uint64_t threads;   /* 20 */
    uint64_t starttime; /* 22: clock ticks after boot */
    uint64_t vsize;     /* 23: bytes of virtual memory */
    uint64_t rss;       /* 24: resident pages */
};

/* Parse the text of /proc/PID/stat (`len` bytes, not necessarily
 * NUL-terminated).  The command name may hold spaces, parentheses and
 * newlines: the fields are counted from its LAST ')'.  0, or -EBADMSG
 * (with a message) for a text with no "(...)", fewer than 24 fields, or a
 * field used here that is not a decimal number that fits 64 bits. */
int smx_stat_parse(const char *buf, size_t len, struct smx_stat *out);

/* The soft limit of the "Max open files" line of /proc/PID/limits: a
 * number, or INFINITY for "unlimited".  0, or -EBADMSG (with a message)
 * when the line is missing or its soft limit is neither. */
int smx_limits_max_fds(const char *buf, size_t len, double *soft);

/* The "btime SECONDS" line of /proc/stat, in `len` bytes of whole lines:
 * 0 with *btime set, -ENOENT when no line of these is it, -EBADMSG (with a
 * message) when it is there but not a number. */
int smx_btime_parse(const char *buf, size_t len, uint64_t *btime);

/* The /proc files of a process; a failure to read one is counted by file. */
enum smx_proc_file { SMX_PROC_STAT, SMX_PROC_LIMITS, SMX_PROC_FD, SMX_PROC_NFILES };

/* What the process_* families of one worker hold.  A has_ flag is false
 * when the file it comes from could not be read (the sample is left out). */
struct smx_proc_sample {
    uint32_t pidnum;
    char pid[12]; /* the pid label's value */
    double cpu_seconds;
    double resident_bytes;
    double virtual_bytes;
    double start_time_seconds; /* Unix time: boot time + starttime */
    double threads;
    double open_fds;
    double max_fds;
    bool has_start_time, has_open_fds, has_max_fds;
};

/* The constants the figures are computed with. */
struct smx_proc_env {
    uint64_t ticks; /* sysconf(_SC_CLK_TCK) */
    uint64_t page;  /* sysconf(_SC_PAGESIZE) */
    uint64_t btime; /* /proc/stat btime; 0 if unknown (no start time) */
    /* The root is the real /proc: the soft limit may be asked of the
     * kernel (prlimit, where permitted) instead of formatting the limits
     * file, and the size of the fd directory is its count of entries
     * (Linux 6.2 on; 0 before, and then the entries are counted). */
    bool procfs;
};

/* Read process `pid` through `root`, a descriptor of /proc (or of a tree
 * laid out like it): its stat, limits and fd entries, each with bounded
 * reads, through one descriptor of its directory (so that all of them
 * describe one process even if the pid is reused meanwhile; prlimit, which
 * takes a pid, is trusted only if the directory still reads after it).  It must
 * still be the process that started at `start_time` (field 22, as its slot
 * holds it).  0 with *out set (a sample whose file failed has its has_
 * flag false and unread[file] set); -ESRCH when it is gone (before or
 * while it was read), a zombie, or another process (its start time
 * differs, or the slot's is 0 and cannot tell); another -errno (-EACCES,
 * -EBADMSG) when its stat cannot be read, with unread[SMX_PROC_STAT] set.
 * Every failure leaves a message. */
int smx_proc_read(int root, uint32_t pid, uint64_t start_time, const struct smx_proc_env *env,
                  struct smx_proc_sample *out, bool unread[SMX_PROC_NFILES]);

/* The boot time from /proc/stat's btime line (streamed through a bounded
 * buffer: the lines before it may be long), through `root` as above.  0 or
 * -errno with a message. */
int smx_btime_read(int root, uint64_t *btime);

/* The workers of one scrape: one sample per live process of the snapshot,
 * by pid (a pid that holds two slots is read once). */
struct smx_procs {
    size_t n;
    struct smx_proc_sample *p;
    uint64_t unread[SMX_PROC_NFILES]; /* processes whose file could not be read */
};

/* Read /proc for the processes the snapshot (from shmetrics_collect) found
 * attached and alive.  A process that cannot be read is left out (counted
 * in unread when it is there but its file is not); the boot time is read
 * once per collector process.  0, or -ENOMEM with a message. */
int smx_procs_read(const shmetrics_snapshot_t *snap, struct smx_procs *out);
void smx_procs_free(struct smx_procs *procs);

#endif
