/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_negotiate.c - owns fuzzing content negotiation directly:
 * smx_negotiate (the ?format= argument and Accept) and smx_accepts_gzip
 * (Accept-Encoding), with whatever header text a client may send.
 *
 * Input: NUL-separated fields.  Field 0 is a control byte (bit 0: no
 * ?format= argument at all, bit 1: no Accept header, bit 2: no
 * Accept-Encoding header); fields 1, 2 and 3 are the ?format= value, the
 * Accept header and the Accept-Encoding header.
 *
 * Must hold: no crash or sanitizer report; the format chosen is one of the
 * four; a ?format= value decides alone (and is refused with a message
 * unless it names a format); without one, plain text unless Accept names
 * OpenMetrics or a wildcard (which wins over a text/plain with q=0), or
 * names the protobuf type with its MetricFamily proto and delimited
 * encoding (a wildcard never gets binary); gzip only if Accept-Encoding
 * names gzip or a wildcard.
 */
#include <errno.h>
#include <string.h>

#include "../src/serve/server.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_fields x;
    fz_split(&x, data, size);
    unsigned ctl = x.len[0] ? (unsigned char)x.f[0][0] : 0;
    const char *format = ctl & 1 ? NULL : x.f[1];
    const char *accept = ctl & 2 ? NULL : x.f[2];
    const char *encoding = ctl & 4 ? NULL : x.f[3];

    shmetrics_format_t fmt = (shmetrics_format_t)-1;
    struct smx_negotiated neg;
    int rc = smx_negotiate(format, accept, &fmt, &neg);
    if (!neg.escaping && neg.flags)
        fz_die("an escaping flag without its name", accept ? accept : "", accept ? strlen(accept) : 0);
    if (neg.escaping && !strstr(accept ? accept : "", neg.escaping))
        fz_die("an escaping scheme the Accept header does not name", accept ? accept : "", accept ? strlen(accept) : 0);
    if (format) {
        bool known = strcmp(format, "prometheus") == 0 || strcmp(format, "openmetrics") == 0 ||
                     strcmp(format, "json") == 0 || strcmp(format, "protobuf") == 0;
        if (known != (rc == 0))
            fz_die("?format= accepted or refused wrongly", format, strlen(format));
        if (rc < 0 && (rc != -EINVAL || !*shmetrics_errmsg()))
            fz_die("?format= refused without -EINVAL and a message", format, strlen(format));
    } else if (rc != 0) {
        fz_die("negotiation without ?format= failed", accept ? accept : "", accept ? strlen(accept) : 0);
    }
    if (rc == 0) {
        if ((unsigned)fmt > SHMETRICS_FORMAT_PROTOBUF)
            fz_die("negotiated an unknown format", "", 0);
        if (!format && fmt == SHMETRICS_FORMAT_OPENMETRICS &&
            (!accept || (!strcasestr(accept, "application/openmetrics-text") && !strchr(accept, '*'))))
            fz_die("OpenMetrics chosen though Accept names neither it nor a wildcard", accept ? accept : "",
                   accept ? strlen(accept) : 0);
        if (!format && fmt == SHMETRICS_FORMAT_PROTOBUF &&
            (!accept || !strcasestr(accept, "application/vnd.google.protobuf") ||
             !strstr(accept, "io.prometheus.client.MetricFamily") || !strstr(accept, "delimited")))
            fz_die("protobuf chosen though Accept does not name its delimited MetricFamily encoding",
                   accept ? accept : "", accept ? strlen(accept) : 0);
        if (!format && fmt == SHMETRICS_FORMAT_JSON)
            fz_die("JSON chosen without ?format=json", "", 0);
        if (!shmetrics_format_content_type(fmt))
            fz_die("a negotiated format has no content type", "", 0);
    }
    bool gz = smx_accepts_gzip(encoding);
    if (gz && (!encoding || (!strcasestr(encoding, "gzip") && !strchr(encoding, '*'))))
        fz_die("gzip chosen though Accept-Encoding allows neither gzip nor *", encoding ? encoding : "",
               encoding ? strlen(encoding) : 0);
    fz_free(&x);
    return 0;
}
