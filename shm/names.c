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

static bool name_char(unsigned char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (c == ':')
        return colon;
    return !first && c >= '0' && c <= '9';
}

static bool name_ok(const char *s, size_t len, bool colon)
{
    if (len == 0 || len > SHM_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char((unsigned char)s[i], i == 0, colon))
            return false;
    return true;
}

bool smx_metric_name_ok(const char *s, size_t len)
{
    return name_ok(s, len, true);
}

bool smx_label_name_ok(const char *s, size_t len)
{
    return name_ok(s, len, false);
}

bool smx_utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c == 0)
            return false;
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
            return false;
        }
        if ((size_t)(end - p) < need)
            return false;
        for (unsigned i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += need;
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
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
