/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_arena.c - creating, attaching and validating arenas, and every
 * error an arena file can give.
 */
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/stat.h>

#include "../shm/hash.h"
#include "../shm/layout.h"
#include "common.h"

static int open_rc(const char *path, unsigned flags, uint32_t families)
{
    shmetrics_options_t o = {.path = path, .flags = flags, .families = families};
    shmetrics_registry_t *reg = NULL;
    int rc = shmetrics_open(&o, &reg);
    if (rc == 0)
        shmetrics_shutdown(reg, 0);
    return rc;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void patch_u32(const char *path, off_t off, uint32_t v)
{
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, &v, sizeof v, off), (ssize_t)sizeof v);
    close(fd);
}

Test(arena, create_then_attach)
{
    const char *path = test_arena_path("create");
    shmetrics_options_t o =
        {.path = path, .flags = SHMETRICS_OPEN_CREATE, .families = 10, .series = 100, .processes = 8, .shards = 4};
    shmetrics_registry_t *a, *b;
    cr_assert_eq(shmetrics_open(&o, &a), 0, "%s", shmetrics_errmsg());
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    shmetrics_arena_info_t ia, ib;
    cr_assert_eq(shmetrics_arena_info(a, &ia), 0);
    cr_assert_eq(ia.families_cap, 10);
    cr_assert_eq(ia.series_cap, 100);
    cr_assert_eq(ia.processes_cap, 8);
    cr_assert_eq(ia.shards, 4);
    cr_assert_eq(ia.file_bytes, (uint64_t)st.st_size);
    cr_assert_eq(ia.creator_pid, (uint32_t)getpid());

    shmetrics_options_t o2 = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    cr_assert_eq(shmetrics_open(&o2, &b), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_arena_info(b, &ib), 0);
    cr_assert_eq(ib.generation, ia.generation);
    cr_assert_eq(ib.series_cap, 100);
    shmetrics_shutdown(b, 0);
    cr_assert_eq(shmetrics_shutdown(a, SHMETRICS_SHUTDOWN_UNLINK), 0);
    cr_assert_eq(access(path, F_OK), -1);
}

Test(arena, bare_name_lives_in_dev_shm)
{
    char name[64];
    snprintf(name, sizeof name, "shmetrics-test-bare-%d", (int)getpid());
    shmetrics_registry_t *r = test_open(name, SHMETRICS_OPEN_CREATE);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    cr_assert_eq(access(path, F_OK), 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(arena, file_mode_is_configurable)
{
    const char *path = test_arena_path("mode");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .file_mode = 0640};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(arena, missing_without_create)
{
    const char *path = test_arena_path("missing");
    cr_assert_eq(open_rc(path, 0, 0), -ENOENT);
    cr_assert(strstr(shmetrics_errmsg(), "no arena at"), "%s", shmetrics_errmsg());
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), -ENOENT);
}

Test(arena, not_an_arena)
{
    const char *path = test_arena_path("garbage");
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    write_file(path, junk, sizeof junk);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), -EBADMSG);
    cr_assert(strstr(shmetrics_errmsg(), "not a shmetrics arena"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, smaller_than_a_header)
{
    const char *path = test_arena_path("tiny");
    write_file(path, "SHMETRIC", 8);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), -EBADMSG);
    cr_assert(strstr(shmetrics_errmsg(), "truncated arena"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, truncated)
{
    const char *path = test_arena_path("trunc");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_shutdown(r, 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), -EBADMSG);
    cr_assert(strstr(shmetrics_errmsg(), "truncated arena"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, other_layout_version)
{
    const char *path = test_arena_path("version");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_shutdown(r, 0);
    patch_u32(path, 8, 99);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), -EPROTO);
    cr_assert(strstr(shmetrics_errmsg(), "layout version 99"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, offsets_that_do_not_match_capacities)
{
    const char *path = test_arena_path("offsets");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_shutdown(r, 0);
    patch_u32(path, 96, 12345); /* off_families */
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), -EBADMSG);
    cr_assert(strstr(shmetrics_errmsg(), "offsets do not match"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, capacity_mismatch)
{
    const char *path = test_arena_path("caps");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .families = 16};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 32), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "capacity mismatch: the arena has families=16, 32 was asked for"), "%s",
              shmetrics_errmsg());
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 16), 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(arena, bad_options)
{
    const char *path = test_arena_path("opts");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .shards = 3};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "shard count 3 must be a power of two"), "%s", shmetrics_errmsg());
    o.shards = 0;
    o.flags = 0x80;
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "unknown open flags"), "%s", shmetrics_errmsg());
    o.flags = SHMETRICS_OPEN_CREATE | 0x10; /* the first flag after SHMETRICS_OPEN_ALLOW_FOREIGN */
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "unknown open flags 0x11");
    o.flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_READONLY;
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "read-only open cannot create"), "%s", shmetrics_errmsg());
    o.flags = SHMETRICS_OPEN_CREATE;
    o.file_mode = 01777;
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    o.file_mode = 0;
    o.path = "";
    cr_assert_eq(shmetrics_open(&o, &r), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "no arena path"), "%s", shmetrics_errmsg());
    cr_assert_eq(access(path, F_OK), -1);
}

Test(arena, exclusive_create)
{
    const char *path = test_arena_path("excl");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL, 0), 0);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL, 0), -EEXIST);
    cr_assert(strstr(shmetrics_errmsg(), "already exists"), "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, directory_missing)
{
    cr_assert_eq(open_rc("/dev/shm/no-such-dir-shmetrics/arena", SHMETRICS_OPEN_CREATE, 0), -ENOENT);
    cr_assert(strstr(shmetrics_errmsg(), "cannot create an arena in /dev/shm/no-such-dir-shmetrics"), "%s",
              shmetrics_errmsg());
}

Test(arena, readonly_refuses_writes)
{
    const char *path = test_arena_path("ro");
    shmetrics_registry_t *w = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_spec_t spec = {.name = "ro_total", .help = "h"};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(r, &spec, &c), -EROFS);
    cr_assert(strstr(shmetrics_errmsg(), "read-only"), "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_reset(r), -EROFS);
    /* A metric the writer registered can be looked up, not extended. */
    shmetrics_counter_t *wc;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(w, &spec, &wc), 0);
    cr_assert_eq(shmetrics_counter_get(r, "ro", &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), -EROFS);
    shmetrics_shutdown(r, 0);
    shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK);
}

/* Eight processes open a missing arena at the same moment: all end on one
 * complete arena (same generation), none sees a half-built header. */
Test(arena, creation_race, .timeout = 60)
{
    const char *path = test_arena_path("race");
    for (int round = 0; round < 20; round++) {
        unlink(path);
        struct test_gate gate;
        test_gate_init(&gate);
        int gens[2];
        cr_assert_eq(pipe(gens), 0);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                close(gens[0]);
                test_gate_wait(&gate);
                shmetrics_registry_t *r = test_worker_open(path);
                shmetrics_arena_info_t in;
                shmetrics_arena_info(r, &in);
                shmetrics_spec_t spec = {.name = "opened_total", .help = "opens"};
                shmetrics_counter_t *c;
                shmetrics_counter_series_t *s;
                if (shmetrics_counter_register(r, &spec, &c) < 0 || shmetrics_counter_labels(c, &s, NULL) < 0)
                    _exit(2);
                shmetrics_counter_add(s, 1);
                if (write(gens[1], &in.generation, sizeof in.generation) != sizeof in.generation)
                    _exit(3);
                _exit(0);
            }
        }
        close(gens[1]);
        test_gate_open(&gate);
        test_wait_all(pids, 8);
        uint64_t g0 = 0, g;
        int n = 0;
        while (read(gens[0], &g, sizeof g) == sizeof g) {
            if (n++ == 0)
                g0 = g;
            cr_assert_eq(g, g0, "round %d: two arenas were created", round);
        }
        close(gens[0]);
        cr_assert_eq(n, 8);
        shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
        shmetrics_counter_t *c;
        shmetrics_counter_series_t *s;
        cr_assert_eq(shmetrics_counter_get(r, "opened", &c), 0);
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(r, &snap), 0);
        cr_assert_eq(test_sample(snap, "opened", 0, NULL), 8.0, "round %d", round);
        shmetrics_snapshot_free(snap);
        (void)s;
        shmetrics_shutdown(r, 0);
    }
    /* No temporary files are left behind. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s.tmp.* 2>/dev/null | grep -q .", path);
    cr_assert_neq(system(cmd), 0);
    unlink(path);
}

Test(arena, full_families_series_processes)
{
    const char *path = test_arena_path("full");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .families = 3, .series = 4, .processes = 1};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0);
    shmetrics_counter_t *c[3];
    const char *names[] = {"a_total", "b_total", "c_total", "d_total"};
    const char *lbl[] = {"k"};
    for (int i = 0; i < 3; i++) {
        shmetrics_spec_t spec = {.name = names[i], .help = "h", .label_names = lbl, .nlabels = 1};
        cr_assert_eq(shmetrics_counter_register(r, &spec, &c[i]), 0, "%s", shmetrics_errmsg());
    }
    shmetrics_spec_t spec = {.name = names[3], .help = "h"};
    shmetrics_counter_t *d;
    cr_assert_eq(shmetrics_counter_register(r, &spec, &d), -ENOSPC);
    cr_assert(strstr(shmetrics_errmsg(), "arena full: all 3 family records are in use"), "%s", shmetrics_errmsg());

    shmetrics_counter_series_t *s[4];
    const char *vals[] = {"1", "2", "3", "4", "5"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(shmetrics_counter_labels(c[0], &s[i], vals[i], NULL), 0, "%s", shmetrics_errmsg());
    shmetrics_counter_series_t *extra;
    cr_assert_eq(shmetrics_counter_labels(c[0], &extra, vals[4], NULL), -ENOSPC);
    cr_assert(strstr(shmetrics_errmsg(), "arena full: all 4 series records are in use"), "%s", shmetrics_errmsg());
    /* What exists keeps working. */
    for (int i = 0; i < 4; i++)
        shmetrics_counter_add(s[i], (uint64_t)i + 1);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(shmetrics_counter_sum(s[i]), (double)i + 1);
    shmetrics_arena_info_t in;
    shmetrics_arena_info(r, &in);
    cr_assert_eq(in.refused, 2);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(arena, full_process_table)
{
    const char *path = test_arena_path("procs");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .processes = 1};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0);
    shmetrics_spec_t spec = {.name = "g", .help = "h", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(r, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, 4), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child needs a slot of its own, and there is none. */
        shmetrics_gauge_series_t *cs;
        int rc = shmetrics_gauge_labels(g, &cs, NULL);
        int rc2 = shmetrics_gauge_set(s, 5);
        _exit(rc == 0 && rc2 == -ENOSPC && strstr(shmetrics_errmsg(), "all 1 process slots are taken") ? 0 : 1);
    }
    test_wait_all(&pid, 1);
    cr_assert_eq(shmetrics_gauge_local(s), 4.0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(arena, truncated_under_a_reader_is_an_error_not_a_crash)
{
    const char *path = test_arena_path("shrink");
    shmetrics_registry_t *w = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "c_total", .help = "h"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(w, &spec, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    shmetrics_counter_add(s, 3);
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(truncate(path, 4096), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(shmetrics_collect(r, &snap), -EFAULT);
        cr_assert(strstr(shmetrics_errmsg(), "the arena file was truncated under the reader"), "%s",
                  shmetrics_errmsg());
    }
    shmetrics_process_t p[4];
    size_t n;
    cr_assert_eq(shmetrics_processes(r, p, 4, &n), -EFAULT);
    shmetrics_shutdown(r, 0);
    unlink(path);
}

/* Field 22 of /proc/self/stat: this process's start time. */
static uint64_t own_start_time(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    cr_assert(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    unsigned long long v = 0;
    cr_assert_eq(sscanf(strrchr(buf, ')') + 1,
                        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v),
                 1);
    return v;
}

Test(arena, a_reclaim_lock_held_by_a_live_process_is_waited_for_a_bounded_time, .timeout = 60)
{
    /* The lock word names a live process (this one) that never lets go, as
     * a stopped process or another writer could leave it: detaching gives
     * up after a bounded wait instead of hanging, and leaves the slot for a
     * later reclaimer. */
    const char *path = test_arena_path("stucklock");
    shmetrics_registry_t *w = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "g", .help = "h", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(w, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, 5), 0);
    uint64_t word = (uint32_t)getpid() | (own_start_time() << 32);
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, &word, sizeof word, offsetof(struct shm_header, reclaim_lock)), (ssize_t)sizeof word);
    cr_assert_eq(shmetrics_shutdown(w, 0), 0, "shutdown returns");

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_process_t p[2];
    size_t n;
    cr_assert_eq(shmetrics_processes(r, p, 2, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(!p[0].exited, "the slot was left as it was, not folded");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(test_sample(snap, "g", 0, NULL), 5.0, "the value is still read from the slot");
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, 0);

    close(fd);
    unlink(path);
}

/* ---- foreign arenas (include/shmetrics.h, "Foreign arenas") ---- */

#define FOREIGN_HINT                                                                            \
    "to write to it anyway, opt in with the open flag SHMETRICS_OPEN_ALLOW_FOREIGN (shmetrics " \
    "--allow-foreign-arena, Python allow_foreign=True) or the environment variable SHMETRICS_ALLOW_FOREIGN_ARENA=1"

static int open_mode_rc(const char *path, unsigned flags, unsigned file_mode)
{
    shmetrics_options_t o = {.path = path, .flags = flags, .file_mode = file_mode};
    shmetrics_registry_t *reg = NULL;
    int rc = shmetrics_open(&o, &reg);
    if (rc == 0)
        shmetrics_shutdown(reg, 0);
    return rc;
}

/* "uid 0 (root)", as the messages name a user. */
static const char *user_text(uid_t uid)
{
    static char buf[2][128];
    static int k;
    struct passwd *pw = getpwuid(uid);
    k ^= 1;
    if (pw)
        snprintf(buf[k], sizeof buf[k], "uid %u (%s)", (unsigned)uid, pw->pw_name);
    else
        snprintf(buf[k], sizeof buf[k], "uid %u", (unsigned)uid);
    return buf[k];
}

static const char *group_text(gid_t gid)
{
    static char buf[128];
    struct group *gr = getgrgid(gid);
    if (gr)
        snprintf(buf, sizeof buf, "gid %u (%s)", (unsigned)gid, gr->gr_name);
    else
        snprintf(buf, sizeof buf, "gid %u", (unsigned)gid);
    return buf;
}

Test(arena, world_writable_arena_refused_to_a_writer)
{
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    const char *path = test_arena_path("world");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(chmod(path, 0666), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "refusing to write to %s: its mode 0666 lets every user write to it (it belongs to this user, %s), so "
             "any user could alter its metrics; " FOREIGN_HINT,
             path, user_text(geteuid()));
    cr_assert_eq(open_rc(path, 0, 0), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* A file_mode without the other write bit does not cover it. */
    cr_assert_eq(open_mode_rc(path, SHMETRICS_OPEN_CREATE, 0664), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* A collector reads it. */
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), 0, "%s", shmetrics_errmsg());
    /* The flag opts in; and so does a file_mode that would make it so. */
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_ALLOW_FOREIGN, 0), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(open_mode_rc(path, 0, 0666), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(open_rc(path, 0, 0), 0, "%s", shmetrics_errmsg());
    unlink(path);
}

Test(arena, environment_variable_opts_in)
{
    const char *path = test_arena_path("env");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(chmod(path, 0646), 0);
    setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", "1", 1);
    cr_assert_eq(open_rc(path, 0, 0), 0, "%s", shmetrics_errmsg());
    /* Exactly "1": another value is no opt-in. */
    const char *others[] = {"yes", "0", "", "11", "true"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", others[i], 1);
        cr_assert_eq(open_rc(path, 0, 0), -EPERM, "SHMETRICS_ALLOW_FOREIGN_ARENA=%s", others[i]);
        cr_assert(strstr(shmetrics_errmsg(), "its mode 0646 lets every user write to it"), "%s", shmetrics_errmsg());
    }
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    cr_assert_eq(open_rc(path, 0, 0), -EPERM);
    unlink(path);
}

Test(arena, group_writable_arena_and_file_mode)
{
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    const char *path = test_arena_path("group");
    /* The creator itself is not refused the mode it asked for. */
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .file_mode = 0660};
    shmetrics_registry_t *creator;
    cr_assert_eq(shmetrics_open(&o, &creator), 0, "%s", shmetrics_errmsg());
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0660);
    char want[1024];
    snprintf(want, sizeof want,
             "refusing to write to %s: its mode 0660 lets its group, %s, write to it (it belongs to this user, %s), "
             "so the group's users could alter its metrics; " FOREIGN_HINT,
             path, group_text(st.st_gid), user_text(geteuid()));
    cr_assert_eq(open_mode_rc(path, SHMETRICS_OPEN_CREATE, 0), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    cr_assert_eq(open_mode_rc(path, 0, 0640), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* A writer that would create it 0660 (or more open) accepts it. */
    cr_assert_eq(open_mode_rc(path, SHMETRICS_OPEN_CREATE, 0660), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(open_mode_rc(path, 0, 0620), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(open_mode_rc(path, 0, 0666), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(open_mode_rc(path, SHMETRICS_OPEN_ALLOW_FOREIGN, 0), 0, "%s", shmetrics_errmsg());
    shmetrics_shutdown(creator, SHMETRICS_SHUTDOWN_UNLINK);
}

/* Eight processes create one missing arena with mode 0660 at once: the
 * losers of the race attach to the winner's 0660 file, which their own
 * file_mode accepts. */
Test(arena, creation_race_group_mode, .timeout = 60)
{
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    const char *path = test_arena_path("racegroup");
    for (int round = 0; round < 10; round++) {
        unlink(path);
        struct test_gate gate;
        test_gate_init(&gate);
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                test_gate_wait(&gate);
                shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE, .file_mode = 0660};
                shmetrics_registry_t *r;
                if (shmetrics_open(&o, &r) < 0) {
                    fprintf(stderr, "worker open %s: %s\n", path, shmetrics_errmsg());
                    _exit(10);
                }
                shmetrics_shutdown(r, 0);
                _exit(0);
            }
        }
        test_gate_open(&gate);
        test_wait_all(pids, 8);
    }
    unlink(path);
}

Test(arena, another_users_arena_refused_to_a_writer)
{
    if (geteuid() != 0)
        cr_skip_test("giving a file to another user needs root");
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    const char *path = test_arena_path("owner");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(chown(path, 65534, 65534), 0);
    cr_assert_eq(chmod(path, 0644), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "refusing to write to %s: it belongs to %s, not to this user (%s), mode 0644; another user may have made "
             "it to read or alter this process's metrics; " FOREIGN_HINT,
             path, user_text(65534), user_text(0));
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), -EPERM);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* 0600, 0666: the owner decides, whatever the mode. */
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(open_rc(path, 0, 0), -EPERM);
    cr_assert(strstr(shmetrics_errmsg(), "not to this user (uid 0 (root)), mode 0600;"), "%s", shmetrics_errmsg());
    cr_assert_eq(open_mode_rc(path, 0, 0666), -EPERM);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_READONLY, 0), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_ALLOW_FOREIGN, 0), 0, "%s", shmetrics_errmsg());
    setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", "1", 1);
    cr_assert_eq(open_rc(path, 0, 0), 0, "%s", shmetrics_errmsg());
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    unlink(path);
}

Test(arena, symbolic_link_refused_to_a_writer)
{
    const char *path = test_arena_path("target");
    char link[300], dangling[300];
    snprintf(link, sizeof link, "%s.link", path);
    snprintf(dangling, sizeof dangling, "%s.dangling", path);
    unlink(link);
    unlink(dangling);
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(symlink(path, link), 0);
    cr_assert_eq(symlink("/dev/shm/shmetrics-test-no-such-target", dangling), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "%s is a symbolic link: a writer does not follow one at the arena's path (in a directory others may "
             "write to, such as /dev/shm, a link can point a writer at another file); give the path of the arena "
             "file itself",
             link);
    cr_assert_eq(open_rc(link, 0, 0), -ELOOP);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    cr_assert_eq(open_rc(link, SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_ALLOW_FOREIGN, 0), -ELOOP);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* A collector follows it. */
    cr_assert_eq(open_rc(link, SHMETRICS_OPEN_READONLY, 0), 0, "%s", shmetrics_errmsg());
    /* A dangling link: a writer neither follows it nor creates its target. */
    cr_assert_eq(open_rc(dangling, SHMETRICS_OPEN_CREATE, 0), -ELOOP);
    cr_assert(strstr(shmetrics_errmsg(), "is a symbolic link: a writer does not follow one"), "%s", shmetrics_errmsg());
    cr_assert_eq(access("/dev/shm/shmetrics-test-no-such-target", F_OK), -1);
    snprintf(want, sizeof want, "no arena at %s: it is a symbolic link to a file that does not exist", dangling);
    cr_assert_eq(open_rc(dangling, SHMETRICS_OPEN_READONLY, 0), -ENOENT);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    unlink(link);
    unlink(dangling);
    unlink(path);
}

Test(arena, not_a_regular_file)
{
    char dir[256], fifo[256], want[512];
    snprintf(dir, sizeof dir, "%s", test_arena_path("dir"));
    snprintf(fifo, sizeof fifo, "%s", test_arena_path("fifo"));
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    snprintf(want, sizeof want, "%s is a directory, not an arena file", dir);
    cr_assert_eq(open_rc(dir, SHMETRICS_OPEN_CREATE, 0), -EISDIR);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    cr_assert_eq(open_rc(dir, SHMETRICS_OPEN_READONLY, 0), -EISDIR);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    /* A FIFO does not block the open, read-only or not. */
    snprintf(want, sizeof want, "%s is a FIFO, not an arena file", fifo);
    cr_assert_eq(open_rc(fifo, SHMETRICS_OPEN_READONLY, 0), -EBADMSG);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    cr_assert_eq(open_rc(fifo, SHMETRICS_OPEN_CREATE, 0), -EBADMSG);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    rmdir(dir);
    unlink(fifo);
}

/* The registry of SHMETRICS_ARENA is a writer like any other. */
Test(arena, default_registry_refuses_a_foreign_arena)
{
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    const char *path = test_arena_path("default-foreign");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(chmod(path, 0606), 0);
    setenv("SHMETRICS_ARENA", path, 1);
    char want[1024];
    snprintf(want, sizeof want,
             "default registry: refusing to write to %s: its mode 0606 lets every user write to it (it belongs to "
             "this user, %s), so any user could alter its metrics; " FOREIGN_HINT,
             path, user_text(geteuid()));
    cr_assert_null(shmetrics_default());
    cr_assert_str_eq(shmetrics_errmsg(), want);
    unlink(path);
}

Test(arena, default_registry_with_the_environment_variable)
{
    const char *path = test_arena_path("default-opted");
    cr_assert_eq(open_rc(path, SHMETRICS_OPEN_CREATE, 0), 0);
    cr_assert_eq(chmod(path, 0606), 0);
    setenv("SHMETRICS_ARENA", path, 1);
    setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", "1", 1);
    cr_assert_not_null(shmetrics_default(), "%s", shmetrics_errmsg());
    unsetenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    unlink(path);
}

/* The index hash is part of the arena format: these values, for every
 * length of tail, are what every process of layout 5 computes (a change
 * would make two processes file one label set twice). */
Test(arena, the_index_hash_is_fixed)
{
    static const char key[] = "GET\0v1\0abcdefghijklmnopq";
    static const uint64_t want[] = {
        UINT64_C(0xe220a8397b1dcdaf), UINT64_C(0x9395356870005de7), UINT64_C(0xeb9d10beeed5525f),
        UINT64_C(0xb264be99f1319aa1), UINT64_C(0x602a80b27b8de48e), UINT64_C(0x22d9a54363edcb9a),
        UINT64_C(0xc9b381ccea5578d0), UINT64_C(0xd0e9884e59c96e34), UINT64_C(0x32545a6f45ec3ec9),
        UINT64_C(0x2722c2f00c7ff389), UINT64_C(0x7f6a84d903cde173), UINT64_C(0xbc2fde8220bc20de),
        UINT64_C(0x99696cfe3cb630a7), UINT64_C(0xc7dd39f0e40b3c08), UINT64_C(0x0ac522973baa5d78),
        UINT64_C(0x145565a44005fccf), UINT64_C(0x33d9d2fe18056a3c)};
    for (size_t len = 0; len < sizeof want / sizeof want[0]; len++)
        cr_assert_eq(shm_hash_bytes(SHM_HASH_SEED, key, len), want[len], "length %zu", len);
}
