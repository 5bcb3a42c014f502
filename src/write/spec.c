/* SPDX-License-Identifier: MIT */
/*
 * src/write/spec.c - owns the checking of a metric spec: the full name
 * (namespace_subsystem_name), the name and label rules, and their encoding
 * into the form the arena stores.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"
#include "shm/names.h"

/* The public names of the arena format (shmetrics.h, shmetrics/hot.h) are
 * shm/layout.h's values: the public headers cannot include the layout, so
 * each restated number is checked here, where both are visible. */
#define SMX_SAME(pub, shm) _Static_assert((long long)(pub) == (long long)(shm), #pub " equals " #shm " (shm/layout.h)")
SMX_SAME(SHMETRICS_COUNTER, SHM_TYPE_COUNTER);
SMX_SAME(SHMETRICS_GAUGE, SHM_TYPE_GAUGE);
SMX_SAME(SHMETRICS_HISTOGRAM, SHM_TYPE_HISTOGRAM);
SMX_SAME(SHMETRICS_SUMMARY, SHM_TYPE_SUMMARY);
SMX_SAME(SHMETRICS_INFO, SHM_TYPE_INFO);
SMX_SAME(SHMETRICS_STATESET, SHM_TYPE_STATESET);
SMX_SAME(SHMETRICS_MAX_UNIT, SHM_MAX_UNIT_LEN);
SMX_SAME(SHMETRICS_MAX_STATES, SHM_MAX_STATES);
SMX_SAME(SHMETRICS_MODE_ALL, SHM_MODE_ALL);
SMX_SAME(SHMETRICS_MODE_SUM, SHM_MODE_SUM);
SMX_SAME(SHMETRICS_MODE_MIN, SHM_MODE_MIN);
SMX_SAME(SHMETRICS_MODE_MAX, SHM_MODE_MAX);
SMX_SAME(SHMETRICS_MODE_MOSTRECENT, SHM_MODE_MOSTRECENT);
SMX_SAME(SHMETRICS_MODE_LIVEALL, SHM_MODE_LIVEALL);
SMX_SAME(SHMETRICS_MODE_LIVESUM, SHM_MODE_LIVESUM);
SMX_SAME(SHMETRICS_MODE_LIVEMIN, SHM_MODE_LIVEMIN);
SMX_SAME(SHMETRICS_MODE_LIVEMAX, SHM_MODE_LIVEMAX);
SMX_SAME(SHMETRICS_MODE_LIVEMOSTRECENT, SHM_MODE_LIVEMOSTRECENT);
SMX_SAME(SHMETRICS_MODE_LIVEALL - SHMETRICS_MODE_ALL, SHM_MODE_LIVE);
SMX_SAME(SHMETRICS_MAX_NAME, SHM_MAX_NAME);
SMX_SAME(SHMETRICS_MAX_HELP, SHM_MAX_HELP);
SMX_SAME(SHMETRICS_MAX_LABELS, SHM_MAX_LABELS);
SMX_SAME(SHMETRICS_MAX_LABEL_VALUE, SHM_MAX_LABEL_VALUE);
SMX_SAME(SHMETRICS_MAX_BUCKETS, SHM_MAX_BUCKETS);
SMX_SAME(SHMETRICS_MAX_QUANTILES, SHM_MAX_QUANTILES);
SMX_SAME(SHMETRICS_MAX_AGE_BUCKETS, SHM_MAX_AGE_BUCKETS);
SMX_SAME(SHMETRICS_MAX_PROCESSES, SHM_MAX_PROCESSES);
SMX_SAME(SHMETRICS_MAX_SHARDS, SHM_MAX_STRIPES);
SMX_SAME(SHMETRICS_DIR_LG_MASK, SHM_DIR_LG_MASK);
/* A stripes word's low bits hold lg and NOGROW below the 128-byte aligned
 * address of a set's first stripe. */
_Static_assert(SHM_SET_HEADER_WORDS *SHM_CELL_BYTES == SHMETRICS_STRIPES_LOW + 1, "stripes are 128-byte aligned");
_Static_assert(SHM_PAIR_WORDS *SHM_CELL_BYTES == SHMETRICS_STRIPES_LOW + 1, "stripes are 128-byte aligned");
_Static_assert(SHM_MAX_STRIPES_LG <= SHMETRICS_DIR_LG_MASK, "lg fits its bits");
_Static_assert((SHMETRICS_STRIPES_NOGROW & SHMETRICS_DIR_LG_MASK) == 0, "NOGROW apart from lg");
SMX_SAME(SHMETRICS_CELL_BYTES, SHM_CELL_BYTES);
SMX_SAME(SHMETRICS_COUNTER_WHOLE, SHM_COUNTER_WHOLE);
SMX_SAME(SHMETRICS_COUNTER_FRAC, SHM_COUNTER_FRAC);
SMX_SAME(SHMETRICS_GAUGE_VALUE, SHM_GAUGE_VALUE);
SMX_SAME(SHMETRICS_GAUGE_STAMP, SHM_GAUGE_STAMP);
SMX_SAME(SHMETRICS_SUM_FRAC, SHM_SUM_FRAC);
SMX_SAME(SHMETRICS_HISTOGRAM_SUM(0), SHM_HISTOGRAM_SUM(0));
SMX_SAME(SHMETRICS_HISTOGRAM_CLASSIC, SHM_NATIVE_NONE);
SMX_SAME(SHMETRICS_HISTOGRAM_NATIVE, SHM_NATIVE_ONLY);
SMX_SAME(SHMETRICS_HISTOGRAM_BOTH, SHM_NATIVE_BOTH);
SMX_SAME(SHMETRICS_NATIVE_MIN_SCHEMA, SHM_NATIVE_MIN_SCHEMA);
SMX_SAME(SHMETRICS_NATIVE_MAX_SCHEMA, SHM_NATIVE_MAX_SCHEMA);
SMX_SAME(SHMETRICS_NATIVE_ZERO_WORD, SHM_NATIVE_ZERO);
SMX_SAME(SHMETRICS_HISTOGRAM_SUM(SHM_MAX_BUCKETS), SHM_HISTOGRAM_SUM(SHM_MAX_BUCKETS));
SMX_SAME(SHMETRICS_SUMMARY_COUNT, SHM_SUMMARY_COUNT);
SMX_SAME(SHMETRICS_SUMMARY_SUM, SHM_SUMMARY_SUM);
SMX_SAME(SHMETRICS_SUMMARY_SLOTS, SHM_SUMMARY_SLOTS);
SMX_SAME(SHMETRICS_AGE_EPOCH, SHM_AGE_EPOCH);
SMX_SAME(SHMETRICS_AGE_RANGE, SHM_AGE_RANGE);
SMX_SAME(SHMETRICS_AGE_COUNTS, SHM_AGE_COUNTS);
SMX_SAME(SHMETRICS_SKETCH_SUB_BITS, SHM_SKETCH_SUB_BITS);
SMX_SAME(SHMETRICS_SKETCH_EMIN, SHM_SKETCH_EMIN);
SMX_SAME(SHMETRICS_SKETCH_OCTAVES, SHM_SKETCH_OCTAVES);
SMX_SAME(SHMETRICS_SKETCH_HALF, SHM_SKETCH_HALF);
_Static_assert(sizeof(uint64_t) == SHM_CELL_BYTES, "a cell is one uint64_t");

const char *shmetrics_type_name(shmetrics_type_t type)
{
    switch (type) {
    case SHMETRICS_COUNTER:
        return "counter";
    case SHMETRICS_GAUGE:
        return "gauge";
    case SHMETRICS_HISTOGRAM:
        return "histogram";
    case SHMETRICS_SUMMARY:
        return "summary";
    case SHMETRICS_INFO:
        return "info";
    case SHMETRICS_STATESET:
        return "stateset";
    }
    return NULL;
}

const char *smx_type_name(uint32_t type)
{
    const char *n = shmetrics_type_name((shmetrics_type_t)type);
    return n ? n : "unknown";
}

const char *const *smx_type_suffixes(uint32_t type, size_t *n)
{
    /* prometheus_client's: _created included (OpenMetrics shows it). */
    static const char *const counter[] = {"_total", "_created"};
    static const char *const histogram[] = {"_bucket", "_sum", "_count", "_created"};
    static const char *const summary[] = {"_sum", "_count", "_created"};
    static const char *const info[] = {"_info"};
    switch (type) {
    case SHMETRICS_COUNTER:
        *n = 2;
        return counter;
    case SHMETRICS_HISTOGRAM:
        *n = 4;
        return histogram;
    case SHMETRICS_SUMMARY:
        *n = 3;
        return summary;
    case SHMETRICS_INFO:
        *n = 1;
        return info;
    }
    *n = 0;
    return NULL;
}

static const char *const mode_names[] = {"all",     "sum",     "min",     "max",     "mostrecent",
                                         "liveall", "livesum", "livemin", "livemax", "livemostrecent"};

const char *shmetrics_gauge_mode_name(shmetrics_gauge_mode_t mode)
{
    return (unsigned)mode < sizeof mode_names / sizeof mode_names[0] ? mode_names[mode] : NULL;
}

int shmetrics_gauge_mode_parse(const char *name, shmetrics_gauge_mode_t *out)
{
    for (size_t i = 0; name && out && i < sizeof mode_names / sizeof mode_names[0]; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (shmetrics_gauge_mode_t)i;
            return 0;
        }
    return smx_fail(-EINVAL, "unknown gauge mode '%s': use all, sum, min, max, mostrecent or their live variants",
                    name ? name : "(null)");
}

const char *smx_mode_name(uint32_t mode)
{
    const char *n = shmetrics_gauge_mode_name((shmetrics_gauge_mode_t)mode);
    return n ? n : "unknown";
}

static int name_append(char *name, size_t *name_len, const char *part)
{
    if (!part || !*part)
        return 0;
    size_t len = strlen(part);
    size_t need = len + (*name_len ? 1 : 0);
    if (*name_len + need > SHM_MAX_NAME)
        return smx_fail(-EINVAL, "metric name is longer than %u bytes", SHM_MAX_NAME);
    if (*name_len)
        name[(*name_len)++] = '_';
    memcpy(name + *name_len, part, len);
    *name_len += len;
    name[*name_len] = 0;
    return 0;
}

/* The name a spec registers under, checked, into name[SHM_MAX_NAME + 1]. */
static int spec_name(const shmetrics_spec_t *spec, uint32_t type, char *name, size_t *len)
{
    *len = 0;
    name[0] = 0;
    if (!spec)
        return smx_fail(-EINVAL, "no metric spec given");
    if (!spec->name || !*spec->name)
        return smx_fail(-EINVAL, "metric name is empty");
    int rc;
    if ((rc = name_append(name, len, spec->namespace_name)) < 0 || (rc = name_append(name, len, spec->subsystem)) < 0 ||
        (rc = name_append(name, len, spec->name)) < 0)
        return rc;
    if (!spec->utf8_names && !smx_metric_name_legacy(name, *len))
        return smx_fail(-EINVAL, "invalid metric name \"%s\": it must match [a-zA-Z_:][a-zA-Z0-9_:]*", name);
    if (!smx_metric_name_ok(name, *len))
        return smx_fail(-EINVAL, "invalid metric name: it is not UTF-8");
    /* prometheus_client's rule: a counter's _total belongs to its samples. */
    if (type == SHMETRICS_COUNTER && *len > 6 && memcmp(name + *len - 6, "_total", 6) == 0)
        name[ *len -= 6] = 0;
    /* And a unit the name does not end with is appended. */
    const char *unit = spec->unit ? spec->unit : "";
    size_t ul = strlen(unit);
    if (!ul)
        return 0;
    if (type == SHMETRICS_INFO || type == SHMETRICS_STATESET)
        return smx_fail(-EINVAL, "%s: an %s metric cannot have a unit (%s given)", name,
                        type == SHMETRICS_INFO ? "info" : "enum", unit);
    if (!smx_unit_ok(unit, ul))
        return smx_fail(-EINVAL, "invalid unit \"%.*s\" for %s: it must be 1 to %u bytes of [a-zA-Z0-9_:]",
                        (int)(ul > SHM_MAX_UNIT_LEN ? SHM_MAX_UNIT_LEN : ul), unit, name, SHM_MAX_UNIT_LEN);
    if (!(*len > ul && name[*len - ul - 1] == '_' && memcmp(name + *len - ul, unit, ul) == 0)) {
        /* A whole part, so that "x" with unit "2" is not a bad name. */
        char with[SHM_MAX_NAME + 1];
        size_t wl = *len;
        memcpy(with, name, wl + 1);
        if ((rc = name_append(with, &wl, unit)) < 0)
            return rc;
        memcpy(name, with, wl + 1);
        *len = wl;
    }
    return 0;
}

int shmetrics_full_name(const shmetrics_spec_t *spec, shmetrics_type_t type, char *buf, size_t cap)
{
    char name[SHM_MAX_NAME + 1];
    size_t len;
    int rc = spec_name(spec, type, name, &len);
    if (rc < 0)
        return rc;
    if (!buf || cap <= len)
        return smx_fail(-EINVAL, "the name %s needs %zu bytes, %zu given", name, len + 1, buf ? cap : 0);
    memcpy(buf, name, len + 1);
    return 0;
}

static const char *reserved_label(uint32_t type, uint32_t mode)
{
    if (type == SHMETRICS_GAUGE && (mode == SHMETRICS_MODE_ALL || mode == SHMETRICS_MODE_LIVEALL))
        return "pid";
    if (type == SHMETRICS_HISTOGRAM)
        return "le";
    if (type == SHMETRICS_SUMMARY)
        return "quantile";
    return NULL;
}

static int parse_buckets(const shmetrics_spec_t *spec, struct smx_spec *o)
{
    const double *b = spec->buckets ? spec->buckets : SHMETRICS_DEFAULT_BUCKETS;
    size_t n = spec->buckets ? spec->nbuckets : SHMETRICS_DEFAULT_NBUCKETS;
    if (n && b[n - 1] == INFINITY)
        n--; /* +Inf is always there */
    if (n == 0)
        return smx_fail(-EINVAL, "histogram %s has an empty bucket list", o->name);
    if (n > SHM_MAX_BUCKETS)
        return smx_fail(-EINVAL, "histogram %s has %zu buckets, more than %u", o->name, n, SHM_MAX_BUCKETS);
    for (size_t i = 0; i < n; i++) {
        if (isnan(b[i]) || isinf(b[i]))
            return smx_fail(-EINVAL, "histogram %s: bucket bound %zu is %g; bounds must be finite", o->name, i + 1,
                            b[i]);
        if (i && !(b[i] > b[i - 1]))
            return smx_fail(-EINVAL, "histogram %s: bucket bounds must be strictly increasing (%g after %g)", o->name,
                            b[i], b[i - 1]);
        o->buckets[i] = b[i];
    }
    o->nbuckets = (uint32_t)n;
    return 0;
}

static const double default_quantiles[] = {0.5, 0.9, 0.95, 0.99};

static int parse_summary(const shmetrics_spec_t *spec, struct smx_spec *o)
{
    const double *q = spec->quantiles ? spec->quantiles : default_quantiles;
    size_t n = spec->quantiles ? spec->nquantiles : sizeof default_quantiles / sizeof default_quantiles[0];
    if (n > SHM_MAX_QUANTILES)
        return smx_fail(-EINVAL, "summary %s has %zu quantiles, more than %u", o->name, n, SHM_MAX_QUANTILES);
    for (size_t i = 0; i < n; i++) {
        if (!(q[i] >= 0 && q[i] <= 1))
            return smx_fail(-EINVAL, "summary %s: quantile %g is not within [0, 1]", o->name, q[i]);
        if (i && !(q[i] > q[i - 1]))
            return smx_fail(-EINVAL, "summary %s: quantiles must be strictly increasing (%g after %g)", o->name, q[i],
                            q[i - 1]);
        o->quantiles[i] = q[i];
    }
    o->nquantiles = (uint32_t)n;
    double age = spec->max_age_seconds == 0 ? 60 : spec->max_age_seconds;
    o->age_buckets = spec->age_buckets ? spec->age_buckets : 5;
    if (o->age_buckets > SHM_MAX_AGE_BUCKETS)
        return smx_fail(-EINVAL, "summary %s: %u age buckets, more than %u", o->name, o->age_buckets,
                        SHM_MAX_AGE_BUCKETS);
    if (!(age >= 0.001 * o->age_buckets && age <= 86400.0 * 7))
        return smx_fail(-EINVAL, "summary %s: max age %g s must be between 1 ms per age bucket and 7 days", o->name,
                        age);
    o->max_age_ms = (uint32_t)(age * 1000 + 0.5);
    return 0;
}

/* An enum's states: 1..256 distinct label values.  Its name is the label
 * of its samples' state, so it must be a label name that none of its own
 * labels takes. */
static int parse_states(const shmetrics_spec_t *spec, struct smx_spec *o)
{
    if (!spec->states || spec->nstates == 0)
        return smx_fail(-EINVAL, "enum %s has no states", o->name);
    if (spec->nstates > SHM_MAX_STATES)
        return smx_fail(-EINVAL, "enum %s has %zu states, more than %u", o->name, spec->nstates, SHM_MAX_STATES);
    if (!(spec->utf8_names ? smx_label_name_ok : smx_label_name_legacy)(o->name, o->name_len) ||
        (o->name[0] == '_' && o->name[1] == '_'))
        return smx_fail(-EINVAL,
                        spec->utf8_names ? "enum name \"%s\" is also the label of its states: it must not start with __"
                                         : "enum name \"%s\" is also the label of its states: it must match "
                                           "[a-zA-Z_][a-zA-Z0-9_]* and not start with __",
                        o->name);
    size_t total = 0;
    for (size_t i = 0; i < spec->nstates; i++) {
        const char *st = spec->states[i];
        if (!st)
            return smx_fail(-EINVAL, "enum %s: state %zu is NULL", o->name, i + 1);
        size_t l = strlen(st);
        if (l > SHM_MAX_LABEL_VALUE || !smx_utf8_ok(st, l))
            return smx_fail(-EINVAL, "enum %s: state %zu is not valid UTF-8 of at most %u bytes", o->name, i + 1,
                            SHM_MAX_LABEL_VALUE);
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->states[j], st) == 0)
                return smx_fail(-EINVAL, "enum %s: state \"%s\" appears twice", o->name, st);
        total += l + 1;
    }
    o->states = spec->states;
    o->nstates = (uint32_t)spec->nstates;
    o->states_len = total;
    return 0;
}

char *smx_states_encode(const struct smx_spec *s)
{
    char *list = malloc(s->states_len ? s->states_len : 1);
    size_t o = 0;
    for (uint32_t i = 0; list && i < s->nstates; i++) {
        size_t l = strlen(s->states[i]) + 1;
        memcpy(list + o, s->states[i], l);
        o += l;
    }
    return list;
}

int smx_spec_parse(const shmetrics_spec_t *spec, uint32_t type, struct smx_spec *o)
{
    memset(o, 0, sizeof *o);
    int rc = spec_name(spec, type, o->name, &o->name_len);
    if (rc < 0)
        return rc;
    o->utf8_names = spec->utf8_names != 0;
    if (spec->unit && *spec->unit) {
        o->unit_len = strlen(spec->unit);
        memcpy(o->unit, spec->unit, o->unit_len + 1);
    }
    if (type == SHMETRICS_STATESET) {
        if ((rc = parse_states(spec, o)) < 0)
            return rc;
    } else if (spec->states || spec->nstates) {
        return smx_fail(-EINVAL, "%s: states are for enums, not for a %s", o->name, smx_type_name(type));
    }

    o->help = spec->help ? spec->help : "";
    o->help_len = strlen(o->help);
    if (o->help_len > SHM_MAX_HELP)
        return smx_fail(-EINVAL, "help text of %s is longer than %u bytes", o->name, SHM_MAX_HELP);
    if (!smx_utf8_ok(o->help, o->help_len))
        return smx_fail(-EINVAL, "help text of %s is not valid UTF-8", o->name);

    /* Info and enum take the one mode they merge by. */
    o->mode = type == SHMETRICS_GAUGE                                ? (uint32_t)spec->gauge_mode
              : type == SHMETRICS_INFO || type == SHMETRICS_STATESET ? SHMETRICS_MODE_MOSTRECENT
                                                                     : 0;
    if (o->mode > SHMETRICS_MODE_LIVEMOSTRECENT)
        return smx_fail(-EINVAL, "unknown gauge mode %u for %s", o->mode, o->name);

    if (spec->nlabels > SHM_MAX_LABELS)
        return smx_fail(-EINVAL, "%s has %zu label names, more than %u", o->name, spec->nlabels, SHM_MAX_LABELS);
    if (spec->nlabels && !spec->label_names)
        return smx_fail(-EINVAL, "%s: %zu label names announced, none given", o->name, spec->nlabels);
    const char *reserved = reserved_label(type, o->mode);
    for (size_t i = 0; i < spec->nlabels; i++) {
        const char *l = spec->label_names[i];
        if (!l)
            return smx_fail(-EINVAL, "%s: label name %zu is NULL", o->name, i + 1);
        size_t len = strlen(l);
        if (!spec->utf8_names && !smx_label_name_legacy(l, len))
            return smx_fail(-EINVAL, "invalid label name \"%s\" for %s: it must match [a-zA-Z_][a-zA-Z0-9_]*", l,
                            o->name);
        if (!smx_label_name_ok(l, len))
            return smx_fail(-EINVAL, "invalid label name for %s: label name %zu is %s", o->name, i + 1,
                            len ? "longer than 255 bytes or not UTF-8" : "empty");
        if (len >= 2 && l[0] == '_' && l[1] == '_')
            return smx_fail(-EINVAL,
                            "label name \"%s\" for %s is reserved: names starting with __ are Prometheus's own", l,
                            o->name);
        if (reserved && strcmp(l, reserved) == 0)
            return smx_fail(-EINVAL, "label name \"%s\" is reserved for a %s%s%s", l, smx_type_name(type),
                            type == SHMETRICS_GAUGE ? " in mode " : "",
                            type == SHMETRICS_GAUGE ? smx_mode_name(o->mode) : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->label_names[j], l) == 0)
                return smx_fail(-EINVAL, "label name \"%s\" appears twice in %s", l, o->name);
        if (type == SHMETRICS_STATESET && strcmp(l, o->name) == 0)
            return smx_fail(-EINVAL, "label name \"%s\" of enum %s is the label of its states (overlapping labels)", l,
                            o->name);
        memcpy(o->labels + o->labels_len, l, len + 1);
        o->labels_len += len + 1;
    }
    o->nlabels = (uint32_t)spec->nlabels;
    o->max_series = spec->max_series ? spec->max_series : SHMETRICS_MAX_SERIES_DEFAULT;
    double mi = spec->min_interval_seconds;
    if (mi != 0 && type != SHMETRICS_GAUGE)
        return smx_fail(-EINVAL, "%s: a minimum interval between sets is for gauges", o->name);
    if (!(mi >= 0 && mi <= 3600))
        return smx_fail(-EINVAL, "%s: minimum interval %g s must be between 0 and 3600", o->name, mi);
    o->min_interval_us = (uint32_t)(mi * 1e6 + 0.5);
    if (mi > 0 && o->min_interval_us == 0)
        o->min_interval_us = 1;
    if ((rc = smx_native_parse(spec, type, o)) < 0)
        return rc;
    if (type == SHMETRICS_HISTOGRAM && o->native_kind != SHM_NATIVE_ONLY)
        return parse_buckets(spec, o);
    if (type == SHMETRICS_SUMMARY)
        return parse_summary(spec, o);
    return 0;
}
