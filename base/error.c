/* SPDX-License-Identifier: MIT */
/*
 * base/error.c - owns the per-thread error message behind shmetrics_errmsg().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "shmetrics.h"

#define SMX_ERRMSG_MAX 512

static _Thread_local char errmsg[SMX_ERRMSG_MAX];
static _Thread_local uint64_t nfails;

uint64_t smx_fail_count(void)
{
    return nfails;
}

int smx_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    nfails++;
    return code;
}

int smx_fail_prefix(int code, const char *fmt, ...)
{
    char prefix[SMX_ERRMSG_MAX], old[SMX_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof errmsg - 3)
        n = sizeof errmsg - 3;
    memcpy(errmsg, prefix, n);
    memcpy(errmsg + n, ": ", 2);
    size_t room = sizeof errmsg - n - 3;
    size_t m = strnlen(old, room);
    memcpy(errmsg + n + 2, old, m);
    errmsg[n + 2 + m] = 0;
    nfails++;
    return code;
}

const char *shmetrics_errmsg(void)
{
    return errmsg[0] ? errmsg : "no error";
}

int smx_check_magic(const void *obj, uint32_t magic, uint32_t want, const char *what, const char *fn)
{
    if (!obj)
        return smx_fail(-EINVAL, "%s: no %s given", fn, what);
    if (magic != want)
        return smx_fail(-EINVAL, "%s: not a shmetrics %s (bad magic 0x%08x), or one already freed", fn, what, magic);
    return 0;
}
