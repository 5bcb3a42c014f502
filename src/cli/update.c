/* SPDX-License-Identifier: MIT */
/*
 * src/cli/update.c - owns the verbs that write one series from the shell:
 * inc (counters), set (gauges, and enums with --enum), observe (histograms
 * and summaries) and info (info metrics).  The first use registers the
 * family (type from the verb, label names from the LABEL=VALUE arguments in
 * the order given; info takes its labels with --label, since its KEY=VALUE
 * arguments are its value set); later uses must agree with it.  inc and
 * observe (histograms) take --exemplar LABEL=VALUE,... to keep the update
 * as the series' (or bucket's) exemplar; the library checks its labels.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_LABELS 16
/* --exemplar pairs: the library allows 128 characters of names and values,
 * so at most 128 names of one character. */
#define MAX_EXEMPLAR_LABELS 128

struct update_args {
    const char *arena;
    const char *help;
    const char *mode;
    const char *buckets;   /* observe */
    const char *quantiles; /* observe --summary */
    const char *max_age;   /* observe --summary */
    const char *unit;      /* inc, set, observe */
    const char *states;    /* set --enum */
    const char *schema;    /* observe --native */
    const char *zero;      /* observe --native: --zero-threshold */
    const char *max_nb;    /* observe --native: --max-buckets */
    const char *range;     /* observe --native: --range LO,HI */
    const char *exemplar;  /* inc, observe: --exemplar LABEL=VALUE,... */
    bool summary;          /* observe */
    bool native;           /* observe */
    bool allow_foreign;    /* --allow-foreign-arena */
    const char *name;
    const char *value;
    const char *label_names[MAX_LABELS];
    const char *label_values[MAX_LABELS];
    char *label_buf[MAX_LABELS];
    size_t nlabels;
    /* info: the metric's labels (--label), the KEY=VALUE arguments being
     * the value set in label_names and label_values above */
    const char *info_names[MAX_LABELS];
    const char *info_values[MAX_LABELS];
    char *info_buf[MAX_LABELS];
    size_t ninfo;
    /* --exemplar split into its pairs, pointing into ex_buf */
    shmetrics_label_t ex_labels[MAX_EXEMPLAR_LABELS];
    char *ex_buf;
    size_t nex;
};

static void args_free(struct update_args *a)
{
    for (size_t i = 0; i < a->nlabels; i++)
        free(a->label_buf[i]);
    for (size_t i = 0; i < a->ninfo; i++)
        free(a->info_buf[i]);
    free(a->ex_buf);
}

/* --exemplar LABEL=VALUE,...: the pairs into a->ex_labels (a copy of the
 * list in a->ex_buf); 0, or the usage error's exit status. */
static int split_exemplar(const struct verb *v, struct update_args *a)
{
    const char *list = a->exemplar;
    if (!(a->ex_buf = strdup(list)))
        return cli_usage_error(v, "out of memory");
    for (char *p = a->ex_buf;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        char *eq = strchr(p, '=');
        if (!eq)
            return cli_usage_error(v, "--exemplar takes LABEL=VALUE pairs separated by commas: '%s' is not one", p);
        if (a->nex == MAX_EXEMPLAR_LABELS)
            return cli_usage_error(v, "--exemplar: more than %d pairs", MAX_EXEMPLAR_LABELS);
        *eq = 0;
        a->ex_labels[a->nex++] = (shmetrics_label_t){p, eq + 1};
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Split NAME=VALUE into a copy the caller frees; -1 when out of memory. */
static int split_pair(const char *arg, char **buf, const char **name, const char **value)
{
    char *copy = strdup(arg);
    if (!copy)
        return -1;
    char *eq = strchr(copy, '=');
    *eq = 0;
    *buf = copy;
    *name = copy;
    *value = eq + 1;
    return 0;
}

/* Returns 0, or an exit status. */
static int parse(const struct verb *v, int argc, char **argv, struct update_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_next = i + 1 < argc;
        /* --help alone (or before another option) asks for usage;
         * "--help TEXT" sets the metric's help text. */
        if (cli_is_help(arg) && (!has_next || argv[i + 1][0] == '-')) {
            fputs(v->usage, stdout);
            return -1;
        }
        const char **valued = strcmp(arg, "--arena") == 0            ? &a->arena
                              : strcmp(arg, "--help") == 0           ? &a->help
                              : strcmp(arg, "--help-text") == 0      ? &a->help
                              : strcmp(arg, "--mode") == 0           ? &a->mode
                              : strcmp(arg, "--buckets") == 0        ? &a->buckets
                              : strcmp(arg, "--quantiles") == 0      ? &a->quantiles
                              : strcmp(arg, "--max-age") == 0        ? &a->max_age
                              : strcmp(arg, "--unit") == 0           ? &a->unit
                              : strcmp(arg, "--enum") == 0           ? &a->states
                              : strcmp(arg, "--schema") == 0         ? &a->schema
                              : strcmp(arg, "--zero-threshold") == 0 ? &a->zero
                              : strcmp(arg, "--max-buckets") == 0    ? &a->max_nb
                              : strcmp(arg, "--range") == 0          ? &a->range
                              : strcmp(arg, "--exemplar") == 0       ? &a->exemplar
                                                                     : NULL;
        if (valued) {
            if (!has_next)
                return cli_usage_error(v, "%s needs a value", arg);
            *valued = argv[++i];
        } else if (strcmp(arg, "--label") == 0 && v == &verb_info) {
            if (!has_next || !strchr(argv[i + 1], '='))
                return cli_usage_error(v, "--label needs a LABEL=VALUE");
            if (a->ninfo == MAX_LABELS)
                return cli_usage_error(v, "more than %d labels", MAX_LABELS);
            if (split_pair(argv[++i], &a->info_buf[a->ninfo], &a->info_names[a->ninfo], &a->info_values[a->ninfo]) < 0)
                return cli_usage_error(v, "out of memory");
            a->ninfo++;
        } else if (strcmp(arg, "--summary") == 0) {
            a->summary = true;
        } else if (strcmp(arg, "--native") == 0) {
            a->native = true;
        } else if (strcmp(arg, "--allow-foreign-arena") == 0) {
            a->allow_foreign = true;
        } else if (arg[0] == '-' && arg[1] == '-') {
            return cli_usage_error(v, "unknown option %s", arg);
        } else if (!a->name) {
            a->name = arg;
        } else if (strchr(arg, '=')) {
            if (a->value)
                return cli_usage_error(v, "label %s after the value %s", arg, a->value);
            if (a->nlabels == MAX_LABELS)
                return cli_usage_error(v, "more than %d %s", MAX_LABELS, v == &verb_info ? "pairs" : "labels");
            if (split_pair(arg, &a->label_buf[a->nlabels], &a->label_names[a->nlabels], &a->label_values[a->nlabels]) <
                0)
                return cli_usage_error(v, "out of memory");
            a->nlabels++;
        } else if (!a->value && v != &verb_info) {
            a->value = arg;
        } else {
            return cli_usage_error(v, "unexpected argument %s", arg);
        }
    }
    bool observe = v == &verb_observe;
    if (!observe && (a->buckets || a->quantiles || a->max_age || a->summary))
        return cli_usage_error(v, "%s is for histograms and summaries (shmetrics observe)",
                               a->buckets     ? "--buckets"
                               : a->quantiles ? "--quantiles"
                               : a->max_age   ? "--max-age"
                                              : "--summary");
    if (observe && a->mode)
        return cli_usage_error(v, "--mode is for gauges (shmetrics set)");
    if (a->states && v != &verb_set)
        return cli_usage_error(v, "--enum is for shmetrics set");
    if (a->states && a->mode)
        return cli_usage_error(v, "--mode is for gauges, not with --enum");
    if (v == &verb_info && (a->mode || a->unit))
        return cli_usage_error(v, "%s is not for info metrics", a->mode ? "--mode" : "--unit");
    const char *nat_opt = a->schema   ? "--schema"
                          : a->zero   ? "--zero-threshold"
                          : a->max_nb ? "--max-buckets"
                          : a->range  ? "--range"
                                      : NULL;
    if (!observe && (a->native || nat_opt))
        return cli_usage_error(v, "%s is for histograms (shmetrics observe)", a->native ? "--native" : nat_opt);
    if (observe && a->native && a->summary)
        return cli_usage_error(v, "--native is for histograms, not with --summary");
    if (observe && nat_opt && !a->native)
        return cli_usage_error(v, "%s needs --native", nat_opt);
    if (observe && a->buckets && a->summary)
        return cli_usage_error(v, "--buckets is for histograms, not with --summary");
    if (observe && !a->summary && (a->quantiles || a->max_age))
        return cli_usage_error(v, "%s needs --summary", a->quantiles ? "--quantiles" : "--max-age");
    if (a->exemplar && v != &verb_inc && !observe)
        return cli_usage_error(v, "--exemplar is for counters and histograms (shmetrics inc, shmetrics observe)");
    if (a->exemplar && a->summary)
        return cli_usage_error(v, "--exemplar is for histograms, not with --summary");
    if (a->exemplar) {
        int st = split_exemplar(v, a);
        if (st)
            return st;
    }
    if (!a->name)
        return cli_usage_error(v, "no metric NAME given");
    if (!cli_arena(a->arena))
        return cli_usage_error(v, "no arena: give --arena PATH or set SHMETRICS_ARENA");
    return 0;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (!*s || *end || errno == ERANGE)
        return false;
    *out = d;
    return true;
}

/* "LO,HI": two whole numbers (the library checks their order and span). */
static bool parse_range(const char *s, int *lo, int *hi)
{
    const char *comma = strchr(s, ',');
    if (!comma)
        return false;
    char first[32];
    size_t n = (size_t)(comma - s);
    if (n == 0 || n >= sizeof first)
        return false;
    memcpy(first, s, n);
    first[n] = 0;
    double a, b;
    if (!parse_double(first, &a) || !parse_double(comma + 1, &b) || a != floor(a) || b != floor(b) ||
        fabs(a) > 100000 || fabs(b) > 100000)
        return false;
    *lo = (int)a;
    *hi = (int)b;
    return true;
}

static int open_rw(const struct update_args *a, shmetrics_registry_t **reg)
{
    shmetrics_options_t o = {.path = cli_arena(a->arena),
                             .flags = SHMETRICS_OPEN_CREATE | (a->allow_foreign ? SHMETRICS_OPEN_ALLOW_FOREIGN : 0)};
    int rc = shmetrics_open(&o, reg);
    return rc < 0 ? cli_fail("opening the arena", rc) : 0;
}

static int run_inc(int argc, char **argv)
{
    struct update_args a;
    int st = parse(&verb_inc, argc, argv, &a);
    if (st) {
        args_free(&a);
        return st < 0 ? EXIT_OK : st;
    }
    double amount = 1;
    if (a.mode)
        st = cli_usage_error(&verb_inc, "--mode is for gauges (shmetrics set)");
    else if (a.value && (!parse_double(a.value, &amount) || !(amount >= 0) || isinf(amount)))
        st = cli_usage_error(&verb_inc, "the amount must be a finite number >= 0, not '%s'", a.value);
    shmetrics_registry_t *reg = NULL;
    if (!st)
        st = open_rw(&a, &reg);
    if (!st) {
        shmetrics_spec_t spec = {.name = a.name,
                                 .help = a.help,
                                 .label_names = a.label_names,
                                 .nlabels = a.nlabels,
                                 .unit = a.unit};
        shmetrics_counter_t *c;
        shmetrics_counter_series_t *s;
        int rc;
        if ((rc = shmetrics_counter_register(reg, &spec, &c)) < 0)
            st = cli_fail("registering the counter", rc);
        else if ((rc = shmetrics_counter_labelv(c, a.nlabels, a.label_values, &s)) < 0)
            st = cli_fail("resolving the series", rc);
        else if (a.exemplar && (rc = shmetrics_counter_inc_exemplar(s, amount, a.ex_labels, a.nex)) < 0)
            st = cli_fail("incrementing with an exemplar", rc);
        else if (!a.exemplar && (rc = shmetrics_counter_inc(s, amount)) < 0)
            st = cli_fail("incrementing", rc);
    }
    if (reg)
        shmetrics_shutdown(reg, 0);
    args_free(&a);
    return st;
}

/* The states of --enum: names separated by commas, into states[0..*n).
 * The list is copied into *buf, which the caller frees. */
static bool split_states(const char *list, char **buf, const char **states, size_t cap, size_t *n)
{
    *n = 0;
    if (!*list || !(*buf = strdup(list)))
        return false;
    for (char *p = *buf;;) {
        char *comma = strchr(p, ',');
        if (*n == cap)
            return false;
        states[(*n)++] = p;
        if (!comma)
            return true;
        *comma = 0;
        p = comma + 1;
    }
}

/* shmetrics set --enum STATES NAME [LABEL=VALUE ...] STATE */
static int set_enum(const struct update_args *a, shmetrics_registry_t *reg)
{
    const char *states[SHMETRICS_MAX_STATES + 1];
    char *buf = NULL;
    size_t n;
    int st = 0;
    if (!split_states(a->states, &buf, states, SHMETRICS_MAX_STATES + 1, &n))
        st = buf || !*a->states
                 ? cli_usage_error(&verb_set, "--enum takes state names separated by commas (at most %u)",
                                   SHMETRICS_MAX_STATES)
                 : cli_usage_error(&verb_set, "out of memory");
    if (!st) {
        shmetrics_spec_t spec = {.name = a->name,
                                 .help = a->help,
                                 .label_names = a->label_names,
                                 .nlabels = a->nlabels,
                                 .unit = a->unit,
                                 .states = states,
                                 .nstates = n};
        shmetrics_enum_t *e;
        shmetrics_enum_series_t *s;
        int rc;
        if ((rc = shmetrics_enum_register(reg, &spec, &e)) < 0)
            st = cli_fail("registering the enum", rc);
        else if ((rc = shmetrics_enum_labelv(e, a->nlabels, a->label_values, &s)) < 0)
            st = cli_fail("resolving the series", rc);
        else if ((rc = shmetrics_enum_state(s, a->value)) < 0)
            st = cli_fail("setting the state", rc);
    }
    free(buf);
    return st;
}

static int run_set(int argc, char **argv)
{
    struct update_args a;
    int st = parse(&verb_set, argc, argv, &a);
    if (st) {
        args_free(&a);
        return st < 0 ? EXIT_OK : st;
    }
    if (a.states) {
        shmetrics_registry_t *reg = NULL;
        st = a.value ? open_rw(&a, &reg) : cli_usage_error(&verb_set, "no STATE given");
        if (!st)
            st = set_enum(&a, reg);
        if (reg)
            shmetrics_shutdown(reg, 0);
        args_free(&a);
        return st;
    }
    double value = 0;
    shmetrics_gauge_mode_t mode = SHMETRICS_MODE_MOSTRECENT;
    if (!a.value)
        st = cli_usage_error(&verb_set, "no VALUE given");
    else if (!parse_double(a.value, &value))
        st = cli_usage_error(&verb_set, "the value must be a number, not '%s'", a.value);
    else if (a.mode && shmetrics_gauge_mode_parse(a.mode, &mode) < 0)
        st = cli_usage_error(&verb_set, "unknown mode '%s' (all, sum, min, max, mostrecent, or live before any)",
                             a.mode);
    shmetrics_registry_t *reg = NULL;
    if (!st)
        st = open_rw(&a, &reg);
    if (!st) {
        shmetrics_spec_t spec = {.name = a.name,
                                 .help = a.help,
                                 .label_names = a.label_names,
                                 .nlabels = a.nlabels,
                                 .gauge_mode = mode,
                                 .unit = a.unit};
        shmetrics_gauge_t *g;
        shmetrics_gauge_series_t *s;
        int rc;
        if ((rc = shmetrics_gauge_register(reg, &spec, &g)) < 0)
            st = cli_fail("registering the gauge", rc);
        else if ((rc = shmetrics_gauge_labelv(g, a.nlabels, a.label_values, &s)) < 0)
            st = cli_fail("resolving the series", rc);
        else if ((rc = shmetrics_gauge_set(s, value)) < 0)
            st = cli_fail("setting", rc);
    }
    if (reg)
        shmetrics_shutdown(reg, 0);
    args_free(&a);
    return st;
}

/* A non-empty comma-separated list of at most `cap` numbers.  On failure,
 * *why says what is wrong (a message for the usage error). */
static bool parse_list(const char *s, double *out, size_t cap, size_t *n, char *why, size_t whylen)
{
    *n = 0;
    if (!*s) {
        snprintf(why, whylen, "the list is empty");
        return false;
    }
    for (;;) {
        size_t len = strcspn(s, ",");
        char *end;
        errno = 0;
        double d = len ? strtod(s, &end) : 0;
        if (!len || end != s + len || errno == ERANGE) {
            snprintf(why, whylen, "'%.*s' is not one", (int)(len > 64 ? 64 : len), s);
            return false;
        }
        if (*n == cap) {
            snprintf(why, whylen, "more than %zu given", cap);
            return false;
        }
        out[(*n)++] = d;
        if (!s[len])
            return true;
        s += len + 1;
    }
}

static int run_observe(int argc, char **argv)
{
    struct update_args a;
    int st = parse(&verb_observe, argc, argv, &a);
    if (st) {
        args_free(&a);
        return st < 0 ? EXIT_OK : st;
    }
    double value = 0, bounds[512], quantiles[16], max_age = 0;
    size_t nbounds = 0, nq = 0;
    char why[128];
    if (!a.value)
        st = cli_usage_error(&verb_observe, "no VALUE given");
    else if (!parse_double(a.value, &value))
        st = cli_usage_error(&verb_observe, "the value must be a number, not '%s'", a.value);
    else if (a.buckets && !parse_list(a.buckets, bounds, 512, &nbounds, why, sizeof why))
        st = cli_usage_error(&verb_observe, "--buckets takes numbers separated by commas (at most 512): %s", why);
    else if (a.quantiles && !parse_list(a.quantiles, quantiles, 16, &nq, why, sizeof why))
        st = cli_usage_error(&verb_observe, "--quantiles takes numbers separated by commas (at most 16): %s", why);
    else if (a.max_age && (!parse_double(a.max_age, &max_age) || !(max_age > 0)))
        st = cli_usage_error(&verb_observe, "--max-age takes a number of seconds > 0, not '%s'", a.max_age);
    double schema = SHMETRICS_NATIVE_SCHEMA_DEFAULT, zero = 0, max_nb = 0;
    if (st)
        ;
    else if (a.schema && (!parse_double(a.schema, &schema) || schema != floor(schema) || schema < -4 || schema > 8))
        st = cli_usage_error(&verb_observe, "--schema takes a whole number from -4 to 8, not '%s'", a.schema);
    else if (a.zero && (!parse_double(a.zero, &zero) || !(zero >= 0) || isinf(zero)))
        st = cli_usage_error(&verb_observe, "--zero-threshold takes a finite number >= 0, not '%s'", a.zero);
    else if (a.max_nb &&
             (!parse_double(a.max_nb, &max_nb) || max_nb != floor(max_nb) || max_nb < 0 || max_nb >= 4294967295.0))
        st = cli_usage_error(&verb_observe, "--max-buckets takes a whole number >= 0, not '%s'", a.max_nb);
    int lo = 0, hi = 0;
    if (!st && a.range && !parse_range(a.range, &lo, &hi))
        st = cli_usage_error(&verb_observe, "--range takes two whole numbers LO,HI (exponents of 2), not '%s'",
                             a.range);
    shmetrics_registry_t *reg = NULL;
    if (!st)
        st = open_rw(&a, &reg);
    if (!st) {
        shmetrics_spec_t spec = {.name = a.name,
                                 .help = a.help,
                                 .label_names = a.label_names,
                                 .nlabels = a.nlabels,
                                 .buckets = a.buckets ? bounds : NULL,
                                 .nbuckets = nbounds,
                                 .quantiles = a.quantiles ? quantiles : NULL,
                                 .nquantiles = nq,
                                 .max_age_seconds = max_age,
                                 .unit = a.unit};
        if (a.native) {
            spec.native = a.buckets ? SHMETRICS_HISTOGRAM_BOTH : SHMETRICS_HISTOGRAM_NATIVE;
            spec.native_schema = (int32_t)schema;
            spec.native_zero_threshold = zero;
            spec.native_max_buckets = a.max_nb && max_nb == 0 ? SHMETRICS_NATIVE_MAX_BUCKETS_UNLIMITED
                                                              : (uint32_t)max_nb;
            spec.native_min_exponent = lo;
            spec.native_max_exponent = hi;
        }
        int rc;
        if (a.summary) {
            shmetrics_summary_t *m;
            shmetrics_summary_series_t *s;
            if ((rc = shmetrics_summary_register(reg, &spec, &m)) < 0)
                st = cli_fail("registering the summary", rc);
            else if ((rc = shmetrics_summary_labelv(m, a.nlabels, a.label_values, &s)) < 0)
                st = cli_fail("resolving the series", rc);
            else
                shmetrics_summary_observe(s, value);
        } else {
            shmetrics_histogram_t *m;
            shmetrics_histogram_series_t *s;
            if ((rc = shmetrics_histogram_register(reg, &spec, &m)) < 0)
                st = cli_fail("registering the histogram", rc);
            else if ((rc = shmetrics_histogram_labelv(m, a.nlabels, a.label_values, &s)) < 0)
                st = cli_fail("resolving the series", rc);
            else if (a.exemplar && (rc = shmetrics_histogram_observe_exemplar(s, value, a.ex_labels, a.nex)) < 0)
                st = cli_fail("observing with an exemplar", rc);
            else if (!a.exemplar)
                shmetrics_histogram_observe(s, value);
        }
    }
    if (reg)
        shmetrics_shutdown(reg, 0);
    args_free(&a);
    return st;
}

static int run_info(int argc, char **argv)
{
    struct update_args a;
    int st = parse(&verb_info, argc, argv, &a);
    if (st) {
        args_free(&a);
        return st < 0 ? EXIT_OK : st;
    }
    shmetrics_registry_t *reg = NULL;
    st = open_rw(&a, &reg);
    if (!st) {
        shmetrics_spec_t spec = {.name = a.name, .help = a.help, .label_names = a.info_names, .nlabels = a.ninfo};
        shmetrics_label_t pairs[MAX_LABELS];
        for (size_t i = 0; i < a.nlabels; i++)
            pairs[i] = (shmetrics_label_t){a.label_names[i], a.label_values[i]};
        shmetrics_info_t *m;
        shmetrics_info_series_t *s;
        int rc;
        if ((rc = shmetrics_info_register(reg, &spec, &m)) < 0)
            st = cli_fail("registering the info metric", rc);
        else if ((rc = shmetrics_info_labelv(m, a.ninfo, a.info_values, &s)) < 0)
            st = cli_fail("resolving the series", rc);
        else if ((rc = shmetrics_info_set(s, pairs, a.nlabels)) < 0)
            st = cli_fail("setting the info", rc);
    }
    if (reg)
        shmetrics_shutdown(reg, 0);
    args_free(&a);
    return st;
}

const struct verb verb_info = {
    "info",
    "set the value set of an info metric (registering it on first use)",
    "usage: shmetrics info [--arena PATH] [--allow-foreign-arena] [--help TEXT]\n"
    "                      [--label LABEL=VALUE ...] NAME [KEY=VALUE ...]\n"
    "\n"
    "Replaces the value set of the series of info metric NAME (prometheus_client's\n"
    "Info) with the KEY=VALUE pairs given (none: an empty set), exposed as\n"
    "NAME_info{LABEL=\"VALUE\",...,KEY=\"VALUE\",...} 1.  Across processes the\n"
    "value set given last wins.  The first use registers NAME with the label\n"
    "names of the --label options, in the order given; later uses must give the\n"
    "same.  A KEY may not be one of those label names, start with __, or repeat.\n"
    "\n"
    "  --arena PATH        the arena (default: $SHMETRICS_ARENA)\n"
    "  --help TEXT         help text for a new metric (also --help-text TEXT)\n"
    "  --label LABEL=VALUE a label of the metric (repeat for more)\n"
    "  --allow-foreign-arena\n"
    "                      write to an arena another user owns, or that others\n"
    "                      may write to (refused otherwise: see shmetrics inc --help)\n"
    "  --help              this message\n",
    run_info,
};

const struct verb verb_observe = {
    "observe",
    "record one observation in a histogram or summary series",
    "usage: shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]\n"
    "                         [--unit UNIT] [--buckets B1,B2,...] [--exemplar LABEL=VALUE,...]\n"
    "                         NAME [LABEL=VALUE ...] VALUE\n"
    "       shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]\n"
    "                         [--unit UNIT] --native [--schema S] [--zero-threshold Z]\n"
    "                         [--max-buckets N] [--range LO,HI] [--buckets B1,B2,...]\n"
    "                         [--exemplar LABEL=VALUE,...]\n"
    "                         NAME [LABEL=VALUE ...] VALUE\n"
    "       shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]\n"
    "                         [--unit UNIT] --summary [--quantiles Q1,Q2,...]\n"
    "                         [--max-age SECONDS] NAME [LABEL=VALUE ...] VALUE\n"
    "\n"
    "Records VALUE (a number; NaN and +Inf/-Inf are accepted) in the series of\n"
    "NAME with the given labels.  The first use registers NAME as a histogram\n"
    "with the given bucket bounds (default .005,.01,.025,.05,.075,.1,.25,.5,.75,\n"
    "1,2.5,5,7.5,10; +Inf is always added), or with --summary as a summary with\n"
    "the given quantiles (default 0.5,0.9,0.95,0.99) over a sliding window of\n"
    "--max-age seconds (default 60).  With --native, a native histogram\n"
    "(Prometheus' sparse exponential buckets, shown by the protobuf and JSON\n"
    "formats; the text formats show its +Inf bucket, count and sum), with\n"
    "classic buckets too when --buckets is given.  Later uses must agree with\n"
    "the first.\n"
    "\n"
    "  --arena PATH        the arena (default: $SHMETRICS_ARENA)\n"
    "  --help TEXT         help text for a new metric (also --help-text TEXT)\n"
    "  --unit UNIT         the unit of a new metric (OpenMetrics UNIT): NAME gets\n"
    "                      _UNIT appended unless it ends with it\n"
    "  --buckets LIST      histogram upper bounds, strictly increasing\n"
    "  --native            native buckets: bucket i ends at 2^(i * 2^-S)\n"
    "  --schema S          their schema, -4 to 8 (default 3: a factor of 1.09)\n"
    "  --zero-threshold Z  magnitudes up to Z count in the zero bucket\n"
    "                      (default 2^-128)\n"
    "  --max-buckets N     at most N populated buckets in a scrape, halving the\n"
    "                      resolution as needed (default 160; 0: no limit)\n"
    "  --range LO,HI       count magnitudes in (2^LO, 2^HI] in dense buckets,\n"
    "                      others in a few spill slots (default 0,0: 512\n"
    "                      buckets per sign around 1; at most 4096 per sign)\n"
    "  --summary           a summary instead of a histogram\n"
    "  --quantiles LIST    summary quantiles, strictly increasing, within [0, 1]\n"
    "  --max-age SECONDS   summary window\n"
    "  --exemplar LABEL=VALUE,...\n"
    "                      keep VALUE, with these labels (a trace id, say) and\n"
    "                      the time, as the exemplar of the bucket it falls in\n"
    "                      (OpenMetrics; the last one wins).  Not for NaN or\n"
    "                      infinite values; at most 128 characters of names and\n"
    "                      values; a value may not contain a comma\n"
    "  --allow-foreign-arena\n"
    "                      write to an arena another user owns, or that others\n"
    "                      may write to (refused otherwise: see shmetrics inc --help)\n"
    "  --help              this message\n",
    run_observe,
};

const struct verb verb_inc = {
    "inc",
    "add to a counter series (registering the counter on first use)",
    "usage: shmetrics inc [--arena PATH] [--allow-foreign-arena] [--help TEXT] [--unit UNIT]\n"
    "                     [--exemplar LABEL=VALUE,...] NAME [LABEL=VALUE ...] [AMOUNT]\n"
    "\n"
    "Adds AMOUNT (default 1, a finite number >= 0) to the series of counter NAME\n"
    "with the given labels.  The first use registers the counter, with the label\n"
    "names in the order given and TEXT as its help; later uses must give the same\n"
    "label names in the same order.  The arena is created if it is missing.\n"
    "A NAME ending in _total is stored without the suffix and exposed with it.\n"
    "\n"
    "  --arena PATH      the arena (default: $SHMETRICS_ARENA)\n"
    "  --help TEXT       help text for a new counter (also --help-text TEXT)\n"
    "  --unit UNIT       the unit of a new counter (OpenMetrics UNIT): NAME gets\n"
    "                    _UNIT appended unless it ends with it (before _total)\n"
    "  --exemplar LABEL=VALUE,...\n"
    "                    keep AMOUNT, with these labels (a trace id, say) and\n"
    "                    the time, as the series' exemplar (OpenMetrics; the\n"
    "                    last one wins): at most 128 characters of names and\n"
    "                    values; a value may not contain a comma\n"
    "  --allow-foreign-arena\n"
    "                    write to an arena another user owns, or that its group\n"
    "                    or every user may write to.  Without it (or the\n"
    "                    environment variable SHMETRICS_ALLOW_FOREIGN_ARENA=1)\n"
    "                    such an arena is refused (exit 1), as is a symbolic\n"
    "                    link at PATH: in a shared directory such as /dev/shm\n"
    "                    any user can make the file first, then read or alter\n"
    "                    what is written to it, or fill it.\n"
    "  --help            this message\n",
    run_inc,
};

const struct verb verb_set = {
    "set",
    "set a gauge series (registering the gauge on first use)",
    "usage: shmetrics set [--arena PATH] [--allow-foreign-arena] [--help TEXT] [--mode MODE]\n"
    "                     [--unit UNIT] NAME [LABEL=VALUE ...] VALUE\n"
    "       shmetrics set [--arena PATH] [--allow-foreign-arena] [--help TEXT]\n"
    "                     --enum STATE1,STATE2,... NAME [LABEL=VALUE ...] STATE\n"
    "\n"
    "Sets the series of gauge NAME with the given labels to VALUE (a number; NaN\n"
    "and +Inf/-Inf are accepted).  The first use registers the gauge; later uses\n"
    "must agree with its label names and mode.  With --enum, NAME is an enum\n"
    "(prometheus_client's Enum, OpenMetrics' stateset) of the states listed, and\n"
    "its series is set to STATE, one of them: exposed as one sample per state,\n"
    "NAME{NAME=\"STATE\"} 1 for the current one and 0 for the others.  Across\n"
    "processes the state set last wins.\n"
    "\n"
    "  --arena PATH      the arena (default: $SHMETRICS_ARENA)\n"
    "  --help TEXT       help text for a new gauge (also --help-text TEXT)\n"
    "  --unit UNIT       the unit of a new gauge (OpenMetrics UNIT): NAME gets\n"
    "                    _UNIT appended unless it ends with it\n"
    "  --enum STATES     NAME is an enum with these states, separated by commas\n"
    "                    (the first is a new series' state); later uses must give\n"
    "                    the same list\n"
    "  --mode MODE       how processes' values merge: all (one sample per pid),\n"
    "                    sum, min, max, mostrecent; liveall, livesum, livemin,\n"
    "                    livemax, livemostrecent count live processes only.\n"
    "                    Default here: mostrecent, since each shell command is\n"
    "                    a process of its own.\n"
    "  --allow-foreign-arena\n"
    "                    write to an arena another user owns, or that others\n"
    "                    may write to (refused otherwise: see shmetrics inc --help)\n"
    "  --help            this message\n",
    run_set,
};
