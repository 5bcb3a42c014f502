/* SPDX-License-Identifier: MIT */
/*
 * shm/names.c - owns the character rules for metric names, label names,
 * label values and help text: what the arena validation requires of the
 * strings it reads, and what the spec checks (src/write/spec.c) require of a
 * writer's, so that nothing registered can fail a reader's validation.
 */
#include <string.h>

#include "layout.h"
#include "names.h"

static bool name_ok(const char *s, size_t len, bool colon)
{
    if (len == 0 || len > SHM_MAX_NAME)
        return false;
    unsigned first = NC_ANY | (colon ? NC_COLON : 0u), later = first | NC_LATER;
    if (!(smx_name_class[(unsigned char)s[0]] & first))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(smx_name_class[(unsigned char)s[i]] & later))
            return false;
    return true;
}

bool smx_metric_name_legacy(const char *s, size_t len)
{
    return name_ok(s, len, true);
}

bool smx_label_name_legacy(const char *s, size_t len)
{
    return name_ok(s, len, false);
}

bool smx_metric_name_ok(const char *s, size_t len)
{
    return len > 0 && len <= SHM_MAX_NAME && smx_utf8_ok(s, len);
}

bool smx_label_name_ok(const char *s, size_t len)
{
    return smx_metric_name_ok(s, len);
}

/* Where the run of ASCII bytes without NUL that starts at `p` ends, found
 * 8 bytes at a time (the rest is left to the byte loop). */
static const unsigned char *ascii_run(const unsigned char *p, const unsigned char *end)
{
    const uint64_t high = UINT64_C(0x8080808080808080), ones = UINT64_C(0x0101010101010101);
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        if ((w & high) || ((w - ones) & ~w & high)) /* a byte >= 0x80, or a zero byte */
            break;
        p += 8;
    }
    return p;
}

size_t smx_utf8_count(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t chars = 0;
    while (p < end) {
        const unsigned char *q = ascii_run(p, end);
        chars += (size_t)(q - p);
        if ((p = q) >= end)
            break;
        unsigned c = *p++;
        chars++;
        if (c == 0)
            return SIZE_MAX;
        if (c < 0x80)
            continue;
        unsigned need;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return SIZE_MAX;
        }
        if ((size_t)(end - p) < need)
            return SIZE_MAX;
        for (unsigned i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return SIZE_MAX;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += need;
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return SIZE_MAX;
    }
    return chars;
}

bool smx_utf8_ok(const char *s, size_t len)
{
    return smx_utf8_count(s, len) != SIZE_MAX;
}

static bool list_ok(const char *s, size_t len, uint32_t n, bool names)
{
    size_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *nul = memchr(s + pos, 0, len - pos);
        if (!nul)
            return false;
        size_t l = (size_t)(nul - (s + pos));
        if (names ? !smx_label_name_ok(s + pos, l) : (l > SHM_MAX_LABEL_VALUE || !smx_utf8_ok(s + pos, l)))
            return false;
        pos += l + 1;
    }
    return pos == len;
}

bool smx_label_list_ok(const char *s, size_t len, uint32_t n)
{
    return list_ok(s, len, n, true);
}

bool smx_value_list_ok(const char *s, size_t len, uint32_t n)
{
    return list_ok(s, len, n, false);
}

bool smx_unit_ok(const char *s, size_t len)
{
    if (len == 0 || len > SHM_MAX_UNIT_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!smx_name_class[(unsigned char)s[i]]) /* a name's characters, a digit or colon first too */
            return false;
    return true;
}

/* The member of a string list that starts at `pos`, and its length. */
static size_t member_len(const char *s, size_t len, size_t pos)
{
    const char *nul = memchr(s + pos, 0, len - pos);
    return nul ? (size_t)(nul - (s + pos)) : SIZE_MAX;
}

/* Does the string list s[0..len) hold `m` (of length ml) among its first
 * `n` members? */
static bool list_has(const char *s, size_t len, uint32_t n, const char *m, size_t ml)
{
    size_t pos = 0;
    for (uint32_t i = 0; i < n && pos < len; i++) {
        size_t l = member_len(s, len, pos);
        if (l == SIZE_MAX)
            return false;
        if (l == ml && memcmp(s + pos, m, ml) == 0)
            return true;
        pos += l + 1;
    }
    return false;
}

bool smx_state_list_ok(const char *s, size_t len, uint32_t n)
{
    if (n == 0 || n > SHM_MAX_STATES || !smx_value_list_ok(s, len, n))
        return false;
    size_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t l = member_len(s, len, pos);
        if (list_has(s, len, i, s + pos, l))
            return false;
        pos += l + 1;
    }
    return true;
}

bool smx_info_key_ok(const char *key, size_t len, uint32_t nlabels, const char *labels, size_t labels_len)
{
    size_t pos = 0;
    for (uint32_t i = 0; i < nlabels; i++) {
        size_t l = pos < len ? member_len(key, len, pos) : SIZE_MAX;
        if (l == SIZE_MAX || l > SHM_MAX_LABEL_VALUE || !smx_utf8_ok(key + pos, l))
            return false;
        pos += l + 1;
    }
    const char *pairs = key + pos;
    size_t plen = len - pos;
    uint32_t npairs = 0;
    for (size_t p = 0; p < plen; npairs++) {
        size_t nl = member_len(pairs, plen, p);
        if (nl == SIZE_MAX || !smx_label_name_ok(pairs + p, nl) ||
            (nl >= 2 && pairs[p] == '_' && pairs[p + 1] == '_') || nlabels + npairs >= SHM_MAX_LABELS ||
            list_has(labels, labels_len, nlabels, pairs + p, nl))
            return false;
        /* Earlier pair names: every other member from the start. */
        for (size_t q = 0; q < p;) {
            size_t ql = member_len(pairs, plen, q);
            if (ql == nl && memcmp(pairs + q, pairs + p, nl) == 0)
                return false;
            q += ql + 1;
            q += member_len(pairs, plen, q) + 1;
        }
        p += nl + 1;
        size_t vl = p < plen ? member_len(pairs, plen, p) : SIZE_MAX;
        if (vl == SIZE_MAX || vl > SHM_MAX_LABEL_VALUE || !smx_utf8_ok(pairs + p, vl))
            return false;
        p += vl + 1;
    }
    return true;
}

size_t smx_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

bool smx_exemplar_text_ok(const char *s, size_t len)
{
    if (len > SHM_EXEMPLAR_TEXT)
        return false;
    size_t pos = 0, chars = 0;
    while (pos < len) {
        const char *name = s + pos, *nend = memchr(name, 0, len - pos);
        if (!nend || !smx_label_name_ok(name, (size_t)(nend - name)))
            return false;
        const char *value = nend + 1, *vend = memchr(value, 0, len - (size_t)(value - s));
        if (!vend || !smx_utf8_ok(value, (size_t)(vend - value)))
            return false;
        for (const char *o = s; o < name;) { /* each name once */
            if (strcmp(o, name) == 0)
                return false;
            o += strlen(o) + 1;
            o += strlen(o) + 1;
        }
        chars += smx_utf8_chars(name, (size_t)(nend - name)) + smx_utf8_chars(value, (size_t)(vend - value));
        pos = (size_t)(vend - s) + 1;
    }
    return chars <= SHM_EXEMPLAR_CHARS;
}
