/* SPDX-License-Identifier: MIT */
/*
 * src/read/collect_check.c - owns the reader's checks of what it copied out of
 * the arena, beyond each string's own rules: bucket bounds and quantiles,
 * a family's label names (distinct, none the label its type adds; a
 * stateset's name a label name), creation times (set, and not far in the
 * future), and the names families expose (no two alike).  Writers refuse all of these when
 * they register; a reader checks them again on its private copies because
 * a damaged or hostile record that broke them could change a number under
 * it, or make Prometheus refuse the whole scrape, not just that family.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shm/arena.h"
#include "shm/layout.h"
#include "shm/names.h"
#include "src/write/registry.h"

bool smx_numbers_ok(const double *d, uint32_t n, bool unit_interval)
{
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(d[i]) || (i && !(d[i] > d[i - 1])) || (unit_interval && !(d[i] >= 0 && d[i] <= 1)))
            return false;
    return true;
}

bool smx_family_labels_ok(const char *family, const char *const *names, uint32_t n, uint32_t type, uint32_t mode)
{
    const char *added = type == SHM_TYPE_HISTOGRAM                                                     ? "le"
                        : type == SHM_TYPE_SUMMARY                                                     ? "quantile"
                        : type == SHM_TYPE_GAUGE && (mode == SHM_MODE_ALL || mode == SHM_MODE_LIVEALL) ? "pid"
                        : type == SHM_TYPE_STATESET                                                    ? family
                                                                                                       : NULL;
    /* A stateset's samples are labelled with its name: it must be a label
     * name, and not a reserved one. */
    if (type == SHM_TYPE_STATESET && (!smx_label_name_ok(family, strlen(family)) || strncmp(family, "__", 2) == 0))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        if (strncmp(names[i], "__", 2) == 0 || (added && strcmp(names[i], added) == 0))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return false;
    }
    return true;
}

bool smx_created_ok(uint64_t created_ns, uint64_t now_ns)
{
    return created_ns != 0 && created_ns <= now_ns + SMX_CREATED_AHEAD_NS;
}

bool smx_exemplar_ok(const struct shm_exemplar *e, uint64_t now_ns)
{
    return smx_exemplar_text_ok(e->text, e->len) && isfinite(e->value) && smx_created_ok(e->ts_ns, now_ns);
}

/* The names a family exposes: its own, and its own with each suffix its
 * samples (or, for a counter in text 0.0.4, its HELP line) carry:
 * _created for the types that show a creation time in OpenMetrics. */
static const char *const *variants(uint32_t type, size_t *n)
{
    static const char *const counter[] = {"", "_total", "_created"};
    static const char *const gauge[] = {""};
    static const char *const histogram[] = {"", "_bucket", "_sum", "_count", "_created"};
    static const char *const summary[] = {"", "_sum", "_count", "_created"};
    static const char *const info[] = {"", "_info"};
    switch (type) {
    case SHM_TYPE_COUNTER:
        *n = 3;
        return counter;
    case SHM_TYPE_HISTOGRAM:
        *n = 5;
        return histogram;
    case SHM_TYPE_SUMMARY:
        *n = 4;
        return summary;
    case SHM_TYPE_INFO:
        *n = 2;
        return info;
    default:
        *n = 1;
        return gauge;
    }
}

struct smx_exposed {
    uint64_t *slots; /* 0 empty, else ((family + 1) << 8) | variant */
    size_t mask;
    const char **names; /* by family index, for the families claimed */
    uint32_t *types;
};

struct smx_exposed *smx_exposed_new(uint32_t nfamilies)
{
    size_t cap = 16;
    while (cap < (size_t)nfamilies * 8)
        cap <<= 1;
    struct smx_exposed *e = calloc(1, sizeof *e);
    if (!e || !(e->slots = calloc(cap, sizeof *e->slots)) ||
        !(e->names = calloc(nfamilies ? nfamilies : 1, sizeof *e->names)) ||
        !(e->types = calloc(nfamilies ? nfamilies : 1, sizeof *e->types))) {
        smx_exposed_free(e);
        return NULL;
    }
    e->mask = cap - 1;
    return e;
}

void smx_exposed_free(struct smx_exposed *e)
{
    if (!e)
        return;
    free(e->slots);
    free(e->names);
    free(e->types);
    free(e);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Write variant `v` of family `f` into buf (room for a name and a suffix). */
static void spell(const struct smx_exposed *e, uint32_t f, size_t v, char *buf)
{
    size_t n;
    const char *const *sfx = variants(e->types[f], &n);
    strcpy(buf, e->names[f]);
    strcat(buf, sfx[v]);
}

/* The slot holding `name`, or the empty slot where it would go. */
static uint64_t *slot_of(const struct smx_exposed *e, const char *name, bool *found)
{
    char other[SHM_MAX_NAME + 16];
    for (size_t i = name_hash(name);; i++) {
        uint64_t *s = &e->slots[i & e->mask];
        if (*s == 0) {
            *found = false;
            return s;
        }
        spell(e, (uint32_t)(*s >> 8) - 1, (size_t)(*s & 0xff), other);
        if (strcmp(other, name) == 0) {
            *found = true;
            return s;
        }
    }
}

bool smx_exposed_claim(struct smx_exposed *e, uint32_t family, const char *name, uint32_t type)
{
    if (strlen(name) > SHM_MAX_NAME)
        return false;
    e->names[family] = name;
    e->types[family] = type;
    size_t n;
    variants(type, &n);
    char buf[SHM_MAX_NAME + 16];
    bool found;
    for (size_t v = 0; v < n; v++) {
        spell(e, family, v, buf);
        slot_of(e, buf, &found);
        if (found)
            return false;
    }
    for (size_t v = 0; v < n; v++) {
        spell(e, family, v, buf);
        uint64_t *s = slot_of(e, buf, &found);
        if (!found) /* two variants of one family never coincide, but be safe */
            *s = ((uint64_t)(family + 1) << 8) | v;
    }
    return true;
}
