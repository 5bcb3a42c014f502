/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_util.h - what the fuzz targets share: splitting an input into
 * NUL-separated fields, and the oracles that judge the library's output
 * independently of its own checks (UTF-8 by the table of well-formed byte
 * sequences of the Unicode standard, names by their character classes).
 * A broken oracle aborts, which libFuzzer reports as a crash with the
 * input that caused it.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmetrics.h"

#define FZ_MAX_FIELDS 16

/* The input split at NUL bytes into at most FZ_MAX_FIELDS NUL-ended
 * strings; bytes after the last field are ignored, missing fields are "". */
struct fz_fields {
    char *buf;
    const char *f[FZ_MAX_FIELDS];
    size_t len[FZ_MAX_FIELDS];
};

static inline void fz_split(struct fz_fields *x, const uint8_t *data, size_t size)
{
    x->buf = malloc(size + 1);
    memcpy(x->buf, data, size);
    x->buf[size] = 0;
    size_t pos = 0;
    for (int i = 0; i < FZ_MAX_FIELDS; i++) {
        if (pos > size) {
            x->f[i] = "";
            x->len[i] = 0;
            continue;
        }
        x->f[i] = x->buf + pos;
        x->len[i] = strlen(x->buf + pos);
        pos += x->len[i] + 1;
    }
}

static inline void fz_free(struct fz_fields *x)
{
    free(x->buf);
}

/* Split `s` at byte `sep` into at most `max` NUL-ended items, in place
 * (s must be writable); returns the count.  An empty `s` has no items. */
static inline size_t fz_items(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;
    if (!*s)
        return 0;
    while (n < max) {
        out[n++] = s;
        char *e = strchr(s, sep);
        if (!e)
            break;
        *e = 0;
        s = e + 1;
    }
    return n;
}

static inline void fz_die(const char *what, const char *detail, size_t len)
{
    fprintf(stderr, "ORACLE FAILED: %s: %.*s\n", what, (int)(len > 400 ? 400 : len), detail ? detail : "");
    abort();
}

/* Well-formed UTF-8 (Unicode 15, table 3-7), without NUL. */
static inline bool fz_utf8(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf;
        if (b == 0)
            return false;
        if (b <= 0x7f) {
            i++;
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            n = 1;
        } else if (b == 0xe0) {
            n = 2, lo = 0xa0;
        } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
            n = 2;
        } else if (b == 0xed) {
            n = 2, hi = 0x9f;
        } else if (b == 0xf0) {
            n = 3, lo = 0x90;
        } else if (b >= 0xf1 && b <= 0xf3) {
            n = 3;
        } else if (b == 0xf4) {
            n = 3, hi = 0x8f;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += n + 1;
    }
    return true;
}

static inline bool fz_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label),
 * 1..255 bytes. */
static inline bool fz_name(const char *s, size_t len, bool metric)
{
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = fz_alpha(c) || (metric && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* A name as an arena may hold it (spec.utf8_names): 1..255 bytes of UTF-8. */
static inline bool fz_stored_name(const char *s, size_t len)
{
    return len > 0 && len <= 255 && fz_utf8(s, len);
}

/* An encoded exposition: NUL-ended at `len`, no NUL before, UTF-8. */
static inline void fz_check_exposition(const char *out, size_t len)
{
    if (out[len] != 0 || strlen(out) != len)
        fz_die("exposition has a NUL inside", out, len);
    if (!fz_utf8(out, len))
        fz_die("exposition is not UTF-8", out, len);
}

/* The messages of the protobuf exposition that hold others. */
enum fz_pb_kind { FZ_PB_FAMILY, FZ_PB_METRIC, FZ_PB_SUMMARY, FZ_PB_HISTOGRAM, FZ_PB_LEAF };

/* The kind of the message in field `field` of a message of kind `kind`
 * (FZ_PB_LEAF for one whose fields are not walked, or a string). */
static inline enum fz_pb_kind fz_pb_child(enum fz_pb_kind kind, uint64_t field)
{
    switch (kind) {
    case FZ_PB_FAMILY:
        return field == 4 ? FZ_PB_METRIC : FZ_PB_LEAF;
    case FZ_PB_METRIC:
        return field == 4 ? FZ_PB_SUMMARY : field == 7 ? FZ_PB_HISTOGRAM : FZ_PB_LEAF;
    default:
        return FZ_PB_LEAF;
    }
}

static inline bool fz_pb_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return false;
        *v |= (uint64_t)(p[*pos] & 0x7f) << shift;
        if (p[(*pos)++] < 0x80)
            return true;
    }
    return false;
}

/* A message walked field by field: every tag, varint, fixed64 and length
 * ends inside it, and the messages it holds (a family's metrics, a
 * metric's summary or histogram) are walked too.  The wire types are
 * those the exposition uses (varint, fixed64, length-delimited). */
static inline bool fz_pb_walk(const uint8_t *p, size_t len, enum fz_pb_kind kind)
{
    size_t pos = 0;
    while (pos < len) {
        uint64_t key, v;
        if (!fz_pb_varint(p, len, &pos, &key) || (key >> 3) == 0)
            return false;
        switch (key & 7) {
        case 0:
            if (!fz_pb_varint(p, len, &pos, &v))
                return false;
            break;
        case 1:
            if (len - pos < 8)
                return false;
            pos += 8;
            break;
        case 2:
            if (!fz_pb_varint(p, len, &pos, &v) || v > len - pos)
                return false;
            if (fz_pb_child(kind, key >> 3) != FZ_PB_LEAF &&
                !fz_pb_walk(p + pos, (size_t)v, fz_pb_child(kind, key >> 3)))
                return false;
            pos += (size_t)v;
            break;
        default:
            return false;
        }
    }
    return true;
}

/* The protobuf exposition: length-delimited MetricFamily messages, ending
 * exactly after the last one, each well formed (fz_pb_walk). */
static inline void fz_check_protobuf(const char *out, size_t len)
{
    const uint8_t *p = (const uint8_t *)out;
    size_t pos = 0;
    while (pos < len) {
        uint64_t n;
        if (!fz_pb_varint(p, len, &pos, &n) || n > len - pos)
            fz_die("protobuf: a message length runs past the end", out, len);
        if (!fz_pb_walk(p + pos, (size_t)n, FZ_PB_FAMILY))
            fz_die("protobuf: a malformed MetricFamily", out, len);
        pos += (size_t)n;
    }
}

/* Do two families expose one name (their own, or with a suffix of their
 * type: the HELP and TYPE lines and sample names Prometheus reads)? */
static inline bool fz_exposes_same(const shmetrics_family_t *a, const shmetrics_family_t *b)
{
    static const char *const sfx[7][5] = {{""},
                                          {"", "_total", "_created"},
                                          {""},
                                          {"", "_bucket", "_sum", "_count", "_created"},
                                          {"", "_sum", "_count", "_created"},
                                          {"", "_info"},
                                          {""}};
    static const int nsfx[7] = {1, 3, 1, 5, 4, 2, 1};
    char x[300], y[300];
    for (int i = 0; i < nsfx[a->type]; i++)
        for (int j = 0; j < nsfx[b->type]; j++) {
            snprintf(x, sizeof x, "%s%s", a->name, sfx[a->type][i]);
            snprintf(y, sizeof y, "%s%s", b->name, sfx[b->type][j]);
            if (strcmp(x, y) == 0)
                return true;
        }
    return false;
}

/* Every string of a snapshot follows the rules a reader promises, no two
 * families share a name, no sample repeats a label name, and a histogram's
 * _count equals its +Inf bucket: what Prometheus needs to take a scrape. */
static inline void fz_check_snapshot(const shmetrics_snapshot_t *snap)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        if (f->type < SHMETRICS_COUNTER || f->type > SHMETRICS_STATESET)
            fz_die("unknown type", f->name, strlen(f->name));
        /* A unit follows its rule; a stateset's name is a label name. */
        for (const char *u = f->unit ? f->unit : ""; *u; u++)
            if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') || *u == '_' ||
                  *u == ':') ||
                strlen(f->unit) > 64)
                fz_die("unit breaks the rule", f->unit, strlen(f->unit));
        if (f->type == SHMETRICS_STATESET && (!fz_stored_name(f->name, strlen(f->name)) || !strncmp(f->name, "__", 2)))
            fz_die("stateset name is not a label name", f->name, strlen(f->name));
        for (size_t k = 0; k < i; k++)
            if (fz_exposes_same(&snap->families[k], f))
                fz_die("two families expose one name", f->name, strlen(f->name));
        if (!fz_stored_name(f->name, strlen(f->name)))
            fz_die("family name is not 1 to 255 bytes of UTF-8", f->name, strlen(f->name));
        if (strlen(f->help) > 4096 || !fz_utf8(f->help, strlen(f->help)))
            fz_die("help text is not UTF-8 of at most 4096 bytes", f->help, strlen(f->help));
        double inf_bucket = -1;
        for (size_t j = 0; j < f->nsamples; j++) {
            const shmetrics_sample_t *s = &f->samples[j];
            for (size_t k = 0; k < s->nlabels; k++) {
                const char *n = s->labels[k].name, *v = s->labels[k].value;
                if (!fz_stored_name(n, strlen(n)))
                    fz_die("label name is not 1 to 255 bytes of UTF-8", n, strlen(n));
                if (strlen(v) > 2048 || !fz_utf8(v, strlen(v)))
                    fz_die("label value is not UTF-8 of at most 2048 bytes", v, strlen(v));
                for (size_t m = 0; m < k; m++)
                    if (strcmp(s->labels[m].name, n) == 0)
                        fz_die("a sample repeats a label name", n, strlen(n));
            }
            /* The bucket's own le is its last label. */
            if (f->type == SHMETRICS_HISTOGRAM && strcmp(s->suffix, "_bucket") == 0 && s->nlabels &&
                strcmp(s->labels[s->nlabels - 1].value, "+Inf") == 0)
                inf_bucket = s->value;
            if (f->type == SHMETRICS_HISTOGRAM && strcmp(s->suffix, "_count") == 0 && s->value != inf_bucket)
                fz_die("histogram _count differs from its +Inf bucket", f->name, strlen(f->name));
            if ((f->type == SHMETRICS_STATESET && s->value != 0 && s->value != 1) ||
                (f->type == SHMETRICS_INFO && s->value != 1))
                fz_die("an info or stateset sample is not 1 (or 0)", f->name, strlen(f->name));
            /* A creation time is a time: positive and finite. */
            if (!(s->created >= 0 && s->created < 1e13))
                fz_die("a creation time is not a time", f->name, strlen(f->name));
        }
    }
}

#endif
