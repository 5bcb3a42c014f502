/* SPDX-License-Identifier: MIT */
/*
 * base/buf.c - owns the growable buffer of the encoders and what the
 * formats share: number spelling, escaping, sample lines, where a series'
 * creation time goes and when a unit may be shown.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "shmetrics.h"

void smx_buf_put(struct smx_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void smx_buf_puts(struct smx_buf *b, const char *s)
{
    smx_buf_put(b, s, strlen(s));
}

void smx_buf_putc(struct smx_buf *b, char c)
{
    smx_buf_put(b, &c, 1);
}

void smx_buf_double(struct smx_buf *b, double v)
{
    if (isnan(v)) {
        smx_buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        smx_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[32];
    /* Whole numbers below 2^53 print as integers, exactly. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(tmp, sizeof tmp, "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
    }
    smx_buf_puts(b, tmp);
}

/* Shortest round-trip digits of finite v != 0: digits (no dot, no trailing
 * zeros) and the decimal exponent of the first one. */
static void shortest_digits(double v, char *digits, int *exp10)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    const char *p = tmp + (tmp[0] == '-');
    size_t n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    *exp10 = atoi(p + 1);
}

void smx_label_float(char *out, size_t cap, double v)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, cap, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, "%s", signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char d[24];
    int e;
    shortest_digits(v, d, &e);
    int nd = (int)strlen(d);
    const char *sign = v < 0 ? "-" : "";
    if (v > 0 && e >= 6 && e < 16) {
        /* Go switches to an exponent sooner than Python: 1e+06. */
        snprintf(out, cap, "%c%s%se+0%d", d[0], nd > 1 ? "." : "", d + 1, e);
    } else if (e >= 16 || e < -4) {
        snprintf(out, cap, "%s%c%s%se%c%02d", sign, d[0], nd > 1 ? "." : "", d + 1, e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e >= 0) {
        /* Integer part: digits 0..e (zero-padded), then the rest. */
        char ip[24], fp[24];
        int i;
        for (i = 0; i <= e; i++)
            ip[i] = i < nd ? d[i] : '0';
        ip[i] = 0;
        snprintf(fp, sizeof fp, "%s", nd > e + 1 ? d + e + 1 : "0");
        snprintf(out, cap, "%s%s.%s", sign, ip, fp);
    } else {
        snprintf(out, cap, "%s0.%0*d%s", sign, -e - 1, 0, d);
        if (e == -1) /* %0*d with width 0 still prints one zero */
            snprintf(out, cap, "%s0.%s", sign, d);
    }
}

/* HELP escapes backslash and newline; label values also the double quote. */
void smx_buf_escaped(struct smx_buf *b, const char *s, bool quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : (quote && *s == '"') ? "\\\"" : NULL;
        if (!esc)
            continue;
        smx_buf_put(b, run, (size_t)(s - run));
        smx_buf_puts(b, esc);
        run = s + 1;
    }
    smx_buf_put(b, run, (size_t)(s - run));
}

void smx_buf_json_string(struct smx_buf *b, const char *s)
{
    smx_buf_putc(b, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        smx_buf_put(b, run, (size_t)(s - run));
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        smx_buf_puts(b, esc);
        run = s + 1;
    }
    smx_buf_put(b, run, (size_t)(s - run));
    smx_buf_putc(b, '"');
}

bool smx_sample_ends_dated_series(const shmetrics_family_t *f, const shmetrics_sample_t *s)
{
    if (!(s->created > 0))
        return false;
    switch (f->type) {
    case SHMETRICS_COUNTER:
        return strcmp(s->suffix, "_total") == 0;
    case SHMETRICS_HISTOGRAM:
    case SHMETRICS_SUMMARY:
        return strcmp(s->suffix, "_count") == 0;
    default:
        return false;
    }
}

const char *smx_family_unit(const shmetrics_family_t *f)
{
    if (!f->unit || !*f->unit)
        return NULL;
    size_t n = strlen(f->name), u = strlen(f->unit);
    return n > u && f->name[n - u - 1] == '_' && strcmp(f->name + n - u, f->unit) == 0 ? f->unit : NULL;
}
