/* SPDX-License-Identifier: MIT */
/*
 * src/read/procstat.c - owns reading /proc for the processes attached to an
 * arena, so that the collector can expose their process_* families without
 * the workers' help: parsing /proc/PID/stat (from the last ')' of the
 * command name), the "Max open files" line of /proc/PID/limits and the
 * btime line of /proc/stat; reading one process through a descriptor of
 * its /proc directory, after checking that its pid still names the process
 * its slot recorded (the start time, field 22); and reading every live
 * process of a snapshot, each failure skipping that process (or that
 * sample) and counted, never failing the scrape.
 *
 * Every read is bounded: a pread into a fixed buffer for stat and limits,
 * getdents64 into a fixed buffer for the fd directory, and /proc/stat
 * streamed line by line through one buffer.  Two cheaper ways are taken
 * where the kernel offers them (measured in bench/procs.c): the soft limit
 * by prlimit(2) rather than formatting the limits file, and the count of
 * open descriptors as the size of the fd directory (Linux 6.2 on).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "procstat.h"
#include "reader.h"

/* ------------------------------------------------------------ parsing */

/* The whole of [p, p + n) as a decimal number that fits 64 bits. */
static bool decimal(const char *p, size_t n, uint64_t *v)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

int smx_stat_parse(const char *buf, size_t len, struct smx_stat *out)
{
    const char *open = memchr(buf, '(', len);
    const char *close = memrchr(buf, ')', len);
    if (!open || !close || close < open)
        return smx_fail(-EBADMSG, "no command name in parentheses");
    struct smx_stat s = {0};
    const char *p = close + 1, *end = buf + len;
    /* Fields 3 onwards, separated by spaces; a newline ends the text. */
    unsigned field = 2;
    while (field < 24) {
        while (p < end && *p == ' ')
            p++;
        const char *t = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        /* A field must end in a separator: the text goes on after field
         * 24 (it has 52), so a text cut inside a number is not read as a
         * shorter number. */
        if (p == t || p == end)
            return smx_fail(-EBADMSG, "%u fields, not the 24 wanted", field);
        field++;
        uint64_t *num = field == 14   ? &s.utime
                        : field == 15 ? &s.stime
                        : field == 20 ? &s.threads
                        : field == 22 ? &s.starttime
                        : field == 23 ? &s.vsize
                        : field == 24 ? &s.rss
                                      : NULL;
        if (field == 3) {
            if (p - t != 1)
                return smx_fail(-EBADMSG, "the state (field 3) is '%.*s', not one letter", (int)(p - t), t);
            s.state = *t;
        } else if (num && !decimal(t, (size_t)(p - t), num)) {
            return smx_fail(-EBADMSG, "field %u is '%.*s', not a number", field, (int)(p - t > 32 ? 32 : p - t), t);
        }
    }
    *out = s;
    return 0;
}

int smx_limits_max_fds(const char *buf, size_t len, double *soft)
{
    static const char key[] = "Max open files ";
    const size_t klen = sizeof key - 1;
    for (const char *line = buf, *end = buf + len; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        if ((size_t)(le - line) >= klen && memcmp(line, key, klen) == 0) {
            const char *p = line + klen;
            while (p < le && *p == ' ')
                p++;
            const char *t = p;
            while (p < le && *p != ' ')
                p++;
            uint64_t v;
            if (p - t == 9 && memcmp(t, "unlimited", 9) == 0) {
                *soft = INFINITY;
                return 0;
            }
            if (decimal(t, (size_t)(p - t), &v)) {
                *soft = (double)v;
                return 0;
            }
            return smx_fail(-EBADMSG, "the soft limit of Max open files is '%.*s'", (int)(p - t > 32 ? 32 : p - t), t);
        }
        line = le + 1;
    }
    return smx_fail(-EBADMSG, "no Max open files line");
}

int smx_btime_parse(const char *buf, size_t len, uint64_t *btime)
{
    static const char key[] = "btime ";
    const size_t klen = sizeof key - 1;
    for (const char *line = buf, *end = buf + len; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        if ((size_t)(le - line) >= klen && memcmp(line, key, klen) == 0) {
            const char *t = line + klen;
            if (!decimal(t, (size_t)(le - t), btime))
                return smx_fail(-EBADMSG, "the btime line is '%.*s'", (int)(le - line > 40 ? 40 : le - line), line);
            return 0;
        }
        line = le + 1;
    }
    return -ENOENT;
}

/* ------------------------------------------------------ one process */

/* All of the small file `name` under `dir` in buf (at most cap - 1 bytes,
 * NUL added): its length, or -errno (no message); -EFBIG when it does not
 * fit. */
static ssize_t read_small(int dir, const char *name, char *buf, size_t cap)
{
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t have = 0;
    ssize_t rc = 0;
    for (;;) {
        if (have == cap - 1) {
            rc = -EFBIG;
            break;
        }
        ssize_t n = pread(fd, buf + have, cap - 1 - have, (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    if (rc < 0)
        return rc;
    buf[have] = 0;
    return (ssize_t)have;
}

/* The entries of `dir`/fd but . and .., or -errno (no message).  On
 * procfs, the directory's size, when not 0, is that count (Linux 6.2 on):
 * one fstatat instead of a listing. */
static int count_fds(int dir, bool procfs, uint64_t *count)
{
    struct stat sb;
    if (procfs) {
        if (fstatat(dir, "fd", &sb, 0) < 0)
            return -errno;
        if (sb.st_size > 0) {
            *count = (uint64_t)sb.st_size;
            return 0;
        }
    }
    int fd = openat(dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _Alignas(struct dirent64) char buf[4096];
    uint64_t k = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof buf);
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *d = (const struct dirent64 *)(buf + off);
            if (d->d_reclen == 0)
                break;
            const char *nm = d->d_name;
            if (!(nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))))
                k++;
            off += d->d_reclen;
        }
    }
    close(fd);
    *count = k;
    return rc;
}

static bool is_gone(int rc)
{
    return rc == -ENOENT || rc == -ESRCH;
}

/* A file of process `pid` that could not be read: -ESRCH when the process
 * is gone, else `rc`, counted in *unread. */
static int file_failed(uint32_t pid, const char *name, int rc, bool *unread)
{
    if (is_gone(rc))
        return smx_fail(-ESRCH, "process %u is gone", pid);
    *unread = true;
    return smx_fail(rc, "reading /proc/%u/%s: %s", pid, name, strerror(-rc));
}

int smx_proc_read(int root, uint32_t pid, uint64_t start_time, const struct smx_proc_env *env,
                  struct smx_proc_sample *out, bool unread[SMX_PROC_NFILES])
{
    memset(out, 0, sizeof *out);
    out->pidnum = pid;
    snprintf(out->pid, sizeof out->pid, "%u", pid);
    if (start_time == 0)
        return smx_fail(-ESRCH, "process %u: its slot holds no start time to tell it from a later process", pid);
    int dir = openat(root, out->pid, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return file_failed(pid, "", -errno, &unread[SMX_PROC_STAT]);
    char buf[1024];
    struct smx_stat st;
    ssize_t n = read_small(dir, "stat", buf, sizeof buf);
    int rc = n < 0 ? file_failed(pid, "stat", (int)n, &unread[SMX_PROC_STAT]) : 0;
    if (rc == 0 && (rc = smx_stat_parse(buf, (size_t)n, &st)) < 0) {
        unread[SMX_PROC_STAT] = true;
        smx_fail_prefix(rc, "/proc/%u/stat", pid);
    }
    if (rc == 0 && (st.state == 'Z' || st.state == 'X' || st.state == 'x'))
        rc = smx_fail(-ESRCH, "process %u has exited (state %c)", pid, st.state);
    if (rc == 0 && st.starttime != start_time)
        rc = smx_fail(-ESRCH, "pid %u names another process now (started %llu ticks after boot, not %llu)", pid,
                      (unsigned long long)st.starttime, (unsigned long long)start_time);
    if (rc < 0) {
        close(dir);
        return rc;
    }
    const double ticks = (double)env->ticks;
    out->cpu_seconds = (double)(st.utime + st.stime) / ticks;
    out->resident_bytes = (double)st.rss * (double)env->page;
    out->virtual_bytes = (double)st.vsize;
    out->threads = (double)st.threads;
    /* As prometheus_client computes it: boot time + start ticks / CLK_TCK. */
    out->has_start_time = env->btime != 0;
    out->start_time_seconds = (double)st.starttime / ticks + (double)env->btime;

    /* The soft limit from the kernel when it lets us ask (our own user's
     * processes, or CAP_SYS_RESOURCE): the pid is still this process if
     * its directory reads after the call (count_fds below). */
    struct rlimit rl;
    if (env->procfs && prlimit((pid_t)pid, RLIMIT_NOFILE, NULL, &rl) == 0) {
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
        out->has_max_fds = true;
    } else {
        char lim[4096];
        n = read_small(dir, "limits", lim, sizeof lim);
        if (n < 0)
            rc = file_failed(pid, "limits", (int)n, &unread[SMX_PROC_LIMITS]);
        else if (smx_limits_max_fds(lim, (size_t)n, &out->max_fds) < 0)
            unread[SMX_PROC_LIMITS] = true;
        else
            out->has_max_fds = true;
    }
    uint64_t fds = 0;
    int frc = rc == -ESRCH ? 0 : count_fds(dir, env->procfs, &fds);
    if (frc < 0)
        rc = file_failed(pid, "fd", frc, &unread[SMX_PROC_FD]);
    else if (rc != -ESRCH) {
        out->open_fds = (double)fds;
        out->has_open_fds = true;
    }
    close(dir);
    /* Gone while it was read: none of its samples. */
    return rc == -ESRCH ? rc : 0;
}

int smx_btime_read(int root, uint64_t *btime)
{
    int fd = openat(root, "stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return smx_fail(-errno, "opening /proc/stat: %s", strerror(errno));
    /* Whole lines are parsed; a line longer than the buffer (the intr line
     * of a big machine) is skipped to its end. */
    char buf[4096];
    size_t have = 0;
    bool skipping = false;
    int rc = -ENOENT;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = smx_fail(-errno, "reading /proc/stat: %s", strerror(errno));
            break;
        }
        if (n == 0) {
            if (have && !skipping)
                rc = smx_btime_parse(buf, have, btime);
            break;
        }
        have += (size_t)n;
        size_t start = 0;
        if (skipping) {
            const char *nl = memchr(buf, '\n', have);
            if (!nl) {
                have = 0;
                continue;
            }
            start = (size_t)(nl - buf) + 1;
            skipping = false;
        }
        const char *last = memrchr(buf + start, '\n', have - start);
        if (last) {
            size_t whole = (size_t)(last - buf) + 1;
            if ((rc = smx_btime_parse(buf + start, whole - start, btime)) != -ENOENT)
                break;
            start = whole;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf) {
            have = 0;
            skipping = true;
        }
    }
    close(fd);
    if (rc == -ENOENT)
        rc = smx_fail(-ENOENT, "/proc/stat has no btime line");
    return rc;
}

/* ------------------------------------------------ the live processes */

/* /proc/stat's btime, once read (it moves only when the clock is set, and
 * prometheus_client too reads it once); 0 until then. */
static uint64_t boot_time;

static int by_pid(const void *a, const void *b)
{
    const struct smx_live_proc *x = a, *y = b;
    return x->pid != y->pid ? (x->pid > y->pid) - (x->pid < y->pid)
                            : (x->start_time > y->start_time) - (x->start_time < y->start_time);
}

int smx_procs_read(const shmetrics_snapshot_t *snap, struct smx_procs *out)
{
    memset(out, 0, sizeof *out);
    const struct smx_live_proc *live;
    size_t n = smx_snapshot_live(snap, &live);
    if (n == 0)
        return 0;
    struct smx_live_proc *sorted = malloc(sizeof *sorted * n);
    out->p = malloc(sizeof *out->p * n);
    if (!sorted || !out->p) {
        free(sorted);
        smx_procs_free(out);
        return smx_fail(-ENOMEM, "out of memory");
    }
    memcpy(sorted, live, sizeof *sorted * n);
    qsort(sorted, n, sizeof *sorted, by_pid);
    /* Without /proc every read below fails (EBADF) and is counted. */
    int root = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    struct smx_proc_env env = {.ticks = ticks > 0 ? (uint64_t)ticks : 100,
                               .page = page > 0 ? (uint64_t)page : 4096,
                               .btime = __atomic_load_n(&boot_time, __ATOMIC_RELAXED),
                               .procfs = true};
    if (!env.btime && root >= 0 && smx_btime_read(root, &env.btime) == 0)
        __atomic_store_n(&boot_time, env.btime, __ATOMIC_RELAXED);
    for (size_t i = 0; i < n; i++) {
        /* Two slots of one pid: the first that reads as that process. */
        if (out->n && out->p[out->n - 1].pidnum == sorted[i].pid)
            continue;
        bool unread[SMX_PROC_NFILES] = {false};
        int rc = smx_proc_read(root, sorted[i].pid, sorted[i].start_time, &env, &out->p[out->n], unread);
        if (rc != -ESRCH)
            for (int f = 0; f < SMX_PROC_NFILES; f++)
                out->unread[f] += unread[f];
        if (rc == 0)
            out->n++;
    }
    if (root >= 0)
        close(root);
    free(sorted);
    return 0;
}

void smx_procs_free(struct smx_procs *procs)
{
    free(procs->p);
    memset(procs, 0, sizeof *procs);
}
