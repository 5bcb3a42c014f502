/* SPDX-License-Identifier: MIT */
/*
 * src/write/registry.c - owns the registry: opening and shutting down an arena
 * for one process, the default registry from SHMETRICS_ARENA, fork
 * safety, and registering and looking up metrics through the process's
 * name cache (a cds_lfht keyed by full name).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/error.h"
#include "registry.h"
#include "shm/hash.h"
#include "shm/layout.h"

#define DEFAULT_DIR "/dev/shm/"

/* Every open read-write registry, so that a forked child can drop the
 * parent's process slot (the child must claim its own). */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static shmetrics_registry_t *all_regs;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    SMX_CHECK_ZERO(pthread_mutex_lock(&all_lock));
    urcu_bp_before_fork();
}

static void fork_parent(void)
{
    urcu_bp_after_fork_parent();
    pthread_mutex_unlock(&all_lock);
}

static void fork_child(void)
{
    urcu_bp_after_fork_child();
    shm_reclaim_after_fork();
    for (shmetrics_registry_t *r = all_regs; r; r = r->next) {
        pthread_mutex_init(&r->lock, NULL);
        r->have_slot = false;
        shmetrics_store_relaxed(&r->proc_unit, (char *)NULL);
    }
    pthread_mutex_unlock(&all_lock);
}

static void atfork_install(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int smx_registry_check(const shmetrics_registry_t *reg, const char *fn)
{
    return smx_check_magic(reg, reg ? reg->magic : 0, SMX_REGISTRY_MAGIC, "registry", fn);
}

int smx_metric_check(const struct smx_metric *m, uint32_t type, const char *fn)
{
    int rc = smx_check_magic(m, m ? m->magic : 0, SMX_METRIC_MAGIC, "metric", fn);
    if (rc < 0)
        return rc;
    if (type && m->type != type)
        return smx_fail(-EINVAL, "%s: %s is a %s, not a %s", fn, m->name, smx_type_name(m->type), smx_type_name(type));
    return 0;
}

static unsigned long cache_size(uint32_t cap)
{
    unsigned long n = 64;
    while (n < cap && n < (1ul << 16))
        n <<= 1;
    return n;
}

/* SHMETRICS_ALLOW_FOREIGN_ARENA=1: the process's other way to opt in to
 * foreign arenas (include/shmetrics.h).  secure_getenv: a set-user-ID or
 * set-group-ID program does not take it from its caller. */
static bool allow_foreign_env(void)
{
    const char *v = secure_getenv("SHMETRICS_ALLOW_FOREIGN_ARENA");
    return v && strcmp(v, "1") == 0;
}

int shmetrics_open(const shmetrics_options_t *opts, shmetrics_registry_t **out)
{
    if (!opts || !out)
        return smx_fail(-EINVAL, "shmetrics_open needs options and an out pointer");
    if (!opts->path || !*opts->path)
        return smx_fail(-EINVAL, "no arena path given");
    if (opts->flags &
        ~(SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_READONLY | SHMETRICS_OPEN_EXCL | SHMETRICS_OPEN_ALLOW_FOREIGN))
        return smx_fail(-EINVAL, "unknown open flags 0x%x", opts->flags);
    if (opts->file_mode & ~0777u)
        return smx_fail(-EINVAL, "file mode %o is not a permission mode", opts->file_mode);

    char *path;
    if (strchr(opts->path, '/'))
        path = strdup(opts->path);
    else if ((path = malloc(strlen(DEFAULT_DIR) + strlen(opts->path) + 1)))
        strcat(strcpy(path, DEFAULT_DIR), opts->path);
    if (!path)
        return smx_fail(-ENOMEM, "out of memory");

    int flags = 0;
    if (opts->flags & SHMETRICS_OPEN_CREATE)
        flags |= SHM_OPEN_CREATE;
    if (opts->flags & SHMETRICS_OPEN_READONLY)
        flags |= SHM_OPEN_RDONLY;
    if (opts->flags & SHMETRICS_OPEN_EXCL)
        flags |= SHM_OPEN_EXCL;
    if ((opts->flags & SHMETRICS_OPEN_ALLOW_FOREIGN) || allow_foreign_env())
        flags |= SHM_OPEN_ALLOW_FOREIGN;
    struct shm_caps caps = {
        .families = opts->families,
        .series = opts->series,
        .processes = opts->processes,
        .stripes = opts->shards,
        .pool_cells = opts->cells,
        .proc_cells = (uint64_t)opts->gauges * SHM_GAUGE_CELLS,
    };
    shmetrics_registry_t *reg = calloc(1, sizeof *reg);
    if (!reg) {
        free(path);
        return smx_fail(-ENOMEM, "out of memory");
    }
    int rc = shm_arena_open(path, flags, &caps, opts->file_mode ? opts->file_mode : 0600, &reg->arena);
    free(path);
    if (rc < 0) {
        free(reg);
        return rc;
    }
    struct shm_usage u;
    shm_arena_usage(reg->arena, &u);
    reg->metrics = cds_lfht_new(cache_size(u.caps.families), 64, 0, 0, NULL);
    reg->series = cds_lfht_new(cache_size(u.caps.series), 64, 0, 0, NULL);
    if (!reg->metrics || !reg->series) {
        if (reg->metrics)
            cds_lfht_destroy(reg->metrics, NULL);
        if (reg->series)
            cds_lfht_destroy(reg->series, NULL);
        shm_arena_close(reg->arena);
        free(reg);
        return smx_fail(-ENOMEM, "out of memory for the lookup caches");
    }
    if ((rc = smx_samplers_open(reg)) < 0) {
        cds_lfht_destroy(reg->metrics, NULL);
        cds_lfht_destroy(reg->series, NULL);
        shm_arena_close(reg->arena);
        free(reg);
        return rc;
    }
    pthread_mutex_init(&reg->lock, NULL);
    reg->removals = shm_removals_word(reg->arena);
    reg->magic = SMX_REGISTRY_MAGIC;
    /* Give back the slots of processes that died without detaching. */
    if (!shm_arena_readonly(reg->arena))
        shm_proc_reclaim_dead(reg->arena);
    pthread_once(&atfork_once, atfork_install);
    pthread_mutex_lock(&all_lock);
    reg->next = all_regs;
    all_regs = reg;
    pthread_mutex_unlock(&all_lock);
    *out = reg;
    return 0;
}

static void metric_free(struct smx_metric *m)
{
    m->magic = 0;
    free(m->name);
    free(m->labels);
    free(m->bounds);
    free(m->quantiles);
    free(m->unit);
    free(m->states);
    free(m->state_names);
    free(m->native_bounds);
    free(m);
}

static void metric_free_any(void *m)
{
    metric_free(m);
}

void smx_lfht_drain(struct cds_lfht *ht, size_t node_off, size_t next_off, void (*free_obj)(void *))
{
    struct cds_lfht_iter iter;
    struct cds_lfht_node *node;
    char *dead = NULL;
    urcu_bp_read_lock();
    /* Node by node: cds_lfht_for_each_entry turns the NULL that ends the
     * walk into an entry pointer, which clang's UBSan reports. */
    for (cds_lfht_first(ht, &iter); (node = cds_lfht_iter_get_node(&iter)) != NULL; cds_lfht_next(ht, &iter)) {
        char *obj = (char *)node - node_off;
        /* The one thread walking the table at close deletes each node
         * once: a second deleter cannot exist. */
        SMX_CHECK_ZERO(cds_lfht_del(ht, node));
        memcpy(obj + next_off, &dead, sizeof dead);
        dead = obj;
    }
    urcu_bp_read_unlock();
    urcu_bp_synchronize_rcu();
    while (dead) {
        char *obj = dead;
        memcpy(&dead, obj + next_off, sizeof dead);
        free_obj(obj);
    }
    /* Every node was deleted above: destroy fails only on a table that
     * still has nodes. */
    SMX_CHECK_ZERO(cds_lfht_destroy(ht, NULL));
}

static double *doubles_dup(const double *d, uint32_t n)
{
    double *p = malloc(sizeof *p * (n ? n : 1));
    if (p && n)
        memcpy(p, d, sizeof *p * n);
    return p;
}

/* The series cache (src/write/series.c fills it): empty it and free its nodes. */
static void series_cache_free(shmetrics_registry_t *reg)
{
    smx_lfht_drain(reg->series, offsetof(struct smx_series, node), offsetof(struct smx_series, free_next), free);
    reg->series = NULL;
}

int shmetrics_shutdown(shmetrics_registry_t *reg, unsigned flags)
{
    int rc = smx_registry_check(reg, __func__);
    if (rc < 0)
        return rc;
    if (flags & ~SHMETRICS_SHUTDOWN_UNLINK)
        return smx_fail(-EINVAL, "unknown shutdown flags 0x%x", flags);
    /* Every thread's pending sampled counts of this registry, while the
     * arena is mapped. */
    smx_samplers_close(reg);
    pthread_mutex_lock(&all_lock);
    for (shmetrics_registry_t **p = &all_regs; *p; p = &(*p)->next)
        if (*p == reg) {
            *p = reg->next;
            break;
        }
    pthread_mutex_unlock(&all_lock);

    if ((flags & SHMETRICS_SHUTDOWN_UNLINK) && unlink(shm_arena_path(reg->arena)) < 0 && errno != ENOENT)
        rc = smx_fail(-errno, "cannot unlink %s: %s", shm_arena_path(reg->arena), strerror(errno));
    if (reg->have_slot)
        shm_proc_detach(reg->arena, reg->proc_slot);

    series_cache_free(reg);
    smx_lfht_drain(reg->metrics, offsetof(struct smx_metric, node), offsetof(struct smx_metric, free_next),
                   metric_free_any);
    reg->metrics = NULL;
    shm_arena_close(reg->arena);
    pthread_mutex_destroy(&reg->lock);
    reg->magic = 0;
    free(reg);
    return rc;
}

static shmetrics_registry_t *default_reg;
static int default_rc;
static char default_msg[512];
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_open(void)
{
    const char *path = getenv("SHMETRICS_ARENA");
    if (!path || !*path) {
        default_rc = smx_fail(-ENOENT, "SHMETRICS_ARENA is not set");
    } else {
        shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
        default_rc = shmetrics_open(&o, &default_reg);
    }
    if (default_rc < 0)
        snprintf(default_msg, sizeof default_msg, "default registry: %s", shmetrics_errmsg());
}

shmetrics_registry_t *shmetrics_default(void)
{
    pthread_once(&default_once, default_open);
    if (!default_reg)
        smx_fail(default_rc, "%s", default_msg);
    return default_reg;
}

/* ------------------------------------------------------------- metrics */

static int name_match(struct cds_lfht_node *node, const void *key)
{
    const struct smx_metric *m = caa_container_of(node, struct smx_metric, node);
    const char *name = key;
    SMX_FOUND(m);
    return strcmp(m->name, name) == 0;
}

static struct smx_metric *cache_find(shmetrics_registry_t *reg, const char *name, uint64_t hash)
{
    struct cds_lfht_iter iter;
    urcu_bp_read_lock();
    cds_lfht_lookup(reg->metrics, hash, name_match, name, &iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
    urcu_bp_read_unlock();
    /* Nodes are freed only at shutdown, so the pointer outlives the read
     * section. */
    return node ? caa_container_of(node, struct smx_metric, node) : NULL;
}

/* Build this process's metric object from a validated family view, and
 * publish it in the name cache (another thread may have won: use its). */
static int cache_add(shmetrics_registry_t *reg, const struct shm_family_view *v, uint64_t hash, struct smx_metric **out)
{
    struct smx_metric *m = calloc(1, sizeof *m);
    if (m) {
        m->name = strndup(v->name, v->name_len);
        m->labels = malloc(v->labels_len ? v->labels_len : 1);
        m->bounds = doubles_dup(v->buckets, v->nbuckets);
        m->quantiles = doubles_dup(v->quantiles, v->nquantiles);
        m->unit = strndup(v->unit, v->unit_len);
        m->states = malloc(v->states_len ? v->states_len : 1);
        m->state_names = malloc(sizeof *m->state_names * (v->nstates ? v->nstates : 1));
    }
    if (!m || !m->name || !m->labels || !m->bounds || !m->quantiles || !m->unit || !m->states || !m->state_names) {
        if (m)
            metric_free(m);
        return smx_fail(-ENOMEM, "out of memory");
    }
    memcpy(m->labels, v->labels, v->labels_len);
    memcpy(m->states, v->states, v->states_len);
    m->unit_len = v->unit_len;
    m->states_len = v->states_len;
    m->nstates = v->nstates;
    for (uint32_t i = 0, o = 0; i < v->nstates; i++) {
        m->state_names[i] = m->states + o;
        o += (uint32_t)strlen(m->states + o) + 1;
    }
    m->magic = SMX_METRIC_MAGIC;
    m->reg = reg;
    m->hash = hash;
    m->idx = v->idx;
    m->type = v->type;
    m->mode = v->mode;
    m->nlabels = v->nlabels;
    m->ncells = v->ncells;
    m->name_len = v->name_len;
    m->labels_len = v->labels_len;
    m->nbuckets = v->nbuckets;
    m->nquantiles = v->nquantiles;
    m->max_age_ms = v->max_age_ms;
    m->age_buckets = v->age_buckets;
    m->min_interval_us = v->min_interval_us;
    m->max_series = v->max_series;
    m->native_kind = v->native_kind;
    m->native_schema = v->native_schema;
    m->native_zero_threshold = v->native_zero_threshold;
    m->native_max_buckets = v->native_max_buckets;
    m->native_min_exponent = v->native_min_exponent;
    m->native_max_exponent = v->native_max_exponent;
    if (smx_native_setup(m) < 0) {
        metric_free(m);
        return -ENOMEM;
    }
    cds_lfht_node_init(&m->node);
    SMX_PUBLISHED(m);
    urcu_bp_read_lock();
    struct cds_lfht_node *got = cds_lfht_add_unique(reg->metrics, hash, name_match, m->name, &m->node);
    urcu_bp_read_unlock();
    if (got != &m->node) {
        metric_free(m);
        m = caa_container_of(got, struct smx_metric, node);
    }
    *out = m;
    return 0;
}

static void list_join(char *dst, size_t cap, const char *list, size_t len)
{
    size_t o = 0;
    dst[0] = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++)
        dst[o++] = list[i] ? list[i] : (i + 1 < len ? ',' : 0);
    dst[o < cap ? o : cap - 1] = 0;
}

/* An existing metric against a new spec: -EEXIST naming the difference. */
static int compare(const struct smx_metric *m, uint32_t type, const struct smx_spec *s)
{
    if (m->type != type)
        return smx_fail(-EEXIST, "%s is already registered as a %s, not a %s", m->name, smx_type_name(m->type),
                        smx_type_name(type));
    if (m->labels_len != s->labels_len || memcmp(m->labels, s->labels, s->labels_len) != 0) {
        char have[256], want[256];
        list_join(have, sizeof have, m->labels, m->labels_len);
        list_join(want, sizeof want, s->labels, s->labels_len);
        return smx_fail(-EEXIST, "%s is already registered with label names (%s), not (%s)", m->name, have, want);
    }
    if (m->mode != s->mode)
        return smx_fail(-EEXIST, "%s is already registered with mode %s, not %s", m->name, smx_mode_name(m->mode),
                        smx_mode_name(s->mode));
    int rc = smx_native_compare(m, s);
    if (rc < 0)
        return rc;
    if (m->nbuckets != s->nbuckets || memcmp(m->bounds, s->buckets, sizeof(double) * s->nbuckets) != 0)
        return smx_fail(-EEXIST, "%s is already registered with %u other buckets (first %g, last %g)", m->name,
                        m->nbuckets, m->bounds[0], m->bounds[m->nbuckets - 1]);
    if (m->nquantiles != s->nquantiles || memcmp(m->quantiles, s->quantiles, sizeof(double) * s->nquantiles) != 0)
        return smx_fail(-EEXIST, "%s is already registered with %u other quantiles", m->name, m->nquantiles);
    if (m->max_age_ms != s->max_age_ms || m->age_buckets != s->age_buckets)
        return smx_fail(-EEXIST, "%s is already registered with max age %g s in %u age buckets", m->name,
                        m->max_age_ms / 1000.0, m->age_buckets);
    if (m->min_interval_us != s->min_interval_us)
        return smx_fail(-EEXIST, "%s is already registered with a minimum interval of %g s", m->name,
                        m->min_interval_us / 1e6);
    if (m->max_series != s->max_series)
        return smx_fail(-EEXIST, "%s is already registered with at most %u label sets", m->name, m->max_series);
    if (m->unit_len != s->unit_len || memcmp(m->unit, s->unit, s->unit_len) != 0)
        return smx_fail(-EEXIST, "%s is already registered with unit \"%s\", not \"%s\"", m->name, m->unit, s->unit);
    bool same_states = m->nstates == s->nstates && m->states_len == s->states_len;
    for (uint32_t i = 0; same_states && i < s->nstates; i++)
        same_states = strcmp(m->state_names[i], s->states[i]) == 0;
    if (!same_states)
        return smx_fail(-EEXIST, "%s is already registered with %u other states (first \"%s\")", m->name, m->nstates,
                        m->nstates ? m->state_names[0] : "");
    return 0;
}

static uint32_t cells_of(uint32_t type, const struct smx_spec *s)
{
    switch (type) {
    case SHMETRICS_GAUGE:
    case SHMETRICS_INFO:
    case SHMETRICS_STATESET:
        return SHM_GAUGE_CELLS;
    case SHMETRICS_HISTOGRAM:
        if (s->native_kind != SHM_NATIVE_NONE)
            return smx_native_cells(s->native_kind, s->native_schema, s->nbuckets, s->native_min_exponent,
                                    s->native_max_exponent);
        return SHM_HISTOGRAM_CELLS(s->nbuckets);
    case SHMETRICS_SUMMARY:
        return SHM_SUMMARY_CELLS(s->age_buckets);
    case SHMETRICS_COUNTER:
        return SHM_COUNTER_CELLS;
    }
    /* The type comes from the typed entry points, never from input. */
    SMX_UNREACHABLE();
}

/* The type of the family named name[0..len), 0 if there is none. */
static uint32_t family_type(shmetrics_registry_t *reg, const char *name, size_t len)
{
    uint32_t idx;
    struct shm_family_view v;
    if (shm_family_find(reg->arena, name, len, &idx) < 0 || shm_family_view(reg->arena, idx, &v) < 0)
        return 0;
    return v.type;
}

/*
 * A new family must not expose a sample name that another family exposes:
 * a counter jobs exposes jobs_total, a histogram lat exposes lat_bucket,
 * lat_sum and lat_count.  Check each name the new family exposes against
 * families of that name and families it would be a suffixed name of.
 * (Two processes registering clashing names at the same instant can both
 * pass; the names they expose then clash in the output.)
 */
static int check_clashes(shmetrics_registry_t *reg, uint32_t type, const char *name, size_t len)
{
    size_t nsfx;
    const char *const *sfx = smx_type_suffixes(type, &nsfx);
    for (size_t i = 0; i <= nsfx; i++) {
        char n[SHM_MAX_NAME + 16];
        int nl = snprintf(n, sizeof n, "%.*s%s", (int)len, name, i ? sfx[i - 1] : "");
        uint32_t t;
        if (i && (t = family_type(reg, n, (size_t)nl)))
            return smx_fail(-EEXIST, "%.*s would expose %s, the name of an existing %s", (int)len, name, n,
                            smx_type_name(t));
        for (uint32_t other = SHMETRICS_COUNTER; other <= SHMETRICS_STATESET; other++) {
            size_t no;
            const char *const *os = smx_type_suffixes(other, &no);
            for (size_t j = 0; j < no; j++) {
                size_t sl = strlen(os[j]);
                size_t bl = (size_t)nl - sl;
                /* A base of our own name is this family (perhaps registered
                 * by another process meanwhile): the normal path checks it. */
                bool self = bl == len && memcmp(n, name, len) == 0;
                if ((size_t)nl > sl && !self && strcmp(n + nl - sl, os[j]) == 0 && family_type(reg, n, bl) == other)
                    return smx_fail(-EEXIST, "%.*s clashes with %s %.*s, which exposes %s", (int)len, name,
                                    smx_type_name(other), (int)((size_t)nl - sl), n, n);
            }
        }
    }
    return 0;
}

int smx_metric_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec, uint32_t type, struct smx_metric **out)
{
    if (!reg || !out)
        return smx_fail(-EINVAL, "no registry or out pointer given");
    int rc = smx_registry_check(reg, "shmetrics_*_register");
    if (rc < 0)
        return rc;
    struct smx_spec s;
    rc = smx_spec_parse(spec, type, &s);
    if (rc < 0)
        return rc;
    if (shm_arena_readonly(reg->arena))
        return smx_fail(-EROFS, "cannot register %s: the arena is open read-only", s.name);
    uint64_t hash = shm_hash_family(s.name, s.name_len);
    struct smx_metric *m = cache_find(reg, s.name, hash);
    if (!m) {
        char *states = smx_states_encode(&s);
        if (!states)
            return smx_fail(-ENOMEM, "out of memory");
        struct shm_family_spec fs = {
            .type = type,
            .name = s.name,
            .name_len = s.name_len,
            .help = s.help,
            .help_len = s.help_len,
            .labels = s.labels,
            .labels_len = s.labels_len,
            .nlabels = s.nlabels,
            .mode = s.mode,
            .buckets = s.buckets,
            .nbuckets = s.nbuckets,
            .quantiles = s.quantiles,
            .nquantiles = s.nquantiles,
            .max_age_ms = s.max_age_ms,
            .age_buckets = s.age_buckets,
            .min_interval_us = s.min_interval_us,
            .max_series = s.max_series,
            .ncells = cells_of(type, &s),
            .unit = s.unit,
            .unit_len = s.unit_len,
            .states = states,
            .states_len = s.states_len,
            .nstates = s.nstates,
            .native_kind = s.native_kind,
            .native_schema = s.native_schema,
            .native_zero_threshold = s.native_zero_threshold,
            .native_max_buckets = s.native_max_buckets,
            .native_min_exponent = s.native_min_exponent,
            .native_max_exponent = s.native_max_exponent,
        };
        uint32_t idx;
        bool created;
        struct shm_family_view v;
        if (!family_type(reg, s.name, s.name_len))
            rc = check_clashes(reg, type, s.name, s.name_len);
        if (rc == 0 && ((rc = shm_family_register(reg->arena, &fs, &idx, &created)) < 0 ||
                        (rc = shm_family_view(reg->arena, idx, &v)) < 0 || (rc = cache_add(reg, &v, hash, &m)) < 0))
            rc = rc == -EAGAIN ? smx_fail(-EBADMSG, "family %s vanished", s.name) : rc;
        free(states);
        if (rc < 0)
            return rc;
    }
    if ((rc = compare(m, type, &s)) < 0)
        return rc;
    if (s.utf8_names)
        shmetrics_store_relaxed(&m->utf8_names, 1u);
    *out = m;
    return 0;
}

int smx_metric_get(shmetrics_registry_t *reg, const char *name, uint32_t type, struct smx_metric **out)
{
    if (!reg || !name || !out)
        return smx_fail(-EINVAL, "no registry, name or out pointer given");
    if (smx_registry_check(reg, "shmetrics_*_get") < 0)
        return -EINVAL;
    size_t len = strlen(name);
    uint64_t hash = shm_hash_family(name, len);
    struct smx_metric *m = cache_find(reg, name, hash);
    if (!m) {
        uint32_t idx;
        struct shm_family_view v;
        int rc = shm_family_find(reg->arena, name, len, &idx);
        if (rc == 0 && (rc = shm_family_view(reg->arena, idx, &v)) == -EAGAIN)
            rc = smx_fail(-ENOENT, "metric %s is being registered", name);
        if (rc == 0)
            rc = cache_add(reg, &v, hash, &m);
        if (rc < 0)
            return rc;
    }
    if (m->type != type)
        return smx_fail(-EINVAL, "%s is a %s, not a %s", name, smx_type_name(m->type), smx_type_name(type));
    *out = m;
    return 0;
}

/* Register and look up, typed for the caller, sharing the two functions
 * above. */
#define SMX_METRIC_FUNCTIONS(type, TYPE)                                                                \
    int shmetrics_##type##_register(shmetrics_registry_t *reg, const shmetrics_spec_t *spec,            \
                                    shmetrics_##type##_t **out)                                         \
    {                                                                                                   \
        return smx_metric_register(reg, spec, SHMETRICS_##TYPE, (struct smx_metric **)out);             \
    }                                                                                                   \
    int shmetrics_##type##_get(shmetrics_registry_t *reg, const char *name, shmetrics_##type##_t **out) \
    {                                                                                                   \
        return smx_metric_get(reg, name, SHMETRICS_##TYPE, (struct smx_metric **)out);                  \
    }

SMX_METRIC_FUNCTIONS(counter, COUNTER)
SMX_METRIC_FUNCTIONS(gauge, GAUGE)
SMX_METRIC_FUNCTIONS(histogram, HISTOGRAM)
SMX_METRIC_FUNCTIONS(summary, SUMMARY)
SMX_METRIC_FUNCTIONS(info, INFO)
SMX_METRIC_FUNCTIONS(enum, STATESET)
