/* SPDX-License-Identifier: MIT */
/*
 * src/write/exemplar.c - owns the exemplar calls of the C API: checking an
 * exemplar's labels, counting the update it comes with, and handing the
 * exemplar to the arena (shm/exemplar.c, which owns the block, the text's
 * layout and the lock-free protocol).
 *
 * The order is what prometheus_client does: an exemplar that is refused
 * (-EINVAL) changes nothing, not even the count; one that is accepted is
 * counted first and stored after.  When the pool or the filesystem has no
 * room for the series' exemplar block the update still counts (the
 * exemplar is an illustration of the count, the count is the metric) and
 * the call returns -ENOSPC with the reason.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"
#include "shm/names.h"

/* Check `labels` whole, for the message of a refused exemplar.  The fast
 * check below stops at the first thing that looks wrong and asks this
 * one, so the message names the same problem in the same order whatever
 * the fast check saw first. */
static int refuse(const shmetrics_label_t *labels, size_t n, bool utf8)
{
    if (n && !labels)
        return smx_fail(-EINVAL, "exemplar: %zu labels but no array", n);
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = labels[i].name, *v = labels[i].value;
        if (!k || !v)
            return smx_fail(-EINVAL, "exemplar label %zu: NULL %s", i, k ? "value" : "name");
        size_t kl = strlen(k), kchars = smx_utf8_count(k, kl), vchars = smx_utf8_count(v, strlen(v));
        if (!utf8 && !smx_label_name_legacy(k, kl))
            return smx_fail(-EINVAL, "exemplar label name \"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", k);
        if (kl == 0)
            return smx_fail(-EINVAL, "exemplar label %zu: the name is empty", i);
        if (kchars == SIZE_MAX)
            return smx_fail(-EINVAL, "exemplar label %zu: the name is not UTF-8", i);
        if (kl > SHM_MAX_NAME)
            return smx_fail(-EINVAL, "exemplar label %zu: the name is longer than %u bytes", i, SHM_MAX_NAME);
        if (vchars == SIZE_MAX)
            return smx_fail(-EINVAL, "exemplar label %s: the value is not UTF-8", k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, k) == 0)
                return smx_fail(-EINVAL, "exemplar label %s is given twice", k);
        chars += kchars + vchars;
    }
    if (chars > SHM_EXEMPLAR_CHARS)
        return smx_fail(-EINVAL, "exemplar labels have %zu UTF-8 characters, exceeding the limit of %u", chars,
                        SHM_EXEMPLAR_CHARS);
    return smx_fail(-EINVAL, "exemplar labels refused"); /* not reached: check() saw a problem */
}

/* Check `labels`, keeping each string and its length for the slot's
 * text (shm_exemplar_end writes it straight into the slot): at most
 * SHM_EXEMPLAR_CHARS characters in all, so at most that many labels; a
 * value longer than 4 bytes a character allows is too long unread.  It
 * stores only a pointer and a length a string: the update's locked add
 * comes next, and stores before it have to drain first, so the text
 * itself is written after the slot's CAS. */
struct checked {
    size_t n; /* strings: 2 a label */
    const char *str[2 * SHM_EXEMPLAR_CHARS];
    uint16_t len[2 * SHM_EXEMPLAR_CHARS];
};

/* Whether the metric takes UTF-8 label names: read only for a name outside
 * the legacy set, off the common path. */
static bool takes_utf8(const struct smx_metric *m)
{
    return shmetrics_load_relaxed(&m->utf8_names) != 0;
}

static int check(const shmetrics_label_t *labels, size_t n, const struct smx_metric *m, struct checked *c)
{
    size_t chars = 0;

    if (n && !labels)
        return refuse(labels, n, takes_utf8(m));
    if (n > SHM_EXEMPLAR_CHARS)
        return refuse(labels, n, takes_utf8(m)); /* every label has a name of a character at least */
    for (size_t i = 0; i < n; i++) {
        const char *k = labels[i].name, *v = labels[i].value;
        if (!k || !v)
            return refuse(labels, n, takes_utf8(m));
        size_t kl = smx_label_name_len(k, SHM_EXEMPLAR_CHARS), kchars = kl;
        if (kl == 0) { /* not a legacy name: UTF-8, if the metric takes it */
            if (!takes_utf8(m))
                return refuse(labels, n, takes_utf8(m));
            kl = strnlen(k, SHM_MAX_NAME + 1);
            kchars = kl && kl <= SHM_MAX_NAME ? smx_utf8_count(k, kl) : SIZE_MAX;
            if (kchars == SIZE_MAX)
                return refuse(labels, n, takes_utf8(m));
        }
        size_t vl = strnlen(v, 4 * SHM_EXEMPLAR_CHARS + 1);
        if (vl > 4 * SHM_EXEMPLAR_CHARS)
            return refuse(labels, n, takes_utf8(m));
        size_t vchars = smx_utf8_count(v, vl);
        if (vchars == SIZE_MAX || (chars += kchars + vchars) > SHM_EXEMPLAR_CHARS)
            return refuse(labels, n, takes_utf8(m));
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, k) == 0)
                return refuse(labels, n, takes_utf8(m));
        c->str[2 * i] = k;
        c->str[2 * i + 1] = v;
        c->len[2 * i] = (uint16_t)kl;
        c->len[2 * i + 1] = (uint16_t)vl;
    }
    c->n = 2 * n;
    return 0;
}

/* The series' exemplar block, allocated on its first exemplar. */
static int block_of(struct smx_series *s, uint32_t nslots, uint64_t **block)
{
    uint64_t *b = shmetrics_load_relaxed(&s->exemplars);
    if (b) {
        *block = b;
        return 0;
    }
    int rc = shm_exemplar_block(s->metric->reg->arena, s->idx, nslots, &b);
    if (rc < 0)
        return smx_fail_prefix(rc, "%s: exemplar", s->metric->name);
    shmetrics_store_relaxed(&s->exemplars, b);
    *block = b;
    return 0;
}

/* An exemplar checked, and the block it goes to: prepared before the
 * update (a refused exemplar changes nothing), published after it (the
 * update counts even when the pool had no room for the block): the slot
 * taken, the text written, the slot released. */
struct pending {
    struct checked labels;
    uint64_t *block;
    int block_rc;
    const struct smx_series *series;
};

static int prepare(struct pending *p, const void *handle, uint32_t nslots, const shmetrics_label_t *labels, size_t n)
{
    struct smx_series *s = smx_series_of_handle(handle);
    int rc = check(labels, n, s->metric, &p->labels);
    if (rc < 0)
        return rc;
    p->series = s;
    p->block_rc = block_of(s, nslots, &p->block);
    return 0;
}

static int publish(const struct pending *p, uint32_t slot, double value)
{
    if (p->block_rc < 0)
        return p->block_rc;
    /* The time before the slot is taken: a registry's clock may run code
     * that takes long (shmetrics_registry_set_clock). */
    uint64_t ts = __builtin_expect(shmetrics_load_relaxed(&smx_clocks_set) != 0, 0)
                      ? smx_registry_clock_ns(p->series->metric->reg)
                      : 0;
    if (!ts)
        ts = smx_real_coarse_ns();
    uint64_t ticket;
    if (shm_exemplar_begin(p->block, slot, &ticket) != 0)
        return 0; /* dropped: another writer's exemplar is being stored */
    shm_exemplar_end(p->block, slot, ticket, value, ts, p->labels.str, p->labels.len, p->labels.n);
    return 0;
}

int shmetrics_counter_inc_exemplar(shmetrics_counter_series_t *c, double amount, const shmetrics_label_t *labels,
                                   size_t nlabels)
{
    if (!c)
        return smx_fail(-EINVAL, "counter_inc_exemplar: NULL series");
    if (!(amount >= 0.0) || isinf(amount))
        return shmetrics_bad_value_("counter increment", amount);
    struct pending p;
    int rc = prepare(&p, c, 1, labels, nlabels);
    if (rc < 0)
        return rc;
    shmetrics_counter_inc(c, amount);
    return publish(&p, 0, amount);
}

int shmetrics_counter_add_exemplar(shmetrics_counter_series_t *c, uint64_t n, const shmetrics_label_t *labels,
                                   size_t nlabels)
{
    if (!c)
        return smx_fail(-EINVAL, "counter_add_exemplar: NULL series");
    struct pending p;
    int rc = prepare(&p, c, 1, labels, nlabels);
    if (rc < 0)
        return rc;
    shmetrics_counter_add(c, n);
    return publish(&p, 0, (double)n);
}

int shmetrics_histogram_observe_exemplar(shmetrics_histogram_series_t *h, double v, const shmetrics_label_t *labels,
                                         size_t nlabels)
{
    if (!h)
        return smx_fail(-EINVAL, "histogram_observe_exemplar: NULL series");
    if (!isfinite(v))
        return smx_fail(-EINVAL, "histogram observation with an exemplar: %g is %s; nothing is observed", v,
                        isnan(v) ? "not a number" : "infinite");
    struct pending p;
    int rc = prepare(&p, h, h->nbuckets + 1, labels, nlabels);
    if (rc < 0)
        return rc;
    shmetrics_histogram_observe(h, v);
    return publish(&p, shmetrics_bucket_index_(h->bounds, h->nbuckets, v), v);
}
