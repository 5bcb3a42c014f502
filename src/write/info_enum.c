/* SPDX-License-Identifier: MIT */
/*
 * src/write/info_enum.c - owns the writes of the two types whose value is
 * a label: info (prometheus_client's Info: a value set of pairs replaces
 * the previous one) and enum (prometheus_client's Enum, OpenMetrics'
 * stateset: one of its states).  Both are mostrecent gauges underneath
 * (src/write/series.c makes their handles): an enum's cell holds the
 * index of its state, and an info series' value sets are series of their
 * own whose cells say when each was last chosen.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"
#include "shm/names.h"

int shmetrics_enum_bad_index_(struct shmetrics_enum_series *e, uint32_t index)
{
    const struct smx_metric *m = smx_series_of_handle(e)->metric;
    return smx_fail(-EINVAL, "enum %s has no state number %u (it has %u states); the state is unchanged", m->name,
                    index, m->nstates);
}

int shmetrics_enum_state(shmetrics_enum_series_t *s, const char *state)
{
    if (!s || !state)
        return smx_fail(-EINVAL, "%s: no series or state given", __func__);
    const struct smx_metric *m = smx_series_of_handle(s)->metric;
    for (uint32_t i = 0; i < m->nstates; i++)
        if (strcmp(m->state_names[i], state) == 0)
            return shmetrics_enum_state_index(s, i);
    /* The states, as many as fit in a message. */
    char list[256];
    size_t o = 0;
    list[0] = 0;
    for (uint32_t i = 0; i < m->nstates && o + 8 < sizeof list; i++) {
        int n = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", m->state_names[i]);
        o = n < 0 || (size_t)n >= sizeof list - o ? sizeof list - 1 : o + (size_t)n;
    }
    if (o >= sizeof list - 1)
        memcpy(list + sizeof list - 5, "...", 4);
    return smx_fail(-EINVAL, "enum %s has no state '%s' (its states: %s); the state is unchanged", m->name, state,
                    list);
}

int shmetrics_enum_states(const shmetrics_enum_t *e, const char *const **states, size_t *n)
{
    if (!states || !n)
        return smx_fail(-EINVAL, "%s: no output given", __func__);
    int rc = smx_metric_check(e ? &e->m : NULL, SHMETRICS_STATESET, __func__);
    if (rc < 0)
        return rc;
    *states = e->m.state_names;
    *n = e->m.nstates;
    return 0;
}

/* The pairs of a value set, checked as prometheus_client checks them and
 * as a reader will: label names, none of the metric's, none twice. */
static int pairs_check(const struct smx_metric *m, const shmetrics_label_t *pairs, size_t n)
{
    if (n > SHM_MAX_LABELS - m->nlabels)
        return smx_fail(-EINVAL, "info %s: %zu pairs and %u label names, more than %u names in all", m->name, n,
                        m->nlabels, SHM_MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        const char *k = pairs[i].name, *v = pairs[i].value;
        if (!k || !v)
            return smx_fail(-EINVAL, "info %s: pair %zu has no %s", m->name, i + 1, k ? "value" : "name");
        size_t kl = strlen(k), vl = strlen(v);
        if (!shmetrics_load_relaxed(&m->utf8_names) && !smx_label_name_legacy(k, kl))
            return smx_fail(-EINVAL, "info %s: invalid label name \"%s\": it must match [a-zA-Z_][a-zA-Z0-9_]*",
                            m->name, k);
        if (!smx_label_name_ok(k, kl))
            return smx_fail(-EINVAL, "info %s: label name %zu is %s", m->name, i + 1,
                            kl ? "longer than 255 bytes or not UTF-8" : "empty");
        if (kl >= 2 && k[0] == '_' && k[1] == '_')
            return smx_fail(-EINVAL,
                            "info %s: label name \"%s\" is reserved: names starting with __ are Prometheus's own",
                            m->name, k);
        const char *l = m->labels;
        for (uint32_t j = 0; j < m->nlabels; l += strlen(l) + 1, j++)
            if (strcmp(l, k) == 0)
                return smx_fail(-EINVAL, "info %s: overlapping labels: \"%s\" is a label name of the metric", m->name,
                                k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(pairs[j].name, k) == 0)
                return smx_fail(-EINVAL, "info %s: label name \"%s\" appears twice", m->name, k);
        if (vl > SHM_MAX_LABEL_VALUE || !smx_utf8_ok(v, vl))
            return smx_fail(-EINVAL, "info %s: the value of \"%s\" is not valid UTF-8 of at most %u bytes", m->name, k,
                            SHM_MAX_LABEL_VALUE);
    }
    return 0;
}

int shmetrics_info_set(shmetrics_info_series_t *s, const shmetrics_label_t *pairs, size_t n)
{
    if (!s || (n && !pairs))
        return smx_fail(-EINVAL, "%s: no series or pairs given", __func__);
    struct smx_series *holder = smx_series_of_handle(s);
    struct smx_metric *m = holder->metric;
    int rc = pairs_check(m, pairs, n);
    if (rc < 0)
        return rc;
    struct smx_series *set = holder;
    if (n && (rc = smx_info_series_get(m, holder->key, holder->key_len, pairs, n, &set)) < 0)
        return rc;
    /* A stamp above this process's previous set of the label set, even
     * within one clock tick, so that the set made last wins here. */
    uint64_t now = shmetrics_now_ns_(), last = shmetrics_load_relaxed(&s->last_stamp), stamp;
    for (;;) {
        stamp = now > last ? now : last + 1;
        uint64_t seen = shmetrics_cas_seq_cst(&s->last_stamp, last, stamp);
        if (seen == last)
            break;
        last = seen;
    }
    uint64_t *cell = shmetrics_gauge_cell_(&set->h.gauge);
    if (!cell)
        return smx_fail_prefix(-ENOSPC, "%s", m->name);
    double one = 1.0;
    uint64_t bits;
    memcpy(&bits, &one, sizeof bits);
    shmetrics_store_relaxed(&cell[SHM_GAUGE_VALUE], bits);
    shmetrics_store_release(&cell[SHM_GAUGE_STAMP], stamp);
    return 0;
}
