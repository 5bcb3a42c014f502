/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_text.c - owns the Prometheus text exposition format 0.0.4:
 * its HELP and TYPE lines, named and typed as prometheus_client names and
 * types them (a counter family like its _total samples; an info family
 * like its _info samples, and typed gauge, as a stateset is).  Creation
 * times are not shown in this format (as client_golang and prometheus_client
 * in multiprocess mode do not: a name_created gauge family would double the
 * series Prometheus stores for each counter); OpenMetrics and protobuf
 * carry them.
 * Sample lines and escaping are shared with OpenMetrics (base/buf.c);
 * src/expose/expose.c dispatches between the formats.
 */
#include <string.h>

#include "base/buf.h"
#include "shmetrics.h"

static void header(struct smx_buf *b, const char *name, const char *suffix, const char *help, const char *type,
                   unsigned scheme)
{
    smx_buf_puts(b, "# HELP ");
    smx_buf_name(b, name, suffix, scheme, true, true);
    smx_buf_putc(b, ' ');
    smx_buf_escaped(b, help, false);
    smx_buf_puts(b, "\n# TYPE ");
    smx_buf_name(b, name, suffix, scheme, true, true);
    smx_buf_putc(b, ' ');
    smx_buf_puts(b, type);
    smx_buf_putc(b, '\n');
}

void smx_encode_prometheus(struct smx_buf *b, const shmetrics_snapshot_t *snap, unsigned flags)
{
    /* SHMETRICS_FORMAT_NO_CREATED: nothing to leave out here */
    unsigned scheme = smx_escaping_of(flags);
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        /* In 0.0.4 a counter family is named like its samples, an info
         * family too; the types 0.0.4 lacks are gauges. */
        const char *suffix = f->type == SHMETRICS_COUNTER ? "_total" : f->type == SHMETRICS_INFO ? "_info" : "";
        bool gauge = f->type == SHMETRICS_INFO || f->type == SHMETRICS_STATESET;
        header(b, f->name, suffix, f->help, gauge ? "gauge" : smx_type_name(f->type), scheme);
        for (size_t j = 0; j < f->nsamples; j++)
            smx_buf_sample(b, f->name, &f->samples[j], scheme);
    }
}
