/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top_model.c - owns what `shmetrics top` shows, apart from how:
 * the arena read into rows (a row per counter, gauge or info sample, per
 * histogram or summary series), rates per second against the previous
 * read, p50 and p99 estimated from a histogram's buckets, the filter (an
 * extended regular expression on name and labels) and the sort.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "top.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *const sort_names[TOP_NSORTS] = {"rate", "value", "name"};

const char *top_sort_name(enum top_sort s)
{
    return s < TOP_NSORTS ? sort_names[s] : "?";
}

int top_sort_parse(const char *word)
{
    for (int i = 0; i < TOP_NSORTS; i++)
        if (strcmp(word, sort_names[i]) == 0)
            return i;
    return -1;
}

int top_model_open(struct top_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    int st = cli_open_readonly(path, &m->reg);
    if (st)
        return st;
    shmetrics_arena_info(m->reg, &m->info);
    struct stat sb;
    if (stat(m->info.path, &sb) == 0) {
        m->dev = sb.st_dev;
        m->ino = sb.st_ino;
    }
    return 0;
}

static void free_rows(struct top_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].key);
        free(rows[i].quantiles);
        free(rows[i].bounds);
        free(rows[i].cum);
    }
    free(rows);
}

void top_model_close(struct top_model *m)
{
    free_rows(m->rows, m->nrows);
    free_rows(m->prev, m->nprev);
    free(m->shown);
    if (m->has_re)
        regfree(&m->re);
    if (m->reg)
        shmetrics_shutdown(m->reg, 0);
    memset(m, 0, sizeof *m);
}

/* ----------------------------------------------------------------- rows */

/* `s` at p: control characters (which a UTF-8 name or any label value may
 * hold, and which a terminal would obey) as \xHH; with `value`, \\, \"
 * and \n escaped as the text format escapes them. */
static char *put_text(char *p, const char *s, bool value)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (value && (c == '\\' || c == '"' || c == '\n')) {
            *p++ = '\\';
            *p++ = c == '\n' ? 'n' : (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            p += sprintf(p, "\\x%02x", c);
        } else {
            *p++ = (char)c;
        }
    }
    return p;
}

/* name{a="x",b="y"}, as the text format writes it, control characters
 * shown as \xHH. */
static char *make_key(const char *name, const char *suffix, const shmetrics_sample_t *s)
{
    size_t len = 4 * (strlen(name) + strlen(suffix)) + 3;
    for (size_t i = 0; i < s->nlabels; i++)
        len += 4 * (strlen(s->labels[i].name) + strlen(s->labels[i].value)) + 4;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    p = put_text(put_text(p, name, false), suffix, false);
    for (size_t i = 0; i < s->nlabels; i++) {
        *p++ = i ? ',' : '{';
        p = put_text(p, s->labels[i].name, false);
        *p++ = '=';
        *p++ = '"';
        p = put_text(p, s->labels[i].value, true);
        *p++ = '"';
    }
    strcpy(p, s->nlabels ? "}" : "");
    return k;
}

/* Prometheus' histogram_quantile: linear within the bucket the rank falls
 * in, the lower bound of the first bucket 0 (when its bound is positive),
 * the last finite bound for a rank in +Inf. */
static double bucket_quantile(double q, size_t n, const double *bounds, const double *cum)
{
    if (n < 2 || cum[n - 1] <= 0)
        return NAN;
    double rank = q * cum[n - 1];
    size_t b = 0;
    while (b < n - 1 && cum[b] < rank)
        b++;
    if (b == n - 1)
        return bounds[n - 2];
    double lo = b ? bounds[b - 1] : (bounds[0] > 0 ? 0 : bounds[0]);
    double below = b ? cum[b - 1] : 0, in = cum[b] - below;
    if (in <= 0)
        return bounds[b];
    return lo + (bounds[b] - lo) * (rank - below) / in;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct top_row *)a)->key, ((const struct top_row *)b)->key);
}

static const struct top_row *find_prev(const struct top_model *m, const char *key)
{
    struct top_row probe = {.key = (char *)key};
    return m->nprev ? bsearch(&probe, m->prev, m->nprev, sizeof probe, by_key) : NULL;
}

/* Rows of one family, appended to rows[*n]; -ENOMEM. */
static int family_rows(const shmetrics_family_t *f, struct top_row *rows, size_t *n)
{
    /* A histogram's or summary's samples: buckets or quantiles, _sum, then
     * _count, which ends the series (src/read/collect.c). */
    double bounds[SHMETRICS_MAX_BUCKETS + 1], cum[SHMETRICS_MAX_BUCKETS + 1];
    size_t nb = 0;
    char quant[512];
    size_t qlen = 0;
    quant[0] = 0;
    for (size_t i = 0; i < f->nsamples; i++) {
        const shmetrics_sample_t *s = &f->samples[i];
        bool grouped = f->type == SHMETRICS_HISTOGRAM || f->type == SHMETRICS_SUMMARY;
        if (grouped && strcmp(s->suffix, "_sum") == 0)
            continue;
        if (f->type == SHMETRICS_HISTOGRAM && strcmp(s->suffix, "_bucket") == 0) {
            const char *le = s->nlabels ? s->labels[s->nlabels - 1].value : "+Inf";
            if (nb <= SHMETRICS_MAX_BUCKETS) {
                bounds[nb] = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
                cum[nb++] = s->value;
            }
            continue;
        }
        if (f->type == SHMETRICS_SUMMARY && strcmp(s->suffix, "") == 0 && s->nlabels) {
            if (qlen < sizeof quant - 40)
                qlen += (size_t)snprintf(quant + qlen, sizeof quant - qlen, "%sq%s=%.4g", qlen ? " " : "",
                                         s->labels[s->nlabels - 1].value, s->value);
            continue;
        }
        struct top_row *r = &rows[(*n)];
        memset(r, 0, sizeof *r);
        r->type = f->type;
        r->mode = f->gauge_mode;
        r->value = s->value;
        r->rate = r->p50 = r->p99 = NAN;
        r->key = make_key(f->name, grouped ? "" : s->suffix, s);
        if (!r->key)
            return -ENOMEM;
        ++*n;
        if (f->type == SHMETRICS_SUMMARY) {
            if (!(r->quantiles = strdup(quant)))
                return -ENOMEM;
            qlen = 0;
            quant[0] = 0;
        }
        if (f->type == SHMETRICS_HISTOGRAM && nb) {
            r->bounds = malloc(nb * sizeof *r->bounds);
            r->cum = malloc(nb * sizeof *r->cum);
            if (!r->bounds || !r->cum)
                return -ENOMEM;
            memcpy(r->bounds, bounds, nb * sizeof *bounds);
            memcpy(r->cum, cum, nb * sizeof *cum);
            r->nbuckets = nb;
        }
        nb = 0;
    }
    return 0;
}

/* Rates of counters, histograms and summaries, and a histogram's p50/p99
 * over the observations since the previous read (all of them when there
 * was none since, or no read). */
static void derive(struct top_model *m, struct top_row *r, double dt)
{
    /* Only what counts up has a rate: a gauge's value is its figure. */
    if (r->type != SHMETRICS_COUNTER && r->type != SHMETRICS_HISTOGRAM && r->type != SHMETRICS_SUMMARY)
        return;
    const struct top_row *p = find_prev(m, r->key);
    if (p && dt > 0 && r->value >= p->value) /* went down: a reset, no rate for this read */
        r->rate = (r->value - p->value) / dt;
    if (r->nbuckets < 2)
        return;
    const double *cum = r->cum;
    double delta[SHMETRICS_MAX_BUCKETS + 1];
    if (p && p->nbuckets == r->nbuckets && r->cum[r->nbuckets - 1] > p->cum[r->nbuckets - 1]) {
        for (size_t b = 0; b < r->nbuckets; b++)
            delta[b] = r->cum[b] - p->cum[b];
        cum = delta;
    }
    r->p50 = bucket_quantile(0.5, r->nbuckets, r->bounds, cum);
    r->p99 = bucket_quantile(0.99, r->nbuckets, r->bounds, cum);
}

int top_model_read(struct top_model *m)
{
    uint64_t t0 = mono_ns();
    struct stat sb;
    if (stat(m->info.path, &sb) < 0) {
        snprintf(m->err, sizeof m->err, "the arena %s was removed (%s)", m->info.path, strerror(errno));
        return -1;
    }
    if (sb.st_dev != m->dev || sb.st_ino != m->ino) {
        snprintf(m->err, sizeof m->err, "the arena %s was replaced by another file", m->info.path);
        return -1;
    }
    shmetrics_snapshot_t *snap;
    int rc = shmetrics_collect(m->reg, &snap);
    if (rc < 0) {
        snprintf(m->err, sizeof m->err, "reading the arena: %s (%s)", shmetrics_errmsg(), strerror(-rc));
        return -1;
    }
    size_t cap = 0;
    for (size_t f = 0; f < snap->nfamilies; f++)
        cap += snap->families[f].nsamples;
    struct top_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    size_t *shown = calloc(cap ? cap : 1, sizeof *shown);
    size_t n = 0;
    rc = rows && shown ? 0 : -ENOMEM;
    for (size_t f = 0; f < snap->nfamilies && rc == 0; f++)
        rc = family_rows(&snap->families[f], rows, &n);
    if (rc < 0) {
        free_rows(rows, n);
        free(shown);
        shmetrics_snapshot_free(snap);
        snprintf(m->err, sizeof m->err, "out of memory for %zu samples", cap);
        return -1;
    }
    m->procs_attached = snap->procs_attached;
    m->procs_dead = snap->procs_dead;
    m->procs_exited = snap->procs_exited;
    m->damaged = snap->damaged;
    shmetrics_snapshot_free(snap);
    shmetrics_arena_info(m->reg, &m->info);

    /* Rates against the previous read; this read becomes the previous. */
    m->prev_ns = m->read_ns;
    m->read_ns = t0;
    double dt = m->prev_ns ? (double)(m->read_ns - m->prev_ns) / 1e9 : 0;
    for (size_t i = 0; i < n; i++)
        derive(m, &rows[i], dt);
    free_rows(m->prev, m->nprev);
    m->prev = NULL;
    m->nprev = 0;
    free_rows(m->rows, m->nrows);
    free(m->shown);
    m->rows = rows;
    m->nrows = n;
    m->shown = shown;
    /* The previous read's copy, sorted for look-ups: the keys are shared
     * with no one, so this read's rows are copied shallowly and the copy
     * owns nothing until the rows are dropped. */
    struct top_row *copy = malloc((n ? n : 1) * sizeof *copy);
    if (copy) {
        for (size_t i = 0; i < n; i++) {
            copy[i] = (struct top_row){.key = strdup(rows[i].key), .value = rows[i].value};
            if (rows[i].nbuckets && (copy[i].cum = malloc(rows[i].nbuckets * sizeof(double))) != NULL) {
                memcpy(copy[i].cum, rows[i].cum, rows[i].nbuckets * sizeof(double));
                copy[i].nbuckets = rows[i].nbuckets;
            }
            if (!copy[i].key) {
                free_rows(copy, i + 1);
                copy = NULL;
                break;
            }
        }
    }
    if (copy) {
        qsort(copy, n, sizeof *copy, by_key);
        m->prev = copy;
        m->nprev = n;
    }
    top_model_order(m);
    m->refresh_ms = (double)(mono_ns() - t0) / 1e6;
    if (m->collector)
        top_collector_poll(m->collector);
    return 0;
}

/* ----------------------------------------------------- filter and sort */

int top_model_filter(struct top_model *m, const char *re)
{
    if (strlen(re) >= sizeof m->filter) {
        snprintf(m->err, sizeof m->err, "the filter is longer than %zu bytes", sizeof m->filter - 1);
        return -1;
    }
    regex_t c;
    if (*re) {
        int rc = regcomp(&c, re, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char why[256];
            regerror(rc, &c, why, sizeof why);
            snprintf(m->err, sizeof m->err, "the filter '%s' is not a regular expression: %s", re, why);
            return -1;
        }
    }
    if (m->has_re)
        regfree(&m->re);
    m->has_re = *re != 0;
    if (m->has_re)
        m->re = c;
    strcpy(m->filter, re);
    top_model_order(m);
    return 0;
}

static const struct top_model *sorting;

/* Larger first; NaN (no rate yet) after every number. */
static int desc(double x, double y)
{
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return x > y ? -1 : x < y;
}

static int by_sort(const void *a, const void *b)
{
    const struct top_row *x = &sorting->rows[*(const size_t *)a], *y = &sorting->rows[*(const size_t *)b];
    int c = sorting->sort == TOP_SORT_RATE    ? desc(x->rate, y->rate)
            : sorting->sort == TOP_SORT_VALUE ? desc(x->value, y->value)
                                              : 0;
    return c ? c : strcmp(x->key, y->key);
}

void top_model_order(struct top_model *m)
{
    m->nshown = 0;
    for (size_t i = 0; i < m->nrows; i++)
        if (!m->has_re || regexec(&m->re, m->rows[i].key, 0, NULL, 0) == 0)
            m->shown[m->nshown++] = i;
    if (m->nshown == 0)
        return; /* no rows yet: m->shown may be NULL, which qsort may not get */
    sorting = m;
    qsort(m->shown, m->nshown, sizeof *m->shown, by_sort);
    sorting = NULL;
}

/* ---------------------------------------------------------- the cells */

void top_header(const struct top_model *m, char *line1, char *line2, size_t len)
{
    char used[32], most[32];
    snprintf(line1, len, "arena %s: families %u/%u, series %u/%u, memory %s of %s", m->info.path, m->info.families_used,
             m->info.families_cap, m->info.series_used, m->info.series_cap,
             cli_human_bytes(m->info.allocated_bytes, used, sizeof used),
             cli_human_bytes(m->info.file_bytes, most, sizeof most));
    snprintf(line2, len, "processes %zu attached, %zu dead, %zu exited; %llu damaged records; sort %s, filter %s",
             m->procs_attached, m->procs_dead, m->procs_exited, (unsigned long long)m->damaged, top_sort_name(m->sort),
             m->has_re ? m->filter : "(none)");
}

static void number(char *buf, size_t len, double v, const char *fmt)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, fmt, v);
}

void top_cells(const struct top_row *r, char *type, char *value, char *rate, char *detail, size_t len)
{
    snprintf(type, len, "%s", shmetrics_type_name(r->type) ? shmetrics_type_name(r->type) : "?");
    number(value, len, r->value, "%.6g");
    number(rate, len, r->rate, "%.2f");
    detail[0] = 0;
    if (r->type == SHMETRICS_GAUGE)
        snprintf(detail, len, "mode %s", shmetrics_gauge_mode_name(r->mode));
    else if (r->type == SHMETRICS_HISTOGRAM && r->nbuckets >= 2) {
        char a[32], b[32];
        number(a, sizeof a, r->p50, "%.4g");
        number(b, sizeof b, r->p99, "%.4g");
        snprintf(detail, len, "p50 %s p99 %s", a, b);
    } else if (r->type == SHMETRICS_SUMMARY && r->quantiles)
        snprintf(detail, len, "%s", r->quantiles);
}
