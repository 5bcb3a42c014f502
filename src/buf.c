/*
 * src/buf.c - owns the growable buffer of the encoders and the number
 * formatting they share.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

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
