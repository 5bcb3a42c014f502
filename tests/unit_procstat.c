/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_procstat.c - the workers' process metrics (src/read/procstat.c
 * and the process_* rows of src/read/reader.c): the parsers of
 * /proc/PID/stat, limits and /proc/stat's btime on crafted text (a command
 * name with spaces, parentheses and a newline; truncated; garbage), one
 * process read from a crafted /proc tree (exact figures, each file failing
 * in turn), a live child read from the real /proc (its start time must
 * match: a reused pid is not the worker; a zombie is not either), and the
 * families appended with a pid label, samples left out, failures counted.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "../src/read/procstat.h"
#include "../src/read/reader.h"
#include "common.h"

/* A /proc/PID/stat line for pid 4242 with this command name: utime 250,
 * stime 75, 3 threads, start 123456 ticks, 73756672 bytes virtual, 512
 * pages resident. */
static int stat_line(char *buf, size_t cap, const char *comm, char state)
{
    return snprintf(buf, cap,
                    "4242 (%s) %c 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 123456 73756672 512 "
                    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
                    comm, state);
}

static void assert_stat(const struct smx_stat *s)
{
    cr_assert_eq(s->state, 'S');
    cr_assert_eq(s->utime, 250);
    cr_assert_eq(s->stime, 75);
    cr_assert_eq(s->threads, 3);
    cr_assert_eq(s->starttime, 123456);
    cr_assert_eq(s->vsize, 73756672);
    cr_assert_eq(s->rss, 512);
}

Test(procstat, stat_fields_are_counted_from_the_last_parenthesis)
{
    static const char *const comms[] = {"worker", "my (weird) cmd", ") S 9 9 9 9", "a)b)c", "two\nlines", "(", ""};
    for (size_t i = 0; i < sizeof comms / sizeof comms[0]; i++) {
        char buf[512];
        int n = stat_line(buf, sizeof buf, comms[i], 'S');
        struct smx_stat s;
        cr_assert_eq(smx_stat_parse(buf, (size_t)n, &s), 0, "%s: %s", comms[i], shmetrics_errmsg());
        assert_stat(&s);
    }
    /* Without the trailing newline, and not NUL-terminated. */
    char buf[512];
    int n = stat_line(buf, sizeof buf, "x", 'S');
    buf[n - 1] = '#';
    struct smx_stat s;
    cr_assert_eq(smx_stat_parse(buf, (size_t)n - 1, &s), 0, "%s", shmetrics_errmsg());
    assert_stat(&s);
    /* Cut right after rss: a number cut short cannot be told, refused. */
    const char *rss = strstr(buf, " 512 ");
    cr_assert_eq(smx_stat_parse(buf, (size_t)(rss - buf) + 4, &s), -EBADMSG);
    cr_assert_eq(smx_stat_parse(buf, (size_t)(rss - buf) + 5, &s), 0);
}

Test(procstat, truncated_or_garbage_stat_is_refused)
{
    char buf[512];
    int n = stat_line(buf, sizeof buf, "a b", 'S');
    struct smx_stat s = {.utime = 7};
    /* Cut anywhere before the separator after field 24 (rss): refused. */
    const char *rss = strstr(buf, " 512 ");
    cr_assert(rss);
    for (size_t len = 0; len < (size_t)(rss - buf) + 5; len++)
        cr_assert_eq(smx_stat_parse(buf, len, &s), -EBADMSG, "cut at %zu", len);
    cr_assert_eq(smx_stat_parse(buf, (size_t)(rss - buf) + 5, &s), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(s.rss, 512);
    cr_assert_eq(smx_stat_parse(buf, (size_t)n, &s), 0);

    static const char *const bad[] = {
        "",
        "garbage",
        "4242 no parentheses S 1 2 3",
        "4242 )backwards( S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 123456 73756672 512 1\n",
        /* utime not a number */
        "4242 (w) S 1 4242 4242 0 -1 4194560 1000 0 0 0 2x0 75 0 0 20 0 3 0 123456 73756672 512 1\n",
        /* starttime does not fit 64 bits */
        "4242 (w) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 18446744073709551616 73756672 512 1\n",
        /* negative rss */
        "4242 (w) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 123456 73756672 -512 1\n",
        /* the state two letters */
        "4242 (w) SS 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 123456 73756672 512 1\n",
        /* a newline inside the fields */
        "4242 (w) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250\n75 0 0 20 0 3 0 123456 73756672 512 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.utime = 7;
        cr_assert_eq(smx_stat_parse(bad[i], strlen(bad[i]), &s), -EBADMSG, "%s", bad[i]);
        cr_assert_eq(s.utime, 7, "untouched on failure");
    }
    /* The largest 64-bit number is one. */
    const char *max = "1 (w) S 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 0 0 0 20 0 1 0 5 6 7 0\n";
    cr_assert_eq(smx_stat_parse(max, strlen(max), &s), 0);
    cr_assert_eq(s.utime, UINT64_MAX);
    cr_assert_eq(s.rss, 7);
}

static const char limits_text[] = "Limit                     Soft Limit           Hard Limit           Units     \n"
                                  "Max cpu time              unlimited            unlimited            seconds   \n"
                                  "Max open files            %s                 1048576              files     \n"
                                  "Max locked memory         8388608              8388608              bytes     \n";

Test(procstat, max_open_files_soft_limit)
{
    char buf[1024];
    double soft = -1;
    int n = snprintf(buf, sizeof buf, limits_text, "1024");
    cr_assert_eq(smx_limits_max_fds(buf, (size_t)n, &soft), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(soft, 1024.0);
    n = snprintf(buf, sizeof buf, limits_text, "unlimited");
    cr_assert_eq(smx_limits_max_fds(buf, (size_t)n, &soft), 0);
    cr_assert(isinf(soft) && soft > 0);
    n = snprintf(buf, sizeof buf, limits_text, "-1");
    cr_assert_eq(smx_limits_max_fds(buf, (size_t)n, &soft), -EBADMSG);
    cr_assert_str_eq(shmetrics_errmsg(), "the soft limit of Max open files is '-1'");
    cr_assert_eq(soft, INFINITY, "untouched on failure");
    n = snprintf(buf, sizeof buf, limits_text, "1e3");
    cr_assert_eq(smx_limits_max_fds(buf, (size_t)n, &soft), -EBADMSG);
    cr_assert_eq(soft, INFINITY, "untouched on failure");
    const char *none = "Limit Soft Hard\nMax open filesystems 5 5\n";
    cr_assert_eq(smx_limits_max_fds(none, strlen(none), &soft), -EBADMSG);
    cr_assert_str_eq(shmetrics_errmsg(), "no Max open files line");
    cr_assert_eq(smx_limits_max_fds("", 0, &soft), -EBADMSG);
}

Test(procstat, btime_line)
{
    uint64_t bt = 0;
    const char *st = "cpu  1 2 3\nintr 5 6 7\nctxt 99\nbtime 1700000000\nprocesses 4\n";
    cr_assert_eq(smx_btime_parse(st, strlen(st), &bt), 0);
    cr_assert_eq(bt, 1700000000);
    const char *none = "cpu 1\nbtimex 5\n btime 6\n";
    cr_assert_eq(smx_btime_parse(none, strlen(none), &bt), -ENOENT);
    const char *bad = "btime 17e8\n";
    cr_assert_eq(smx_btime_parse(bad, strlen(bad), &bt), -EBADMSG);
    cr_assert_eq(bt, 1700000000);
}

/* ---------------------------------------------- a crafted /proc tree */

struct tree {
    char dir[64];
    int root;
};

static void put(const struct tree *t, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->dir, rel);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void sub(const struct tree *t, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", t->dir, rel);
    cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

/* Process 4242: the stat above, Max open files 1024, 4 entries in fd/. */
static void make_tree(struct tree *t, char state)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/shmetrics-procstat-XXXXXX");
    cr_assert(mkdtemp(t->dir));
    sub(t, "4242");
    sub(t, "4242/fd");
    char buf[1024];
    stat_line(buf, sizeof buf, "a (b) c", state);
    put(t, "4242/stat", buf);
    snprintf(buf, sizeof buf, limits_text, "1024");
    put(t, "4242/limits", buf);
    for (int i = 0; i < 4; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "4242/fd/%d", i);
        put(t, rel, "");
    }
    t->root = open(t->dir, O_PATH | O_DIRECTORY);
    cr_assert(t->root >= 0);
}

static void drop_tree(struct tree *t)
{
    char cmd[128];
    close(t->root);
    snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
    cr_assert_eq(system(cmd), 0);
}

static const struct smx_proc_env crafted_env = {.ticks = 100, .page = 4096, .btime = 1700000000};

static int read_4242(const struct tree *t, uint64_t start, struct smx_proc_sample *out, bool unread[SMX_PROC_NFILES])
{
    memset(unread, 0, sizeof(bool) * SMX_PROC_NFILES);
    return smx_proc_read(t->root, 4242, start, &crafted_env, out, unread);
}

Test(procstat, one_process_from_a_crafted_tree)
{
    struct tree t;
    make_tree(&t, 'S');
    struct smx_proc_sample p;
    bool unread[SMX_PROC_NFILES];
    cr_assert_eq(read_4242(&t, 123456, &p, unread), 0, "%s", shmetrics_errmsg());
    cr_assert_str_eq(p.pid, "4242");
    cr_assert_eq(p.pidnum, 4242);
    cr_assert_eq(p.cpu_seconds, 3.25);
    cr_assert_eq(p.resident_bytes, 512.0 * 4096);
    cr_assert_eq(p.virtual_bytes, 73756672.0);
    cr_assert_eq(p.threads, 3.0);
    cr_assert(p.has_start_time);
    cr_assert_eq(p.start_time_seconds, 123456.0 / 100.0 + 1700000000.0);
    cr_assert_eq(p.start_time_seconds, 1700001234.56);
    cr_assert(p.has_max_fds && p.has_open_fds);
    cr_assert_eq(p.max_fds, 1024.0);
    cr_assert_eq(p.open_fds, 4.0);
    for (int f = 0; f < SMX_PROC_NFILES; f++)
        cr_assert(!unread[f]);

    /* Without a boot time, no start time. */
    struct smx_proc_env no_btime = crafted_env;
    no_btime.btime = 0;
    cr_assert_eq(smx_proc_read(t.root, 4242, 123456, &no_btime, &p, unread), 0);
    cr_assert(!p.has_start_time);
    drop_tree(&t);
}

Test(procstat, another_start_time_is_another_process)
{
    struct tree t;
    make_tree(&t, 'S');
    struct smx_proc_sample p;
    bool unread[SMX_PROC_NFILES];
    /* The pid was reused: the slot's start time is not the process's. */
    cr_assert_eq(read_4242(&t, 123455, &p, unread), -ESRCH);
    cr_assert_str_eq(shmetrics_errmsg(),
                     "pid 4242 names another process now (started 123456 ticks after boot, not 123455)");
    cr_assert_eq(read_4242(&t, 123457, &p, unread), -ESRCH);
    /* A slot without a start time cannot tell. */
    cr_assert_eq(read_4242(&t, 0, &p, unread), -ESRCH);
    for (int f = 0; f < SMX_PROC_NFILES; f++)
        cr_assert(!unread[f], "not counted as unreadable");
    /* A pid that is not there. */
    cr_assert_eq(smx_proc_read(t.root, 4343, 123456, &crafted_env, &p, unread), -ESRCH);
    cr_assert_str_eq(shmetrics_errmsg(), "process 4343 is gone");
    drop_tree(&t);
}

Test(procstat, zombie_and_dead_are_gone)
{
    static const char states[] = {'Z', 'X', 'x'};
    for (size_t i = 0; i < sizeof states; i++) {
        struct tree t;
        make_tree(&t, states[i]);
        struct smx_proc_sample p;
        bool unread[SMX_PROC_NFILES];
        cr_assert_eq(read_4242(&t, 123456, &p, unread), -ESRCH, "state %c", states[i]);
        drop_tree(&t);
    }
    /* D (disk sleep), R, T, t, I are alive. */
    static const char alive[] = {'R', 'D', 'T', 't', 'I'};
    for (size_t i = 0; i < sizeof alive; i++) {
        struct tree t;
        make_tree(&t, alive[i]);
        struct smx_proc_sample p;
        bool unread[SMX_PROC_NFILES];
        cr_assert_eq(read_4242(&t, 123456, &p, unread), 0, "state %c", alive[i]);
        drop_tree(&t);
    }
}

Test(procstat, a_file_that_fails_leaves_its_samples_out_and_is_counted)
{
    struct tree t;
    struct smx_proc_sample p;
    bool unread[SMX_PROC_NFILES];

    /* limits malformed: no max_fds, the rest there. */
    make_tree(&t, 'S');
    put(&t, "4242/limits", "Limit Soft Hard\nMax open files lots 5 files\n");
    cr_assert_eq(read_4242(&t, 123456, &p, unread), 0);
    cr_assert(!p.has_max_fds && p.has_open_fds && p.open_fds == 4.0 && p.cpu_seconds == 3.25);
    cr_assert(!unread[SMX_PROC_STAT] && unread[SMX_PROC_LIMITS] && !unread[SMX_PROC_FD]);
    /* limits not a file that reads (a directory: EISDIR). */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm %s/4242/limits && mkdir %s/4242/limits", t.dir, t.dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(read_4242(&t, 123456, &p, unread), 0);
    cr_assert(!p.has_max_fds && p.has_open_fds && unread[SMX_PROC_LIMITS]);
    drop_tree(&t);

    /* fd not a directory (ENOTDIR): no open_fds. */
    make_tree(&t, 'S');
    snprintf(cmd, sizeof cmd, "rm -r %s/4242/fd && : > %s/4242/fd", t.dir, t.dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(read_4242(&t, 123456, &p, unread), 0);
    cr_assert(p.has_max_fds && !p.has_open_fds && p.max_fds == 1024.0);
    cr_assert(!unread[SMX_PROC_STAT] && !unread[SMX_PROC_LIMITS] && unread[SMX_PROC_FD]);
    drop_tree(&t);

    /* stat unreadable (a directory): nothing of it, counted. */
    make_tree(&t, 'S');
    snprintf(cmd, sizeof cmd, "rm %s/4242/stat && mkdir %s/4242/stat", t.dir, t.dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(read_4242(&t, 123456, &p, unread), -EISDIR);
    cr_assert(unread[SMX_PROC_STAT] && !unread[SMX_PROC_LIMITS] && !unread[SMX_PROC_FD]);
    /* stat malformed: the same. */
    snprintf(cmd, sizeof cmd, "rmdir %s/4242/stat", t.dir);
    cr_assert_eq(system(cmd), 0);
    put(&t, "4242/stat", "4242 (w) S 1 2 3\n");
    cr_assert_eq(read_4242(&t, 123456, &p, unread), -EBADMSG);
    cr_assert(unread[SMX_PROC_STAT]);
    cr_assert_str_eq(shmetrics_errmsg(), "/proc/4242/stat: 6 fields, not the 24 wanted");
    /* stat longer than the buffer: refused, not cut. */
    char big[2048];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = 0;
    put(&t, "4242/stat", big);
    cr_assert_eq(read_4242(&t, 123456, &p, unread), -EFBIG);
    cr_assert(unread[SMX_PROC_STAT]);
    /* stat gone (the process exited between the two opens): not counted. */
    snprintf(cmd, sizeof cmd, "rm %s/4242/stat", t.dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(read_4242(&t, 123456, &p, unread), -ESRCH);
    cr_assert(!unread[SMX_PROC_STAT]);
    drop_tree(&t);
}

Test(procstat, btime_after_lines_longer_than_the_buffer)
{
    struct tree t;
    snprintf(t.dir, sizeof t.dir, "/tmp/shmetrics-procstat-XXXXXX");
    cr_assert(mkdtemp(t.dir));
    /* An intr line of 20,000 bytes, then the btime line split across
     * reads at every offset the buffer may give it. */
    for (size_t pad = 0; pad < 4200; pad += 97) {
        char path[128];
        snprintf(path, sizeof path, "%s/stat", t.dir);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fprintf(f, "cpu  1 2 3\n%*s\nintr", (int)pad, "x");
        for (int i = 0; i < 4000; i++)
            fputs(" 1234", f);
        fputs("\nctxt 5\nbtime 1699999999\nprocesses 9\n", f);
        fclose(f);
        t.root = open(t.dir, O_PATH | O_DIRECTORY);
        uint64_t bt = 0;
        cr_assert_eq(smx_btime_read(t.root, &bt), 0, "pad %zu: %s", pad, shmetrics_errmsg());
        cr_assert_eq(bt, 1699999999, "pad %zu", pad);
        close(t.root);
    }
    /* The last line, without a newline. */
    put(&t, "stat", "cpu 1\nbtime 42");
    t.root = open(t.dir, O_PATH | O_DIRECTORY);
    uint64_t bt = 0;
    cr_assert_eq(smx_btime_read(t.root, &bt), 0);
    cr_assert_eq(bt, 42);
    put(&t, "stat", "cpu 1\n");
    cr_assert_eq(smx_btime_read(t.root, &bt), -ENOENT);
    cr_assert_str_eq(shmetrics_errmsg(), "/proc/stat has no btime line");
    drop_tree(&t);
}

/* ------------------------------------------------------ the real /proc */

static uint64_t start_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct smx_stat s;
    cr_assert_eq(smx_stat_parse(buf, n, &s), 0);
    return s.starttime;
}

static char state_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct smx_stat s;
    return smx_stat_parse(buf, n, &s) == 0 ? s.state : 0;
}

Test(procstat, a_live_child_then_a_zombie_then_nothing)
{
    int gate[2];
    cr_assert_eq(pipe(gate), 0);
    pid_t child = fork();
    if (child == 0) {
        /* Killed with the test, whatever becomes of the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* 5 descriptors: 0-2, the gate's write end, one more. */
        close(gate[0]);
        for (int fd = 3; fd < 1024; fd++)
            if (fd != gate[1])
                close(fd);
        open("/dev/null", O_RDONLY);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = 777;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (write(gate[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(gate[1]);
    char c;
    cr_assert_eq(read(gate[0], &c, 1), 1);
    close(gate[0]);
    int root = open("/proc", O_PATH | O_DIRECTORY);
    long ticks = sysconf(_SC_CLK_TCK);
    struct smx_proc_env env = {.ticks = (uint64_t)ticks, .page = (uint64_t)sysconf(_SC_PAGESIZE), .procfs = true};
    cr_assert_eq(smx_btime_read(root, &env.btime), 0);
    uint64_t start = start_of(child);
    struct smx_proc_sample fast, slow;
    bool unread[SMX_PROC_NFILES] = {false};
    cr_assert_eq(smx_proc_read(root, (uint32_t)child, start, &env, &fast, unread), 0, "%s", shmetrics_errmsg());
    /* The same figures the long way (the limits file, the fd listing). */
    struct smx_proc_env files = env;
    files.procfs = false;
    cr_assert_eq(smx_proc_read(root, (uint32_t)child, start, &files, &slow, unread), 0);
    for (int f = 0; f < SMX_PROC_NFILES; f++)
        cr_assert(!unread[f]);
    cr_assert_eq(fast.max_fds, 777.0);
    cr_assert_eq(slow.max_fds, 777.0);
    cr_assert_eq(fast.open_fds, 5.0);
    cr_assert_eq(slow.open_fds, 5.0);
    cr_assert_eq(fast.threads, 1.0);
    cr_assert_eq(fast.start_time_seconds, (double)start / (double)ticks + (double)env.btime);
    cr_assert(fast.resident_bytes > 0 && fast.virtual_bytes >= fast.resident_bytes);
    /* The slot of a process that held this pid before: not this one. */
    cr_assert_eq(smx_proc_read(root, (uint32_t)child, start - 1, &env, &fast, unread), -ESRCH);

    /* Killed, not reaped: a zombie, whose slot gets no samples. */
    kill(child, SIGKILL);
    for (int i = 0; i < 2000 && state_of(child) != 'Z'; i++)
        usleep(1000);
    cr_assert_eq(state_of(child), 'Z');
    cr_assert_eq(smx_proc_read(root, (uint32_t)child, start, &env, &fast, unread), -ESRCH);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    cr_assert_eq(smx_proc_read(root, (uint32_t)child, start, &env, &fast, unread), -ESRCH);
    for (int f = 0; f < SMX_PROC_NFILES; f++)
        cr_assert(!unread[f]);
    close(root);
}

Test(procstat, the_snapshot_lists_live_processes_once_per_pid)
{
    const char *path = test_arena_path("procstat-live");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .processes = 8};
    shmetrics_registry_t *w;
    cr_assert_eq(shmetrics_open(&o, &w), 0);
    shmetrics_spec_t gs = {.name = "up", .help = "h"};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(w, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    shmetrics_gauge_set(s, 1); /* this process takes a slot */
    /* A second registry of this process takes a second slot of one pid. */
    shmetrics_registry_t *w2 = test_open(path, 0);
    shmetrics_gauge_t *g2;
    shmetrics_gauge_series_t *s2;
    cr_assert_eq(shmetrics_gauge_register(w2, &gs, &g2), 0);
    cr_assert_eq(shmetrics_gauge_labels(g2, &s2, NULL), 0);
    shmetrics_gauge_set(s2, 1);
    /* A child that attached and was killed without detaching. */
    pid_t child = fork();
    if (child == 0) {
        shmetrics_registry_t *r = test_worker_open(path);
        shmetrics_gauge_t *cg;
        shmetrics_gauge_series_t *cs;
        if (shmetrics_gauge_register(r, &gs, &cg) < 0 || shmetrics_gauge_labels(cg, &cs, NULL) < 0)
            _exit(1);
        shmetrics_gauge_set(cs, 2);
        raise(SIGKILL);
    }
    cr_assert_eq(waitpid(child, NULL, 0), child);

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const struct smx_live_proc *live;
    cr_assert_eq(smx_snapshot_live(snap, &live), 2);
    cr_assert_eq(live[0].pid, (uint32_t)getpid());
    cr_assert_eq(live[1].pid, (uint32_t)getpid());
    cr_assert_eq(live[0].start_time, start_of(getpid()));
    cr_assert_eq(snap->procs_dead, 1);
    struct smx_procs procs;
    cr_assert_eq(smx_procs_read(snap, &procs), 0);
    cr_assert_eq(procs.n, 1);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    cr_assert_str_eq(procs.p[0].pid, pid);
    cr_assert(procs.p[0].has_start_time && procs.p[0].has_open_fds && procs.p[0].has_max_fds);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    cr_assert_eq(procs.p[0].max_fds, (double)rl.rlim_cur);
    for (int f = 0; f < SMX_PROC_NFILES; f++)
        cr_assert_eq(procs.unread[f], 0);
    smx_procs_free(&procs);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, 0);
    shmetrics_shutdown(w2, 0);
    shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------------------- the families appended */

static const shmetrics_family_t *family(const shmetrics_snapshot_t *m, const char *name)
{
    return test_family(m, name);
}

Test(procstat, families_one_sample_per_worker_labelled_pid)
{
    shmetrics_label_t up_labels[] = {{"pid", "1"}};
    shmetrics_sample_t up_sample = {.suffix = "", .nlabels = 1, .labels = up_labels, .value = 1};
    shmetrics_family_t arena[] = {{.name = "up",
                                   .help = "h",
                                   .type = SHMETRICS_GAUGE,
                                   .gauge_mode = SHMETRICS_MODE_ALL,
                                   .nsamples = 1,
                                   .samples = &up_sample}};
    shmetrics_snapshot_t snap = {.nfamilies = 1, .families = arena};
    struct smx_proc_sample p[2] = {
        {.pidnum = 10,
         .pid = "10",
         .cpu_seconds = 1.5,
         .resident_bytes = 4096,
         .virtual_bytes = 8192,
         .start_time_seconds = 1700000000.25,
         .threads = 4,
         .open_fds = 12,
         .max_fds = 1024,
         .has_start_time = true,
         .has_open_fds = true,
         .has_max_fds = true},
        {.pidnum = 11, .pid = "11", .cpu_seconds = 2, .threads = 1, .max_fds = 64, .has_max_fds = true},
    };
    struct smx_procs procs = {.n = 2, .p = p, .unread = {0, 0, 1}};
    shmetrics_label_t backend = {"backend", "otlp"};
    shmetrics_push_stats_t st = {0};
    /* None of the collector's own rows: the workers' alone, no backend label. */
    struct smx_self_in in = {.who = 0, .label = &backend, .snap = &snap, .push = &st, .procs = &procs};
    shmetrics_snapshot_t m;
    cr_assert_eq(smx_self_append(&in, &m), 0);
    static const char *const names[] = {"up",
                                        "process_cpu_seconds",
                                        "process_resident_memory_bytes",
                                        "process_virtual_memory_bytes",
                                        "process_start_time_seconds",
                                        "process_open_fds",
                                        "process_max_fds",
                                        "process_threads",
                                        "shmetrics_collector_process_files_unreadable"};
    static const size_t counts[] = {1, 2, 2, 2, 1, 1, 2, 2, 3};
    cr_assert_eq(m.nfamilies, 9);
    for (size_t i = 0; i < 9; i++) {
        cr_assert_str_eq(m.families[i].name, names[i]);
        cr_assert_eq(m.families[i].nsamples, counts[i], "%s", names[i]);
    }
    const shmetrics_family_t *cpu = family(&m, "process_cpu_seconds");
    cr_assert_eq(cpu->type, SHMETRICS_COUNTER);
    cr_assert_str_eq(cpu->help, "Total user and system CPU time spent in seconds.");
    cr_assert_str_eq(cpu->samples[0].suffix, "_total");
    cr_assert_eq(cpu->samples[0].nlabels, 1);
    cr_assert_str_eq(cpu->samples[0].labels[0].name, "pid");
    cr_assert_str_eq(cpu->samples[0].labels[0].value, "10");
    cr_assert_eq(cpu->samples[0].value, 1.5);
    cr_assert_str_eq(cpu->samples[1].labels[0].value, "11");
    cr_assert_eq(cpu->samples[1].value, 2.0);
    const char *pid10[] = {"pid=10"}, *pid11[] = {"pid=11"};
    cr_assert_eq(test_sample(&m, "process_resident_memory_bytes", 1, pid10), 4096.0);
    cr_assert_eq(test_sample(&m, "process_virtual_memory_bytes", 1, pid10), 8192.0);
    cr_assert_eq(test_sample(&m, "process_start_time_seconds", 1, pid10), 1700000000.25);
    cr_assert(isnan(test_sample(&m, "process_start_time_seconds", 1, pid11)), "left out");
    cr_assert_eq(test_sample(&m, "process_open_fds", 1, pid10), 12.0);
    cr_assert(isnan(test_sample(&m, "process_open_fds", 1, pid11)), "left out");
    cr_assert_eq(test_sample(&m, "process_max_fds", 1, pid11), 64.0);
    cr_assert_eq(test_sample(&m, "process_threads", 1, pid10), 4.0);
    const char *fd[] = {"file=fd"}, *stat[] = {"file=stat"};
    cr_assert_eq(test_sample(&m, "shmetrics_collector_process_files_unreadable", 1, fd), 1.0);
    cr_assert_eq(test_sample(&m, "shmetrics_collector_process_files_unreadable", 1, stat), 0.0);
    for (size_t i = 1; i < 8; i++)
        cr_assert_eq(m.families[i].type, i == 1 ? SHMETRICS_COUNTER : SHMETRICS_GAUGE);
    smx_self_free(&m);

    /* A pusher with its own rows: backend on its own, not on the workers'. */
    in.who = SMX_SELF_PUSH;
    cr_assert_eq(smx_self_append(&in, &m), 0);
    cr_assert_eq(m.nfamilies, 1 + 8 + 8);
    cr_assert_str_eq(m.families[1].name, "shmetrics_push_attempts");
    cr_assert_str_eq(m.families[1].samples[0].labels[0].name, "backend");
    cr_assert_eq(family(&m, "process_threads")->samples[0].nlabels, 1);
    smx_self_free(&m);

    /* Without procs: none of them. */
    in.procs = NULL;
    cr_assert_eq(smx_self_append(&in, &m), 0);
    cr_assert_eq(m.nfamilies, 1 + 8);
    cr_assert_null(family(&m, "process_cpu_seconds"));
    smx_self_free(&m);

    /* No workers: the families, without samples. */
    struct smx_procs none = {0};
    in.procs = &none;
    in.who = SMX_SELF_SERVE;
    shmetrics_arena_info_t ai = {0};
    in.arena = &ai;
    cr_assert_eq(smx_self_append(&in, &m), 0);
    cr_assert_eq(family(&m, "process_open_fds")->nsamples, 0);
    cr_assert_eq(family(&m, "shmetrics_collector_process_files_unreadable")->nsamples, 3);
    smx_self_free(&m);
}

Test(procstat, a_name_the_arena_exposes_is_left_to_the_arena)
{
    shmetrics_sample_t one = {.suffix = "", .value = 1};
    /* A worker's own process_open_fds gauge, and a gauge named like the
     * counter's sample. */
    shmetrics_family_t arena[] = {
        {.name = "process_open_fds",
         .help = "mine",
         .type = SHMETRICS_GAUGE,
         .gauge_mode = SHMETRICS_MODE_ALL,
         .nsamples = 1,
         .samples = &one},
        {.name = "process_cpu_seconds_total",
         .help = "mine",
         .type = SHMETRICS_GAUGE,
         .gauge_mode = SHMETRICS_MODE_ALL,
         .nsamples = 1,
         .samples = &one},
        {.name = "process_threads_max",
         .help = "mine",
         .type = SHMETRICS_GAUGE,
         .gauge_mode = SHMETRICS_MODE_ALL,
         .nsamples = 1,
         .samples = &one},
    };
    shmetrics_snapshot_t snap = {.nfamilies = 3, .families = arena};
    struct smx_proc_sample p = {.pidnum = 10, .pid = "10", .has_open_fds = true};
    struct smx_procs procs = {.n = 1, .p = &p};
    struct smx_self_in in = {.who = 0, .snap = &snap, .procs = &procs};
    shmetrics_snapshot_t m;
    cr_assert_eq(smx_self_append(&in, &m), 0);
    cr_assert_eq(m.nfamilies, 3 + 8 - 2);
    size_t open_fds = 0, cpu = 0;
    for (size_t i = 0; i < m.nfamilies; i++) {
        open_fds += strcmp(m.families[i].name, "process_open_fds") == 0;
        cpu += strncmp(m.families[i].name, "process_cpu_seconds", 19) == 0;
    }
    cr_assert_eq(open_fds, 1);
    cr_assert_eq(cpu, 1);
    cr_assert_str_eq(family(&m, "process_open_fds")->help, "mine");
    cr_assert_not_null(family(&m, "process_threads"));
    smx_self_free(&m);
}

Test(procstat, unknown_server_and_push_flags_are_refused)
{
    const char *path = test_arena_path("procstat-flags");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0);
    shmetrics_server_options_t so = {.listen = "127.0.0.1:0", .threads = 1, .flags = 0x2};
    shmetrics_server_t *srv = NULL;
    cr_assert_eq(shmetrics_server_start(r, &so, &srv), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "unknown server flags 0x2");
    cr_assert_null(srv);
    so.flags = SHMETRICS_SERVER_NO_PROCESS_METRICS;
    cr_assert_eq(shmetrics_server_start(r, &so, &srv), 0, "%s", shmetrics_errmsg());
    shmetrics_server_stop(srv);
    shmetrics_push_options_t po = {.backend = SHMETRICS_PUSH_NULL, .flags = 0x20};
    shmetrics_pusher_t *p = NULL;
    cr_assert_eq(shmetrics_pusher_create(r, &po, &p), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "unknown push flags 0x20");
    po.flags = SHMETRICS_PUSH_NO_PROCESS_METRICS;
    cr_assert_eq(shmetrics_pusher_create(r, &po, &p), 0, "%s", shmetrics_errmsg());
    shmetrics_pusher_stop(p);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}
