/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose.c - owns the choice between exposition formats: the public
 * shmetrics_format entry points and their flags (PROMETHEUS_DISABLE_CREATED_SERIES
 * included), format names and HTTP content types.  The
 * encoders themselves are src/expose/expose_text.c, src/expose/expose_openmetrics.c,
 * src/expose/expose_json.c and src/expose/expose_protobuf.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/error.h"
#include "shmetrics.h"

static const struct {
    const char *name;
    const char *content_type;
    void (*encode)(struct smx_buf *, const shmetrics_snapshot_t *, unsigned);
} formats[] = {
    [SHMETRICS_FORMAT_PROMETHEUS] = {"prometheus", "text/plain; version=0.0.4; charset=utf-8", smx_encode_prometheus},
    [SHMETRICS_FORMAT_OPENMETRICS] = {"openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                      smx_encode_openmetrics},
    [SHMETRICS_FORMAT_JSON] = {"json", "application/json", smx_encode_json},
    [SHMETRICS_FORMAT_PROTOBUF] = {"protobuf",
                                   "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                                   "encoding=delimited",
                                   smx_encode_protobuf},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* prometheus_client's switch: PROMETHEUS_DISABLE_CREATED_SERIES of "true",
 * "1" or "t", in any case, leaves the creation times out. */
static bool created_disabled_by_env(void)
{
    const char *v = getenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "t") == 0);
}

int shmetrics_format(const shmetrics_snapshot_t *snap, shmetrics_format_t fmt, char **out, size_t *len)
{
    return shmetrics_format_with(snap, fmt, 0, out, len);
}

int shmetrics_format_with(const shmetrics_snapshot_t *snap, shmetrics_format_t fmt, unsigned flags, char **out,
                          size_t *len)
{
    if (!snap || !out)
        return smx_fail(-EINVAL, "no snapshot or out pointer given");
    if ((unsigned)fmt >= NFORMATS)
        return smx_fail(-EINVAL, "unknown exposition format %d", (int)fmt);
    const unsigned schemes = SHMETRICS_FORMAT_UTF8 | SHMETRICS_FORMAT_ESCAPE_DOTS | SHMETRICS_FORMAT_ESCAPE_VALUES;
    if (flags & ~(SHMETRICS_FORMAT_NO_CREATED | schemes))
        return smx_fail(-EINVAL, "unknown format flags 0x%x", flags);
    if ((flags & schemes) & ((flags & schemes) - 1))
        return smx_fail(-EINVAL, "format flags 0x%x name more than one escaping scheme", flags);
    if (created_disabled_by_env())
        flags |= SHMETRICS_FORMAT_NO_CREATED;
    /* Numbers are written (and read back) in the C locale, whatever the
     * host program chose for LC_NUMERIC. */
    pthread_once(&c_locale_once, c_locale_init);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    struct smx_buf b = {0};
    smx_buf_put(&b, "", 0);
    formats[fmt].encode(&b, snap, flags);
    if (old)
        uselocale(old);
    if (b.oom) {
        free(b.data);
        return smx_fail(-ENOMEM, "out of memory formatting metrics");
    }
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

int shmetrics_format_prometheus(const shmetrics_snapshot_t *snap, char **out, size_t *len)
{
    return shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, out, len);
}

const char *shmetrics_format_content_type(shmetrics_format_t fmt)
{
    return (unsigned)fmt < NFORMATS ? formats[fmt].content_type : NULL;
}

int shmetrics_format_parse(const char *name, shmetrics_format_t *out)
{
    for (size_t i = 0; name && i < NFORMATS; i++)
        if (strcmp(name, formats[i].name) == 0) {
            *out = (shmetrics_format_t)i;
            return 0;
        }
    return smx_fail(-EINVAL, "unknown format '%s' (prometheus, openmetrics, json, protobuf)", name ? name : "(null)");
}
