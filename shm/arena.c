/* SPDX-License-Identifier: MIT */
/*
 * shm/arena.c - owns the arena file: computing its layout from capacities,
 * creating it without ever exposing a half-initialised header, attaching to
 * it, and validating every header field before anything else is trusted.
 *
 * Creation.  A new arena is built in an anonymous file (O_TMPFILE) in the
 * target directory, or in a uniquely named temporary file where O_TMPFILE is
 * not supported, fully initialised there, and only then given its name with
 * link(2).  link fails with EEXIST when another process won the race; the
 * loser drops its copy and attaches to the winner's.  So a name under which
 * an arena is visible always carries a complete header: no reader, and no
 * racing creator, can see a half-initialised one, and no lock is needed.
 *
 * Attachment.  The header page is read into private memory with pread,
 * its immutable first 256 bytes are validated there (magic, version, sizes,
 * and every offset recomputed from the capacities), and only that private
 * copy is used for offsets from then on, so a process that scribbles on the
 * header later cannot move the regions under a reader's feet.  The
 * allocation words are always read from the mapping and clamped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena_priv.h"
#include "base/clock.h"
#include "base/error.h"

/* The defaults make an arena of about 51 MiB at most, whatever the CPU
 * count: it fits a container's 64 MB /dev/shm. */
#define DEFAULT_FAMILIES 1024u
#define DEFAULT_SERIES 16384u
#define DEFAULT_PROCESSES 256u
#define DEFAULT_POOL_CELLS (UINT64_C(32) << 17) /* 32 MiB of cells */
#define DEFAULT_GAUGES 1024u                    /* gauge series: lines in a process unit */

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static uint32_t pow2_at_least(uint64_t v)
{
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return (uint32_t)p;
}

uint32_t shm_default_stripes(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (n < 1)
        n = 1;
    if (n > SHM_MAX_STRIPES)
        n = SHM_MAX_STRIPES;
    return pow2_at_least((uint64_t)n);
}

/* Fill in defaults for every zero capacity. */
static void caps_defaults(struct shm_caps *c)
{
    if (!c->families)
        c->families = DEFAULT_FAMILIES;
    if (!c->series)
        c->series = DEFAULT_SERIES;
    if (!c->processes)
        c->processes = DEFAULT_PROCESSES;
    if (!c->stripes)
        c->stripes = shm_default_stripes();
    if (!c->heap_bytes)
        c->heap_bytes = align_up((uint64_t)c->families * 256 + (uint64_t)c->series * 64, SHM_PAGE);
    if (!c->pool_cells)
        c->pool_cells = DEFAULT_POOL_CELLS;
    if (!c->proc_cells)
        c->proc_cells = (uint64_t)DEFAULT_GAUGES * SHM_GAUGE_CELLS;
}

static int caps_check(const struct shm_caps *c)
{
    if (c->families > SHM_MAX_RECORDS)
        return smx_fail(-EINVAL, "families capacity %u is over the limit %u", c->families, SHM_MAX_RECORDS);
    if (c->series > SHM_MAX_RECORDS)
        return smx_fail(-EINVAL, "series capacity %u is over the limit %u", c->series, SHM_MAX_RECORDS);
    if (c->processes > SHM_MAX_PROCESSES)
        return smx_fail(-EINVAL, "processes capacity %u is over the limit %u", c->processes, SHM_MAX_PROCESSES);
    if (c->stripes > SHM_MAX_STRIPES || (c->stripes & (c->stripes - 1)))
        return smx_fail(-EINVAL,
                        "shard count %u must be a power of two no larger than %u (the stripes a series may gain)",
                        c->stripes, SHM_MAX_STRIPES);
    if (c->heap_bytes > SHM_MAX_HEAP)
        return smx_fail(-EINVAL, "heap of %llu bytes is over the limit %llu", (unsigned long long)c->heap_bytes,
                        (unsigned long long)SHM_MAX_HEAP);
    if (c->proc_cells > SHM_MAX_UNIT / 8)
        return smx_fail(-EINVAL, "a process unit may not exceed %llu bytes", (unsigned long long)SHM_MAX_UNIT);
    if (c->pool_cells > SHM_MAX_POOL / 8)
        return smx_fail(-EINVAL, "the cell pool may not exceed %llu bytes", (unsigned long long)SHM_MAX_POOL);
    return 0;
}

/*
 * The layout: regions in a fixed order, each aligned to a cache line, the
 * units to a page.  Creator and validator both call this, so the offsets in
 * a header are trusted only if they equal what the capacities imply.
 */
static void layout_compute(struct shm_header *h, const struct shm_caps *c)
{
    uint64_t off = SHM_PAGE;
    h->families_cap = c->families;
    h->series_cap = c->series;
    h->processes_cap = c->processes;
    h->stripes_max = c->stripes;
    h->family_buckets = pow2_at_least((uint64_t)c->families * 2);
    h->series_buckets = pow2_at_least((uint64_t)c->series * 2);
    h->heap_bytes = c->heap_bytes;
    h->pool_bytes = align_up(c->pool_cells * 8, SHM_PAGE);
    h->proc_unit_bytes = align_up(c->proc_cells * 8, SHM_PAGE);

    h->off_procs = off;
    off = align_up(off + (uint64_t)c->processes * sizeof(struct shm_proc), SHM_LINE);
    h->off_family_index = off;
    off = align_up(off + (uint64_t)h->family_buckets * 4, SHM_LINE);
    h->off_families = off;
    off = align_up(off + (uint64_t)c->families * sizeof(struct shm_family), SHM_LINE);
    h->off_series_index = off;
    off = align_up(off + (uint64_t)h->series_buckets * 4, SHM_LINE);
    h->off_series = off;
    off = align_up(off + (uint64_t)c->series * sizeof(struct shm_series), SHM_LINE);
    h->off_heap = off;
    off = align_up(off + c->heap_bytes, SHM_PAGE);
    h->off_pool = off;
    off += h->pool_bytes;
    h->off_proc_units = off;
    off += ((uint64_t)c->processes + 1) * h->proc_unit_bytes; /* + the retired unit */
    h->file_bytes = off;
}

static void caps_from_header(const struct shm_header *h, struct shm_caps *c)
{
    c->families = h->families_cap;
    c->series = h->series_cap;
    c->processes = h->processes_cap;
    c->stripes = h->stripes_max;
    c->heap_bytes = h->heap_bytes;
    c->pool_cells = h->pool_bytes / 8;
    c->proc_cells = h->proc_unit_bytes / 8;
}

/* Validate a private copy of a header against the file it came from. */
static int header_validate(const struct shm_header *h, uint64_t st_size, const char *path)
{
    if (h->magic != SHM_MAGIC)
        return smx_fail(-EBADMSG, "%s is not a shmetrics arena (bad magic)", path);
    if (h->version < SHM_VERSION)
        return smx_fail(-EPROTO,
                        "arena layout version %u was made by an older shmetrics; this library reads "
                        "version %u: remove the file (rm, or the older release's shmetrics reset --unlink) "
                        "and create the arena again",
                        h->version, SHM_VERSION);
    if (h->version != SHM_VERSION)
        return smx_fail(-EPROTO,
                        "arena layout version %u was made by a newer shmetrics; this library reads "
                        "version %u",
                        h->version, SHM_VERSION);
    if (h->header_bytes != sizeof(struct shm_header))
        return smx_fail(-EBADMSG, "header size %u, expected %zu", h->header_bytes, sizeof(struct shm_header));
    if (h->pool_bytes % SHM_PAGE || h->proc_unit_bytes % SHM_PAGE)
        return smx_fail(-EBADMSG, "pool or unit sizes are not page multiples");
    struct shm_caps c;
    caps_from_header(h, &c);
    if (c.families == 0 || c.series == 0 || c.processes == 0 || c.stripes == 0)
        return smx_fail(-EBADMSG, "a capacity in the header is zero");
    int rc = caps_check(&c);
    if (rc < 0)
        return smx_fail_prefix(-EBADMSG, "bad header");
    struct shm_header want;
    memset(&want, 0, sizeof want);
    layout_compute(&want, &c);
    if (h->family_buckets != want.family_buckets || h->series_buckets != want.series_buckets ||
        h->off_procs != want.off_procs || h->off_family_index != want.off_family_index ||
        h->off_families != want.off_families || h->off_series_index != want.off_series_index ||
        h->off_series != want.off_series || h->off_heap != want.off_heap || h->off_pool != want.off_pool ||
        h->off_proc_units != want.off_proc_units || h->file_bytes != want.file_bytes)
        return smx_fail(-EBADMSG, "header offsets do not match its capacities");
    if (st_size < h->file_bytes)
        return smx_fail(-EBADMSG, "truncated arena: the file has %llu bytes, its header says %llu",
                        (unsigned long long)st_size, (unsigned long long)h->file_bytes);
    if (st_size > h->file_bytes)
        return smx_fail(-EBADMSG, "arena file has %llu bytes, its header says %llu", (unsigned long long)st_size,
                        (unsigned long long)h->file_bytes);
    return 0;
}

/* A requested capacity of 0 accepts whatever the arena has. */
static int caps_match(const struct shm_caps *have, const struct shm_caps *want)
{
#define CAP_CHECK(field, what)                                                                         \
    if (want->field && want->field != have->field)                                                     \
        return smx_fail(-EINVAL, "capacity mismatch: the arena has %s=%llu, %llu was asked for", what, \
                        (unsigned long long)have->field, (unsigned long long)want->field);
    CAP_CHECK(families, "families")
    CAP_CHECK(series, "series")
    CAP_CHECK(processes, "processes")
    CAP_CHECK(stripes, "shards")
    CAP_CHECK(heap_bytes, "heap_bytes")
    CAP_CHECK(pool_cells, "cells")
#undef CAP_CHECK
    if (want->proc_cells && want->proc_cells != have->proc_cells)
        return smx_fail(-EINVAL,
                        "capacity mismatch: the arena has gauges=%llu, %llu was asked for (a page of "
                        "gauges at a time: %u)",
                        (unsigned long long)(have->proc_cells / SHM_GAUGE_CELLS),
                        (unsigned long long)(want->proc_cells / SHM_GAUGE_CELLS), SHM_PAGE / SHM_LINE);
    return 0;
}

static int map_file(struct shm_arena *a, int fd, uint64_t size, bool rdonly)
{
    void *p = mmap(NULL, (size_t)size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return smx_fail(-errno, "mmap of %llu bytes failed: %s", (unsigned long long)size, strerror(errno));
    a->base = p;
    a->size = (size_t)size;
    return 0;
}

/* Build a complete arena in an unnamed file, then link it to `path`.
 * Returns 0 (created, mapped), -EEXIST (someone else's arena is there), or
 * another error. */
static int create_new(struct shm_arena *a, const char *path, const struct shm_caps *want, mode_t mode)
{
    struct shm_caps c = *want;
    caps_defaults(&c);
    int rc = caps_check(&c);
    if (rc < 0)
        return rc;

    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);

    char tmpname[PATH_MAX] = "";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        unsigned r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = (unsigned)smx_real_ns();
        snprintf(tmpname, sizeof tmpname, "%s.tmp.%d.%08x", path, (int)getpid(), r);
        fd = open(tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode);
    }
    if (fd < 0)
        return smx_fail(-errno, "cannot create an arena in %s: %s", dir, strerror(errno));

    struct shm_header h;
    memset(&h, 0, sizeof h);
    layout_compute(&h, &c);
    h.version = SHM_VERSION;
    h.header_bytes = sizeof h;
    h.created_ns = smx_real_ns();
    h.creator_pid = (uint32_t)getpid();
    if (getrandom(&h.generation, sizeof h.generation, 0) != (ssize_t)sizeof h.generation)
        h.generation = h.created_ns ^ ((uint64_t)getpid() << 32);

    rc = 0;
    if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)h.file_bytes) < 0)
        rc = smx_fail(-errno, "cannot size a new arena of %llu bytes: %s", (unsigned long long)h.file_bytes,
                      strerror(errno));
    /* Allocate the header, the tables and the heap now, so the directories
     * never fault for lack of space in the filesystem; the pool and the
     * units are allocated as they are handed out (shm/alloc.c). */
    if (!rc)
        rc = shm_fallocate(fd, path, 0, h.off_pool, "a new arena's tables");
    if (!rc)
        rc = map_file(a, fd, h.file_bytes, false);
    if (rc < 0)
        goto fail;

    /* Fill every field, then publish the magic; the link below publishes
     * the file itself. */
    struct shm_header *sh = (struct shm_header *)a->base;
    uint64_t magic = SHM_MAGIC;
    memcpy(sh, &h, sizeof h);
    shmetrics_store_release(&sh->magic, magic);

    if (tmpname[0]) {
        rc = link(tmpname, path) < 0 ? -errno : 0;
        unlink(tmpname);
    } else {
        char fdpath[64];
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
        rc = linkat(AT_FDCWD, fdpath, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
    }
    if (rc == -EEXIST) {
        munmap(a->base, a->size);
        a->base = NULL;
        close(fd);
        return -EEXIST;
    }
    if (rc < 0) {
        rc = smx_fail(rc, "cannot link the new arena to %s: %s", path, strerror(-rc));
        munmap(a->base, a->size);
        a->base = NULL;
        goto fail;
    }
    a->fd = fd;
    a->h = h;
    a->h.magic = SHM_MAGIC;
    a->sh = sh;
    return 0;
fail:
    if (tmpname[0])
        unlink(tmpname);
    close(fd);
    return rc;
}

/* "uid 65534 (nobody)", or "uid 1234" for a uid without a name. */
static const char *uid_text(uid_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "uid %u (%s)", (unsigned)uid, res->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

static const char *gid_text(gid_t gid, char *buf, size_t len)
{
    struct group gr, *res = NULL;
    char tmp[1024];
    if (getgrgid_r(gid, &gr, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "gid %u (%s)", (unsigned)gid, res->gr_name);
    else
        snprintf(buf, len, "gid %u", (unsigned)gid);
    return buf;
}

static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISLNK(m)  ? "a symbolic link"
           : S_ISDIR(m)  ? "a directory"
                         : "not a regular file";
}

/* Why open(2) of an existing arena failed (-ENOENT, with no message, when
 * there is no file: the caller creates it, or says so). */
static int open_failed(const char *path, int e, bool rdonly)
{
    struct stat st;
    char who[160];
    const char *how = rdonly ? "to read" : "to write";
    switch (e) {
    case ENOENT:
        return -ENOENT;
    case ELOOP:
        if (!rdonly && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            return smx_fail(-ELOOP,
                            "%s is a symbolic link: a writer does not follow one at the arena's path (in a "
                            "directory others may write to, such as /dev/shm, a link can point a writer at "
                            "another file); give the path of the arena file itself",
                            path);
        break;
    case EISDIR:
        return smx_fail(-EISDIR, "%s is a directory, not an arena file", path);
    case EACCES:
    case EPERM:
        if (stat(path, &st) == 0)
            return smx_fail(-e, "permission denied opening %s %s: it belongs to %s and has mode %04o", path, how,
                            uid_text(st.st_uid, who, sizeof who), (unsigned)(st.st_mode & 07777));
        return smx_fail(-e, "permission denied opening %s %s (a directory on its path may not be searched)", path, how);
    case EROFS:
        return smx_fail(-e,
                        "cannot open %s for writing: it is on a read-only filesystem (a collector "
                        "opens it read-only)",
                        path);
    default:
        break;
    }
    return smx_fail(-e, "cannot open %s %s: %s", path, how, strerror(e));
}

#define FOREIGN_OPT_IN                                                                          \
    "to write to it anyway, opt in with the open flag SHMETRICS_OPEN_ALLOW_FOREIGN (shmetrics " \
    "--allow-foreign-arena, Python allow_foreign=True) or the environment variable "            \
    "SHMETRICS_ALLOW_FOREIGN_ARENA=1"

/* A writer's trust in the file it opened (shm/arena.h): owned by this
 * user, and writable by nobody else but as the caller's own `mode` would
 * make it.  On the opened file's fstat, so the file checked is the file
 * used. */
static int owner_check(const char *path, const struct stat *st, int flags, mode_t mode)
{
    if (flags & SHM_OPEN_ALLOW_FOREIGN)
        return 0;
    char owner[160], me[160], grp[160];
    uid_t euid = geteuid();
    unsigned perm = (unsigned)(st->st_mode & 07777);
    if (st->st_uid != euid)
        return smx_fail(-EPERM,
                        "refusing to write to %s: it belongs to %s, not to this user (%s), mode %04o; another "
                        "user may have made it to read or alter this process's metrics; " FOREIGN_OPT_IN,
                        path, uid_text(st->st_uid, owner, sizeof owner), uid_text(euid, me, sizeof me), perm);
    mode_t open_bits = st->st_mode & 022 & ~(mode & 022);
    if (open_bits & 002)
        return smx_fail(-EPERM,
                        "refusing to write to %s: its mode %04o lets every user write to it (it belongs to this "
                        "user, %s), so any user could alter its metrics; " FOREIGN_OPT_IN,
                        path, perm, uid_text(euid, me, sizeof me));
    if (open_bits)
        return smx_fail(-EPERM,
                        "refusing to write to %s: its mode %04o lets its group, %s, write to it (it belongs to "
                        "this user, %s), so the group's users could alter its metrics; " FOREIGN_OPT_IN,
                        path, perm, gid_text(st->st_gid, grp, sizeof grp), uid_text(euid, me, sizeof me));
    return 0;
}

static int attach_existing(struct shm_arena *a, const char *path, int flags, const struct shm_caps *want, mode_t mode)
{
    bool rdonly = flags & SHM_OPEN_RDONLY;
    /* No symbolic link for a writer; O_NONBLOCK so that a FIFO at the
     * path does not block the open (it is refused below). */
    int fd = open(path, (rdonly ? O_RDONLY : O_RDWR | O_NOFOLLOW) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return open_failed(path, errno, rdonly);
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        rc = smx_fail(-errno, "cannot stat %s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = smx_fail(-EISDIR, "%s is a directory, not an arena file", path);
    else if (!S_ISREG(st.st_mode))
        rc = smx_fail(-EBADMSG, "%s is %s, not an arena file", path, file_kind(st.st_mode));
    else if (!rdonly)
        rc = owner_check(path, &st, flags, mode);
    if (rc == 0 && fcntl(fd, F_SETFL, 0) < 0)
        rc = smx_fail(-errno, "cannot clear O_NONBLOCK on %s: %s", path, strerror(errno));
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if ((uint64_t)st.st_size < sizeof(struct shm_header)) {
        /* Only a file that starts like an arena is a truncated one. */
        uint64_t magic = 0;
        bool ours = pread(fd, &magic, sizeof magic, 0) == (ssize_t)sizeof magic && magic == SHM_MAGIC;
        close(fd);
        if (!ours)
            return smx_fail(-EBADMSG, "%s is not a shmetrics arena (bad magic)", path);
        return smx_fail(-EBADMSG, "truncated arena: the file has %llu bytes, less than a header",
                        (unsigned long long)st.st_size);
    }
    struct shm_header h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        close(fd);
        return smx_fail(-EIO, "cannot read the header of %s", path);
    }
    rc = header_validate(&h, (uint64_t)st.st_size, path);
    if (rc == 0) {
        struct shm_caps have;
        caps_from_header(&h, &have);
        rc = caps_match(&have, want);
    }
    if (rc == 0)
        rc = map_file(a, fd, h.file_bytes, rdonly);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    a->fd = fd;
    a->h = h;
    a->sh = (struct shm_header *)a->base;
    a->rdonly = rdonly;
    return 0;
}

int shm_arena_open(const char *path, int flags, const struct shm_caps *want, mode_t mode, struct shm_arena **out)
{
    struct shm_caps w = {0};
    if (want)
        w = *want;
    /* The pool and the units are whole pages: ask for what will be there. */
    w.pool_cells = align_up(w.pool_cells, SHM_PAGE / 8);
    w.proc_cells = align_up(w.proc_cells, SHM_PAGE / 8);
    want = &w;
    if (!path || !*path)
        return smx_fail(-EINVAL, "no arena path given");
    if (strlen(path) >= PATH_MAX - 32)
        return smx_fail(-ENAMETOOLONG, "arena path is too long");
    if ((flags & SHM_OPEN_RDONLY) && (flags & SHM_OPEN_CREATE))
        return smx_fail(-EINVAL, "a read-only open cannot create an arena");

    struct shm_arena *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return smx_fail(-ENOMEM, "out of memory");
    }
    a->fd = -1;
    int rc = -ENOENT;
    bool tried_create = false;
    uint64_t messages = smx_fail_count();
    /* Attach, or create and attach: a lost creation race leaves a complete
     * arena behind, so one more attach settles it. */
    for (int attempt = 0; attempt < 4; attempt++) {
        struct stat st;
        if ((flags & SHM_OPEN_EXCL) && stat(path, &st) == 0) {
            free(a->path);
            free(a);
            return smx_fail(-EEXIST, "%s already exists", path);
        }
        rc = attach_existing(a, path, flags, want, mode);
        if (rc != -ENOENT || !(flags & SHM_OPEN_CREATE))
            break;
        tried_create = true;
        rc = create_new(a, path, want, mode);
        if (rc != -EEXIST)
            break;
        if (flags & SHM_OPEN_EXCL) {
            rc = smx_fail(-EEXIST, "%s already exists", path);
            break;
        }
    }
    struct stat lst;
    if (rc == -ENOENT && !tried_create && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
        rc = smx_fail(-ENOENT, "no arena at %s: it is a symbolic link to a file that does not exist", path);
    else if (rc == -ENOENT && !tried_create)
        rc = smx_fail(-ENOENT, "no arena at %s", path);
    else if (rc == -EEXIST && smx_fail_count() == messages)
        rc = smx_fail(-EEXIST,
                      "%s was created by another process and gone again before it could be opened, 4 times "
                      "(something removes it as soon as it appears)",
                      path);
    else if (rc < 0 && smx_fail_count() == messages)
        rc = smx_fail(rc, "cannot open the arena %s: %s", path, strerror(-rc));
    if (rc < 0) {
        free(a->path);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void shm_arena_close(struct shm_arena *a)
{
    if (!a)
        return;
    if (a->base)
        munmap(a->base, a->size);
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    free(a);
}

int shm_arena_replaced(const struct shm_arena *a)
{
    struct stat now, mine;
    if (stat(a->path, &now) < 0 || fstat(a->fd, &mine) < 0)
        return 0; /* unlinked and not (yet) re-created: keep what we have */
    if (now.st_dev == mine.st_dev && now.st_ino == mine.st_ino)
        return 0;
    /* Another file: a new arena if its generation differs. */
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct shm_header h;
    ssize_t n = pread(fd, &h, offsetof(struct shm_header, created_ns), 0);
    close(fd);
    return n == (ssize_t)offsetof(struct shm_header, created_ns) && h.magic == SHM_MAGIC &&
           h.generation != a->h.generation;
}

int shm_arena_fault(const struct shm_arena *a, const char *what)
{
    struct stat st;
    if (fstat(a->fd, &st) == 0 && (uint64_t)st.st_size < a->h.file_bytes)
        return smx_fail(-EFAULT, "%s: the arena file was truncated under the reader (%llu bytes left of %llu)", what,
                        (unsigned long long)st.st_size, (unsigned long long)a->h.file_bytes);
    if (fstat(a->fd, &st) == 0)
        return smx_fail(
            -ENOSPC,
            "%s: a page of the arena could not be read: the filesystem holding %s is full "
            "(a page was touched that was never allocated: a writer outside this library, or a damaged arena)",
            what, a->path);
    return smx_fail(-EFAULT, "%s: the arena could not be read (SIGBUS), and fstat failed: %s", what, strerror(errno));
}

bool shm_arena_readonly(const struct shm_arena *a)
{
    return a->rdonly;
}

const char *shm_arena_path(const struct shm_arena *a)
{
    return a->path;
}

void shm_arena_set_clock(struct shm_arena *a, uint64_t (*now_ns)(void *arg), void *arg)
{
    a->now_ns = now_ns;
    a->now_arg = arg;
}

void shm_arena_usage(const struct shm_arena *a, struct shm_usage *u)
{
    memset(u, 0, sizeof *u);
    caps_from_header(&a->h, &u->caps);
    u->file_bytes = a->h.file_bytes;
    u->generation = a->h.generation;
    u->created_ns = a->h.created_ns;
    u->creator_pid = a->h.creator_pid;
    /* From the header's allocation words, clamped like every other read of
     * them (shm_families_used and shm_series_used in shm/directory.c). */
    uint32_t fams = shmetrics_load_acquire(&a->sh->families_used);
    uint32_t series = shmetrics_load_acquire(&a->sh->series_used);
    u->families_used = fams < a->h.families_cap ? fams : a->h.families_cap;
    u->series_used = series < a->h.series_cap ? series : a->h.series_cap;
    uint64_t heap = shmetrics_load_relaxed(&a->sh->heap_used);
    uint64_t pool = shmetrics_load_relaxed(&a->sh->pool_used);
    uint64_t proc = shmetrics_load_relaxed(&a->sh->proc_cells_used);
    u->heap_used = heap < a->h.heap_bytes ? heap : a->h.heap_bytes;
    u->pool_used = pool < u->caps.pool_cells ? pool : u->caps.pool_cells;
    u->proc_cells_used = proc < u->caps.proc_cells ? proc : u->caps.proc_cells;
    u->refused = shmetrics_load_relaxed(&a->sh->refused);
    u->abandoned = shmetrics_load_relaxed(&a->sh->abandoned);
    u->reclaimed = shmetrics_load_relaxed(&a->sh->reclaimed);
    u->fs_refused = shmetrics_load_relaxed(&a->sh->fs_refused);
    u->striped = shmetrics_load_relaxed(&a->sh->striped);
    u->stripes_refused = shmetrics_load_relaxed(&a->sh->stripes_refused);
    u->native_unplaced = shmetrics_load_relaxed(&a->sh->native_unplaced);
    struct stat st;
    u->allocated_bytes = fstat(a->fd, &st) == 0 ? (uint64_t)st.st_blocks * 512u : 0;
}

void shm_count_unplaced(struct shm_arena *a)
{
    shmetrics_add_relaxed(&a->sh->native_unplaced, (uint64_t)1);
}
