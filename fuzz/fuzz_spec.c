/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_spec.c - owns fuzzing the write side's validation through the
 * public API: metric specs (names, namespace and subsystem, help, label
 * names, gauge modes, buckets, quantiles, windows, intervals, series
 * limits) and label values, then a collect and all three encodings.
 *
 * Input: NUL-separated fields (fuzz_util.h).
 *   0  control bytes: [0] type, [1] gauge mode, [2] age buckets,
 *      [3] max_series, [4] flags (bit 0 help NULL, 1 buckets NULL,
 *      2 quantiles NULL, 3 label_names NULL, 4 remove the first label set,
 *      5 clear the metric, 6 register a second type under the same name)
 *   1  namespace   2 subsystem   3 name   4 help
 *   5  label names, separated by \x01
 *   6  label value sets, separated by \x02, values by \x01
 *   7  bucket bounds, 8 quantiles: numbers separated by spaces (strtod)
 *   9  max age in seconds, 10 min interval in seconds (strtod)
 * Each input gets a fresh small arena in /dev/shm.
 *
 * Must hold: no crash or sanitizer report; whatever the library accepts
 * follows the rules (checked here by independent code): a valid full name,
 * valid and distinct label names, UTF-8 help and values of bounded length,
 * finite increasing buckets, increasing quantiles in [0, 1]; a refusal
 * comes with a message; registering the same spec again gives the same
 * metric; the snapshot and its encodings follow the exposition rules.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "shmetrics.h"

#define MAX_ITEMS 600

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/dev/shm/shmetrics-fuzz-spec-%d", (int)getpid());
    unlink(path);
    return 0;
}

static size_t parse_numbers(char *s, double *out)
{
    char *items[MAX_ITEMS];
    size_t n = fz_items(s, ' ', items, MAX_ITEMS);
    for (size_t i = 0; i < n; i++)
        out[i] = strtod(items[i], NULL);
    return n;
}

static void append_part(char *full, size_t *len, const char *part)
{
    if (!part || !*part)
        return;
    size_t l = strlen(part);
    if (*len + l + 1 >= 1024) {
        *len = 1024; /* too long for any rule */
        return;
    }
    if (*len)
        full[(*len)++] = '_';
    memcpy(full + *len, part, l);
    *len += l;
    full[*len] = 0;
}

/* What an accepted spec must satisfy. */
static void check_accepted(const shmetrics_spec_t *spec, int type)
{
    char full[1024] = "";
    size_t len = 0;
    append_part(full, &len, spec->namespace_name);
    append_part(full, &len, spec->subsystem);
    append_part(full, &len, spec->name);
    if (type == SHMETRICS_COUNTER && len > 6 && len < 1024 && strcmp(full + len - 6, "_total") == 0)
        len -= 6;
    if (!fz_name(full, len, true))
        fz_die("accepted a bad metric name", full, len);
    const char *help = spec->help ? spec->help : "";
    if (strlen(help) > 4096 || !fz_utf8(help, strlen(help)))
        fz_die("accepted bad help text", help, strlen(help));
    if (spec->nlabels > 16)
        fz_die("accepted more than 16 labels", "", 0);
    for (size_t i = 0; i < spec->nlabels; i++) {
        const char *l = spec->label_names[i];
        if (!fz_name(l, strlen(l), false) || strncmp(l, "__", 2) == 0)
            fz_die("accepted a bad label name", l, strlen(l));
        for (size_t j = 0; j < i; j++)
            if (strcmp(l, spec->label_names[j]) == 0)
                fz_die("accepted a repeated label name", l, strlen(l));
        if ((type == SHMETRICS_HISTOGRAM && strcmp(l, "le") == 0) ||
            (type == SHMETRICS_SUMMARY && strcmp(l, "quantile") == 0) ||
            (type == SHMETRICS_GAUGE && strcmp(l, "pid") == 0 &&
             (spec->gauge_mode == SHMETRICS_MODE_ALL || spec->gauge_mode == SHMETRICS_MODE_LIVEALL)))
            fz_die("accepted the label its type adds", l, strlen(l));
    }
    if (type == SHMETRICS_GAUGE && (unsigned)spec->gauge_mode > SHMETRICS_MODE_LIVEMOSTRECENT)
        fz_die("accepted an unknown gauge mode", "", 0);
    if (type != SHMETRICS_GAUGE && spec->min_interval_seconds != 0)
        fz_die("accepted a minimum interval on a metric that is not a gauge", "", 0);
    if (!(spec->min_interval_seconds >= 0 && spec->min_interval_seconds <= 3600))
        fz_die("accepted a minimum interval outside [0, 3600] s", "", 0);
    if (type == SHMETRICS_HISTOGRAM && spec->buckets) {
        size_t n = spec->nbuckets;
        if (n && spec->buckets[n - 1] == INFINITY)
            n--;
        if (n == 0 || n > 512)
            fz_die("accepted an empty or too long bucket list", "", 0);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(spec->buckets[i]) || (i && !(spec->buckets[i] > spec->buckets[i - 1])))
                fz_die("accepted a bucket list that is not finite and increasing", "", 0);
    }
    if (type == SHMETRICS_SUMMARY) {
        if (spec->quantiles) {
            if (spec->nquantiles > 16)
                fz_die("accepted more than 16 quantiles", "", 0);
            for (size_t i = 0; i < spec->nquantiles; i++)
                if (!(spec->quantiles[i] >= 0 && spec->quantiles[i] <= 1) ||
                    (i && !(spec->quantiles[i] > spec->quantiles[i - 1])))
                    fz_die("accepted quantiles that are not increasing within [0, 1]", "", 0);
        }
        if (spec->age_buckets > 16)
            fz_die("accepted more than 16 age buckets", "", 0);
        double age = spec->max_age_seconds == 0 ? 60 : spec->max_age_seconds;
        unsigned ab = spec->age_buckets ? spec->age_buckets : 5;
        if (!(age >= 0.001 * ab && age <= 7 * 86400.0))
            fz_die("accepted a window outside 1 ms per age bucket .. 7 days", "", 0);
    }
}

static void check_refused(int rc)
{
    const char *msg = shmetrics_errmsg();
    if (rc >= 0 || !*msg || strcmp(msg, "no error") == 0)
        fz_die("refused without a code and a message", msg, strlen(msg));
    if (rc != -EINVAL && rc != -EEXIST && rc != -ENOSPC)
        fz_die("refused with an unexpected code", msg, strlen(msg));
}

static int reg_typed(shmetrics_registry_t *reg, int type, const shmetrics_spec_t *spec, void **m)
{
    switch (type) {
    case SHMETRICS_COUNTER:
        return shmetrics_counter_register(reg, spec, (shmetrics_counter_t **)m);
    case SHMETRICS_GAUGE:
        return shmetrics_gauge_register(reg, spec, (shmetrics_gauge_t **)m);
    case SHMETRICS_HISTOGRAM:
        return shmetrics_histogram_register(reg, spec, (shmetrics_histogram_t **)m);
    default:
        return shmetrics_summary_register(reg, spec, (shmetrics_summary_t **)m);
    }
}

/* Resolve a label set and write to it; the value written depends on i. */
static int use_series(void *m, int type, size_t n, const char *const *values, size_t i)
{
    int rc;
    switch (type) {
    case SHMETRICS_COUNTER: {
        shmetrics_counter_series_t *s;
        if ((rc = shmetrics_counter_labelv(m, n, values, &s)) == 0)
            shmetrics_counter_add(s, i + 1);
        return rc;
    }
    case SHMETRICS_GAUGE: {
        shmetrics_gauge_series_t *s;
        if ((rc = shmetrics_gauge_labelv(m, n, values, &s)) == 0)
            shmetrics_gauge_set(s, (double)i - 0.5);
        return rc;
    }
    case SHMETRICS_HISTOGRAM: {
        shmetrics_histogram_series_t *s;
        if ((rc = shmetrics_histogram_labelv(m, n, values, &s)) == 0) {
            shmetrics_histogram_observe(s, (double)i * 0.3);
            shmetrics_histogram_observe(s, i % 2 ? NAN : -INFINITY);
        }
        return rc;
    }
    default: {
        shmetrics_summary_series_t *s;
        if ((rc = shmetrics_summary_labelv(m, n, values, &s)) == 0) {
            shmetrics_summary_observe(s, (double)i * 1.5);
            shmetrics_summary_observe(s, i % 2 ? NAN : 0.0);
        }
        return rc;
    }
    }
}

static void remove_typed(void *m, int type, size_t n, const char *const *values, bool clear)
{
    switch (type) {
    case SHMETRICS_COUNTER:
        clear ? shmetrics_counter_clear(m) : shmetrics_counter_removev(m, n, values);
        break;
    case SHMETRICS_GAUGE:
        clear ? shmetrics_gauge_clear(m) : shmetrics_gauge_removev(m, n, values);
        break;
    case SHMETRICS_HISTOGRAM:
        clear ? shmetrics_histogram_clear(m) : shmetrics_histogram_removev(m, n, values);
        break;
    default:
        clear ? shmetrics_summary_clear(m) : shmetrics_summary_removev(m, n, values);
        break;
    }
}

static void collect_and_encode(shmetrics_registry_t *reg)
{
    shmetrics_snapshot_t *snap;
    if (shmetrics_collect(reg, &snap) < 0)
        fz_die("collect failed on an arena only this process wrote", shmetrics_errmsg(), strlen(shmetrics_errmsg()));
    if (snap->damaged)
        fz_die("the library's own writes read back as damaged", "", 0);
    fz_check_snapshot(snap);
    for (int fmt = 0; fmt < 3; fmt++) {
        char *out;
        size_t len;
        if (shmetrics_format(snap, (shmetrics_format_t)fmt, &out, &len) < 0)
            fz_die("format failed", shmetrics_errmsg(), strlen(shmetrics_errmsg()));
        fz_check_exposition(out, len);
        free(out);
    }
    shmetrics_snapshot_free(snap);
}

static void run(shmetrics_registry_t *reg, struct fz_fields *x)
{
    unsigned char ctl[8] = {0};
    memcpy(ctl, x->f[0], x->len[0] < sizeof ctl ? x->len[0] : sizeof ctl);
    int type = ctl[0] % 4 + 1;
    unsigned flags = ctl[4];

    static double buckets[MAX_ITEMS], quantiles[MAX_ITEMS];
    char *labels[20], *sets[20];
    char *w5 = strdup(x->f[5]), *w6 = strdup(x->f[6]), *w7 = strdup(x->f[7]), *w8 = strdup(x->f[8]);
    size_t nlabels = fz_items(w5, '\x01', labels, 20);
    size_t nsets = fz_items(w6, '\x02', sets, 20);

    shmetrics_spec_t spec = {
        .namespace_name = x->f[1],
        .subsystem = x->f[2],
        .name = x->f[3],
        .help = flags & 1 ? NULL : x->f[4],
        .label_names = flags & 8 ? NULL : (const char *const *)labels,
        .nlabels = nlabels,
        .gauge_mode = (shmetrics_gauge_mode_t)(ctl[1] % 12),
        .buckets = flags & 2 ? NULL : buckets,
        .nbuckets = parse_numbers(w7, buckets),
        .quantiles = flags & 4 ? NULL : quantiles,
        .nquantiles = parse_numbers(w8, quantiles),
        .max_age_seconds = strtod(x->f[9], NULL),
        .age_buckets = ctl[2] % 20,
        .min_interval_seconds = strtod(x->f[10], NULL),
        .max_series = ctl[3] % 8,
    };
    void *m = NULL;
    int rc = reg_typed(reg, type, &spec, &m);
    if (rc < 0) {
        check_refused(rc);
        goto out;
    }
    check_accepted(&spec, type);
    void *again = NULL;
    if (reg_typed(reg, type, &spec, &again) != 0 || again != m)
        fz_die("the same spec registered twice gave another metric", shmetrics_errmsg(), strlen(shmetrics_errmsg()));
    if (flags & 64) {
        int other = type % 4 + 1;
        void *m2;
        rc = reg_typed(reg, other, &spec, &m2);
        if (rc != -EEXIST && rc != -EINVAL)
            fz_die("a second type under the same name was not refused", "", 0);
    }

    const char *first[20];
    size_t nfirst = 0;
    for (size_t i = 0; i < nsets; i++) {
        char *values[20];
        size_t n = fz_items(sets[i], '\x01', values, 20);
        rc = use_series(m, type, n, (const char *const *)values, i);
        if (rc < 0) {
            check_refused(rc);
            continue;
        }
        if (n != nlabels)
            fz_die("accepted a label set of the wrong size", "", 0);
        for (size_t k = 0; k < n; k++)
            if (strlen(values[k]) > 2048 || !fz_utf8(values[k], strlen(values[k])))
                fz_die("accepted a bad label value", values[k], strlen(values[k]));
        if (nfirst == 0 && n) {
            memcpy(first, values, n * sizeof *values);
            nfirst = n;
        }
    }
    if (flags & 16)
        remove_typed(m, type, nfirst, first, false);
    collect_and_encode(reg);
    if (flags & 32) {
        remove_typed(m, type, 0, NULL, true);
        collect_and_encode(reg);
    }
out:
    free(w5);
    free(w6);
    free(w7);
    free(w8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_fields x;
    fz_split(&x, data, size);
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .families = 8,
                             .series = 64,
                             .processes = 4,
                             .shards = 1,
                             .cells = 1u << 17};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        fz_die("cannot create the arena", shmetrics_errmsg(), strlen(shmetrics_errmsg()));
    run(reg, &x);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    fz_free(&x);
    return 0;
}
