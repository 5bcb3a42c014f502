/* SPDX-License-Identifier: MIT */
/*
 * src/read/reader.c - owns what every collector of the arena does, serve's and
 * push's alike: the read-only registry of an arena path, re-attaching when
 * the arena was unlinked and re-created (keeping replaced registries mapped
 * while other threads may still read them), and the collector's own
 * metrics, one table like the metric sets' (src/write/sets.c), appended to a
 * snapshot.  How many processes are attached, dead or exited comes with
 * the snapshot (src/read/collect.c): no second walk of the process table.
 * The same table holds the workers' process_* families, one sample per
 * attached process (labelled pid) from what src/read/procstat.c read of
 * /proc for this scrape.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "procstat.h"
#include "reader.h"

/* ------------------------------------------------------------ reading */

int smx_reader_init(struct smx_reader *r, shmetrics_registry_t *reg, bool shared)
{
    memset(r, 0, sizeof *r);
    shmetrics_arena_info_t in;
    int rc = shmetrics_arena_info(reg, &in);
    if (rc < 0)
        return rc;
    if (!(r->path = strdup(in.path)))
        return smx_fail(-ENOMEM, "out of memory");
    r->reg = r->given = reg;
    r->shared = shared;
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

shmetrics_registry_t *smx_reader_registry(struct smx_reader *r, bool *fresh)
{
    if (fresh)
        *fresh = false;
    shmetrics_registry_t *reg = __atomic_load_n(&r->reg, __ATOMIC_ACQUIRE);
    if (!shmetrics_arena_replaced(reg))
        return reg;
    pthread_mutex_lock(&r->lock);
    reg = r->reg;
    shmetrics_registry_t *next;
    shmetrics_options_t o = {.path = r->path, .flags = SHMETRICS_OPEN_READONLY};
    /* Another thread may have re-attached meanwhile; an open that fails
     * (unlinked, not re-created yet) leaves the old mapping to read. */
    if ((!r->shared || r->nold < SMX_READER_OLD) && shmetrics_arena_replaced(reg) && shmetrics_open(&o, &next) == 0) {
        if (r->shared)
            r->old[r->nold++] = reg;
        else if (reg != r->given)
            shmetrics_shutdown(reg, 0);
        __atomic_store_n(&r->reg, next, __ATOMIC_RELEASE);
        __atomic_add_fetch(&r->reattached, 1, __ATOMIC_RELAXED);
        reg = next;
        if (fresh)
            *fresh = true;
    }
    pthread_mutex_unlock(&r->lock);
    return reg;
}

uint64_t smx_reader_reattached(struct smx_reader *r)
{
    return __atomic_load_n(&r->reattached, __ATOMIC_RELAXED);
}

void smx_reader_fini(struct smx_reader *r)
{
    for (unsigned i = 0; i < r->nold; i++)
        if (r->old[i] != r->given)
            shmetrics_shutdown(r->old[i], 0);
    if (r->reg && r->reg != r->given)
        shmetrics_shutdown(r->reg, 0);
    if (r->path)
        pthread_mutex_destroy(&r->lock);
    free(r->path);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------- self metrics */

/* Sample i of a row, in *v; false when it has none (a worker whose file
 * could not be read). */
typedef bool (*self_value_fn)(const struct smx_self_in *in, size_t i, double *v);

#define VALUE(fn, expr)                                               \
    static bool fn(const struct smx_self_in *in, size_t i, double *v) \
    {                                                                 \
        (void)i;                                                      \
        *v = (double)(expr);                                          \
        return true;                                                  \
    }

VALUE(scrapes, in->scrapes)
VALUE(reattached, in->reattached)
VALUE(last_scrape_seconds, in->last_scrape_ns / 1e9)
VALUE(families, in->snap->nfamilies)
VALUE(series, in->snap->nseries)
VALUE(bytes_used, in->arena->bytes_used)
VALUE(bytes_capacity, in->arena->file_bytes)
VALUE(refused, in->arena->refused)
VALUE(fs_refused, in->arena->fs_refused)
VALUE(bytes_allocated, in->arena->allocated_bytes)
VALUE(striped, in->arena->striped)
VALUE(native_unplaced, in->arena->native_unplaced)
VALUE(exemplars_dropped, in->arena->exemplars_dropped)
VALUE(exemplars_taken_over, in->arena->exemplars_taken_over)
VALUE(damaged, in->snap->damaged)
VALUE(conns_open, in->conns_open)
VALUE(conns_max, in->conns_max)
VALUE(resident_bytes, in->resident_bytes)
VALUE(push_attempts, in->push->attempts)
VALUE(push_failures, in->push->failures)
VALUE(push_consecutive_failures, in->push->consecutive_failures)
VALUE(push_samples, in->push->samples)
VALUE(push_bytes, in->push->bytes)
VALUE(push_last_success, in->push->last_success_ns / 1e9)
VALUE(push_last_duration, in->push->last_duration_ns / 1e9)
VALUE(push_reattached, in->push->reattached)

static const char *const process_states[] = {"attached", "dead", "exited"};

static bool processes(const struct smx_self_in *in, size_t i, double *v)
{
    const size_t n[] = {in->snap->procs_attached, in->snap->procs_dead, in->snap->procs_exited};
    *v = (double)n[i];
    return true;
}

static const char *const close_reasons[] = {"request_timeout", "address_limit", "connection_limit"};

static bool conns_closed(const struct smx_self_in *in, size_t i, double *v)
{
    *v = (double)in->conns_closed[i];
    return true;
}

/* The workers' rows: sample i is process i of in->procs. */
#define WORKER(fn, field, has)                                        \
    static bool fn(const struct smx_self_in *in, size_t i, double *v) \
    {                                                                 \
        const struct smx_proc_sample *p = &in->procs->p[i];           \
        *v = p->field;                                                \
        return has;                                                   \
    }

WORKER(proc_cpu, cpu_seconds, true)
WORKER(proc_resident, resident_bytes, true)
WORKER(proc_virtual, virtual_bytes, true)
WORKER(proc_start, start_time_seconds, p->has_start_time)
WORKER(proc_open_fds, open_fds, p->has_open_fds)
WORKER(proc_max_fds, max_fds, p->has_max_fds)
WORKER(proc_threads, threads, true)

static const char *const proc_files[] = {"stat", "limits", "fd"};
_Static_assert(sizeof proc_files / sizeof proc_files[0] == SMX_PROC_NFILES, "one label value per /proc file");

static bool proc_unread(const struct smx_self_in *in, size_t i, double *v)
{
    *v = (double)in->procs->unread[i];
    return true;
}

static const char *const auth_results[] = {"cached", "verified", "refused"};

static bool auth_checks(const struct smx_self_in *in, size_t i, double *v)
{
    *v = (double)in->auth_checks[i];
    return true;
}

struct self_member {
    unsigned who;     /* SMX_SELF_* bits; 0 for the rows of in->procs */
    const char *name; /* counters: without _total */
    const char *help;
    shmetrics_type_t type;
    self_value_fn value;
    const char *label;               /* with more than one sample: the label telling them apart */
    const char *const *label_values; /* one per sample; NULL: one sample per worker, labelled with its pid */
    size_t nsamples;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(name, help, type, value)                             \
    {                                                          \
        SMX_SELF_SERVE, name, help, type, value, NULL, NULL, 1 \
    }
#define P(name, help, type, value)                            \
    {                                                         \
        SMX_SELF_PUSH, name, help, type, value, NULL, NULL, 1 \
    }
#define W(name, help, type, value)                 \
    {                                              \
        0, name, help, type, value, "pid", NULL, 0 \
    }

/* In the order the families follow the arena's. */
static const struct self_member self_members[] = {
    S("shmetrics_collector_scrapes", "Scrapes served by this collector.", SHMETRICS_COUNTER, scrapes),
    S("shmetrics_collector_reattached", "Times the arena was unlinked and re-created, and re-attached.",
      SHMETRICS_COUNTER, reattached),
    S("shmetrics_collector_last_scrape_duration_seconds",
      "Time the previous scrape took to read the arena and encode it.", SHMETRICS_GAUGE, last_scrape_seconds),
    S("shmetrics_arena_families", "Metric families in the arena.", SHMETRICS_GAUGE, families),
    S("shmetrics_arena_series", "Series read from the arena.", SHMETRICS_GAUGE, series),
    S("shmetrics_arena_bytes_used", "Arena bytes in use: tables, records, heap and cells handed out.", SHMETRICS_GAUGE,
      bytes_used),
    S("shmetrics_arena_bytes_capacity", "Size of the arena file.", SHMETRICS_GAUGE, bytes_capacity),
    S("shmetrics_arena_registrations_refused", "Registrations refused because a region of the arena was full.",
      SHMETRICS_COUNTER, refused),
    S("shmetrics_arena_filesystem_full",
      "Allocations the arena's filesystem refused because it was full: the writer got an error, no process a signal.",
      SHMETRICS_COUNTER, fs_refused),
    S("shmetrics_arena_bytes_allocated",
      "Bytes the filesystem holds for the arena now; never more than the file's size.", SHMETRICS_GAUGE,
      bytes_allocated),
    S("shmetrics_arena_stripes", "Stripe sets series gained because writers on different CPUs collided on them.",
      SHMETRICS_COUNTER, striped),
    S("shmetrics_arena_native_unplaced",
      "Native histogram observations no bucket could take: outside their family's dense range with every spill slot "
      "taken (each is still in its series' count and sum).",
      SHMETRICS_COUNTER, native_unplaced),
    S("shmetrics_arena_exemplars_dropped",
      "Exemplars dropped because another live writer was storing one in the same slot (last writer wins, nobody "
      "waits).",
      SHMETRICS_COUNTER, exemplars_dropped),
    S("shmetrics_arena_exemplar_slots_taken_over",
      "Exemplar slots a writer took over from a writer that died in the middle of storing one.", SHMETRICS_COUNTER,
      exemplars_taken_over),
    S("shmetrics_arena_damaged_records", "Records skipped in the last scrape because they failed validation.",
      SHMETRICS_GAUGE, damaged),
    {SMX_SELF_SERVE, "shmetrics_arena_processes",
     "Processes holding a slot in the arena: attached, dead without detaching (reclaimed by the next writer to "
     "attach), exited (kept for mode all).",
     SHMETRICS_GAUGE, processes, "state", process_states, N(process_states)},
    S("shmetrics_collector_connections", "HTTP connections open now.", SHMETRICS_GAUGE, conns_open),
    S("shmetrics_collector_connections_max", "The most HTTP connections the collector keeps open.", SHMETRICS_GAUGE,
      conns_max),
    {SMX_SELF_SERVE, "shmetrics_collector_connections_closed",
     "HTTP connections the collector closed to defend itself: no whole request within the request timeout, too many "
     "from one address, too many in all (the connection that had waited longest for a request goes).",
     SHMETRICS_COUNTER, conns_closed, "reason", close_reasons, N(close_reasons)},
    {SMX_SELF_SERVE, "shmetrics_collector_password_checks",
     "Basic auth passwords checked: admitted from the cache of verified passwords, admitted by bcrypt, refused by "
     "bcrypt (a wrong password or an unknown user).",
     SHMETRICS_COUNTER, auth_checks, "result", auth_results, N(auth_results)},
    S("shmetrics_collector_resident_memory_bytes", "Resident memory of the collector process.", SHMETRICS_GAUGE,
      resident_bytes),
    P("shmetrics_push_attempts", "Pushes tried, this one included.", SHMETRICS_COUNTER, push_attempts),
    P("shmetrics_push_failures", "Pushes that failed: target down, refused, timed out or rejected.", SHMETRICS_COUNTER,
      push_failures),
    P("shmetrics_push_consecutive_failures", "Failed pushes since the last one that got through.", SHMETRICS_GAUGE,
      push_consecutive_failures),
    P("shmetrics_push_samples", "Lines, data points or series sent by pushes that got through.", SHMETRICS_COUNTER,
      push_samples),
    P("shmetrics_push_bytes", "Bytes sent by pushes that got through.", SHMETRICS_COUNTER, push_bytes),
    P("shmetrics_push_last_success_timestamp_seconds", "When the last push got through (Unix time).", SHMETRICS_GAUGE,
      push_last_success),
    P("shmetrics_push_last_duration_seconds", "Time the previous push took to read, encode and send.", SHMETRICS_GAUGE,
      push_last_duration),
    P("shmetrics_push_reattached", "Times the arena was unlinked and re-created, and read again.", SHMETRICS_COUNTER,
      push_reattached),
    /* The workers' process metrics, read from /proc by src/read/procstat.c:
     * prometheus_client's process collector's names, types and help, one
     * sample per attached process. */
    W("process_cpu_seconds", "Total user and system CPU time spent in seconds.", SHMETRICS_COUNTER, proc_cpu),
    W("process_resident_memory_bytes", "Resident memory size in bytes.", SHMETRICS_GAUGE, proc_resident),
    W("process_virtual_memory_bytes", "Virtual memory size in bytes.", SHMETRICS_GAUGE, proc_virtual),
    W("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", SHMETRICS_GAUGE,
      proc_start),
    W("process_open_fds", "Number of open file descriptors.", SHMETRICS_GAUGE, proc_open_fds),
    W("process_max_fds", "Maximum number of open file descriptors.", SHMETRICS_GAUGE, proc_max_fds),
    W("process_threads", "Number of OS threads in the process.", SHMETRICS_GAUGE, proc_threads),
    {0, "shmetrics_collector_process_files_unreadable",
     "Attached processes whose /proc/PID/stat, limits or fd could not be read in this scrape (permission denied, or "
     "malformed): the samples drawn from it are left out.",
     SHMETRICS_GAUGE, proc_unread, "file", proc_files, N(proc_files)},
};

/* Whether in->snap already exposes the name of a process_* row: a worker
 * may register process_open_fds itself, and one name must not appear as
 * two families.  Only the arena's process_* families are compared. */
static void names_taken(const shmetrics_snapshot_t *snap, bool taken[N(self_members)])
{
    for (size_t f = 0; f < snap->nfamilies; f++) {
        const char *name = snap->families[f].name;
        if (strncmp(name, "process_", 8) != 0)
            continue;
        size_t len = strlen(name);
        for (size_t m = 0; m < N(self_members); m++) {
            const char *mine = self_members[m].name;
            size_t ml = strlen(mine);
            /* The same name, or one of them the other plus _total. */
            if (strncmp(mine, "process_", 8) == 0 && strncmp(mine, name, ml < len ? ml : len) == 0 &&
                (ml == len || (ml + 6 == len && strcmp(name + ml, "_total") == 0) ||
                 (len + 6 == ml && strcmp(mine + len, "_total") == 0)))
                taken[m] = true;
        }
    }
}

/* Whether the row is appended, and how many samples it may have. */
static bool row_on(const struct self_member *sm, const struct smx_self_in *in, bool taken)
{
    return sm->who ? (sm->who & (unsigned)in->who) != 0 : in->procs != NULL && !taken;
}

static size_t row_samples(const struct self_member *sm, const struct smx_self_in *in)
{
    return sm->label_values || !sm->label ? sm->nsamples : in->procs->n;
}

int smx_self_append(const struct smx_self_in *in, shmetrics_snapshot_t *out)
{
    const shmetrics_snapshot_t *snap = in->snap;
    bool taken[N(self_members)] = {false};
    if (in->procs)
        names_taken(snap, taken);
    size_t nfam = 0, nsmp = 0;
    for (size_t m = 0; m < N(self_members); m++)
        if (row_on(&self_members[m], in, taken[m])) {
            nfam++;
            nsmp += row_samples(&self_members[m], in);
        }
    /* One block: the families, then the samples, then two labels a sample
     * (in->label, then the row's). */
    size_t nall = snap->nfamilies + nfam;
    char *block = malloc(sizeof(shmetrics_family_t) * nall + sizeof(shmetrics_sample_t) * nsmp +
                         sizeof(shmetrics_label_t) * 2 * nsmp);
    if (!block)
        return smx_fail(-ENOMEM, "out of memory");
    shmetrics_family_t *fam = (shmetrics_family_t *)block;
    shmetrics_sample_t *smp = (shmetrics_sample_t *)(fam + nall);
    shmetrics_label_t *lab = (shmetrics_label_t *)(smp + nsmp);
    if (snap->nfamilies)
        memcpy(fam, snap->families, sizeof *fam * snap->nfamilies);
    size_t f = snap->nfamilies;
    for (size_t m = 0; m < N(self_members); m++) {
        const struct self_member *sm = &self_members[m];
        if (!row_on(sm, in, taken[m]))
            continue;
        shmetrics_sample_t *first = smp;
        size_t n = row_samples(sm, in);
        for (size_t i = 0; i < n; i++) {
            double v;
            if (!sm->value(in, i, &v))
                continue;
            /* The backend label of a pusher's own rows, not the workers'. */
            size_t nl = 0;
            if (in->label && sm->who)
                lab[nl++] = *in->label;
            if (sm->label)
                lab[nl++] = (shmetrics_label_t){sm->label,
                                                sm->label_values ? sm->label_values[i] : in->procs->p[i].pid};
            /* The collector's own series carry no creation time. */
            *smp++ = (shmetrics_sample_t){.suffix = sm->type == SHMETRICS_COUNTER ? "_total" : "",
                                          .nlabels = nl,
                                          .labels = nl ? lab : NULL,
                                          .value = v};
            lab += 2;
        }
        fam[f++] = (shmetrics_family_t){.name = sm->name,
                                        .help = sm->help,
                                        .type = sm->type,
                                        .gauge_mode = SHMETRICS_MODE_ALL,
                                        .nsamples = (size_t)(smp - first),
                                        .samples = first};
    }
    *out = *snap;
    out->nfamilies = nall;
    out->families = fam;
    return 0;
}

void smx_self_free(shmetrics_snapshot_t *out)
{
    free((void *)out->families);
    out->families = NULL;
    out->nfamilies = 0;
}
