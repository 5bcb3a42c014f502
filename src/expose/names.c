/* SPDX-License-Identifier: MIT */
/*
 * src/expose/names.c - owns how the expositions write metric and label
 * names: the escaping scheme a scraper asks for (the `escaping=` parameter
 * of its Accept header, as Prometheus 3 and prometheus_client negotiate
 * it) applied to a name outside the legacy rules, and the quoted form the
 * text formats give such a name when the scraper takes UTF-8.
 *
 *   underscores  (the default) each character outside the legacy set
 *                becomes `_`; a legacy name is left as it is
 *   allow-utf-8  names as they are; the text formats quote one outside
 *                the legacy set ({"http.server.duration",le="1.0"})
 *   dots         every name: `_` doubles, `.` becomes `_dot_`, other
 *                characters outside the set `__`
 *   values       `U__`, then `_` doubled and the characters outside the
 *                set as `_HEX_` (their code point); a legacy name is left
 *                as it is
 *
 * The legacy sets: [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, the same
 * without `:` for label names.  A character is a code point of UTF-8; a
 * byte that starts no well-formed sequence (a snapshot built by hand) is
 * one character, U+FFFD.
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/names.h"
#include "shmetrics.h"

unsigned smx_escaping_of(unsigned flags)
{
    if (flags & SHMETRICS_FORMAT_UTF8)
        return SMX_ESCAPE_UTF8;
    if (flags & SHMETRICS_FORMAT_ESCAPE_DOTS)
        return SMX_ESCAPE_DOTS;
    if (flags & SHMETRICS_FORMAT_ESCAPE_VALUES)
        return SMX_ESCAPE_VALUES;
    return SMX_ESCAPE_UNDERSCORES;
}

/* The code point at `p` (at most `n` bytes) and its length in *len. */
static uint32_t next_char(const unsigned char *p, size_t n, size_t *len)
{
    unsigned c = p[0];
    size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (l == 1) {
        *len = 1;
        return c;
    }
    for (size_t i = 1; l && i < l; i++)
        if (i >= n || (p[i] & 0xC0) != 0x80)
            l = 0;
    if (l == 0) {
        *len = 1;
        return 0xFFFD;
    }
    uint32_t cp = c & (0x7Fu >> l);
    for (size_t i = 1; i < l; i++)
        cp = cp << 6 | (p[i] & 0x3Fu);
    *len = l;
    return cp;
}

/* A code point of the legacy set (base/names.h): ASCII only. */
static bool legal(uint32_t c, bool first, bool colon)
{
    return c < 0x80 && smx_name_byte_ok((unsigned char)c, first, colon);
}

/* Is `name` then `suffix` within the legacy set?  Read where they lie: the
 * scrape's common case, every name legacy. */
static bool legacy_pair(const char *name, const char *suffix, bool colon)
{
    const unsigned char *p = (const unsigned char *)name;
    if (!smx_name_byte_ok(*p, true, colon)) /* an empty name too */
        return false;
    for (p++; *p; p++)
        if (!smx_name_byte_ok(*p, false, colon))
            return false;
    for (p = (const unsigned char *)suffix; *p; p++)
        if (!smx_name_byte_ok(*p, false, colon))
            return false;
    return true;
}

/* `s` (`n` bytes, the name and its suffix) rewritten by `scheme`. */
static void rewrite(struct smx_buf *b, const char *s, size_t n, unsigned scheme, bool colon)
{
    const unsigned char *p = (const unsigned char *)s;
    if (scheme == SMX_ESCAPE_VALUES)
        smx_buf_puts(b, "U__");
    for (size_t i = 0, l; i < n; i += l) {
        uint32_t c = next_char(p + i, n - i, &l);
        bool ok = legal(c, i == 0, colon);
        if (scheme == SMX_ESCAPE_UNDERSCORES) {
            if (ok)
                smx_buf_putc(b, (char)c);
            else
                smx_buf_putc(b, '_');
        } else if (c == '_') {
            smx_buf_puts(b, "__");
        } else if (ok) {
            smx_buf_putc(b, (char)c);
        } else if (scheme == SMX_ESCAPE_DOTS) {
            smx_buf_puts(b, c == '.' ? "_dot_" : "__");
        } else {
            char hex[16];
            snprintf(hex, sizeof hex, "_%x_", (unsigned)c);
            smx_buf_puts(b, hex);
        }
    }
}

bool smx_name_quoted(const char *name, const char *suffix, unsigned scheme, bool metric)
{
    return scheme == SMX_ESCAPE_UTF8 && !legacy_pair(name, suffix ? suffix : "", metric);
}

void smx_buf_name(struct smx_buf *b, const char *name, const char *suffix, unsigned scheme, bool metric, bool quote)
{
    suffix = suffix ? suffix : "";
    if (scheme != SMX_ESCAPE_DOTS && legacy_pair(name, suffix, metric)) { /* as it is, in place */
        smx_buf_puts(b, name);
        smx_buf_puts(b, suffix);
        return;
    }
    char whole[2 * SHMETRICS_MAX_NAME + 2];
    int n = snprintf(whole, sizeof whole, "%s%s", name, suffix);
    if (n < 0 || (size_t)n >= sizeof whole) { /* a hand-built snapshot's: not escaped, still written */
        smx_buf_puts(b, name);
        smx_buf_puts(b, suffix);
        return;
    }
    if (n == 0)
        return;
    if (scheme != SMX_ESCAPE_UTF8) { /* dots, or outside the legacy set */
        rewrite(b, whole, (size_t)n, scheme, metric);
    } else if (quote) {
        smx_buf_putc(b, '"');
        smx_buf_escaped(b, whole, true);
        smx_buf_putc(b, '"');
    } else {
        smx_buf_put(b, whole, (size_t)n);
    }
}

void smx_buf_label_pairs(struct smx_buf *b, const shmetrics_label_t *l, size_t n, unsigned scheme)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            smx_buf_putc(b, ',');
        smx_buf_name(b, l[i].name, "", scheme, false, true);
        smx_buf_puts(b, "=\"");
        smx_buf_escaped(b, l[i].value, true);
        smx_buf_putc(b, '"');
    }
}

void smx_buf_sample_open(struct smx_buf *b, const char *name, const shmetrics_sample_t *s, unsigned scheme)
{
    bool inside = smx_name_quoted(name, s->suffix, scheme, true);
    if (inside)
        smx_buf_putc(b, '{');
    smx_buf_name(b, name, s->suffix, scheme, true, true);
    if (s->nlabels) {
        smx_buf_putc(b, inside ? ',' : '{');
        smx_buf_label_pairs(b, s->labels, s->nlabels, scheme);
    }
    if (inside || s->nlabels)
        smx_buf_putc(b, '}');
    smx_buf_putc(b, ' ');
    smx_buf_double(b, s->value);
}

void smx_buf_sample(struct smx_buf *b, const char *name, const shmetrics_sample_t *s, unsigned scheme)
{
    smx_buf_sample_open(b, name, s, scheme);
    smx_buf_putc(b, '\n');
}
