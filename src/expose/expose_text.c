/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_text.c - owns the Prometheus text exposition format 0.0.4:
 * its HELP and TYPE lines, named and typed as prometheus_client names and
 * types them (a counter family like its _total samples; an info family
 * like its _info samples, and typed gauge, as a stateset is), and the
 * creation times of series as prometheus_client shows them in this format:
 * a gauge family name_created after the family, one sample per series.
 * Sample lines and escaping are shared with OpenMetrics (base/buf.c);
 * src/expose/expose.c dispatches between the formats.
 */
#include <string.h>

#include "base/buf.h"
#include "shmetrics.h"

static void header(struct smx_buf *b, const char *name, const char *suffix, const char *help, const char *type)
{
    smx_buf_puts(b, "# HELP ");
    smx_buf_puts(b, name);
    smx_buf_puts(b, suffix);
    smx_buf_putc(b, ' ');
    smx_buf_escaped(b, help, false);
    smx_buf_puts(b, "\n# TYPE ");
    smx_buf_puts(b, name);
    smx_buf_puts(b, suffix);
    smx_buf_putc(b, ' ');
    smx_buf_puts(b, type);
    smx_buf_putc(b, '\n');
}

void smx_encode_prometheus(struct smx_buf *b, const shmetrics_snapshot_t *snap, unsigned flags)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        /* In 0.0.4 a counter family is named like its samples, an info
         * family too; the types 0.0.4 lacks are gauges. */
        const char *suffix = f->type == SHMETRICS_COUNTER ? "_total" : f->type == SHMETRICS_INFO ? "_info" : "";
        bool gauge = f->type == SHMETRICS_INFO || f->type == SHMETRICS_STATESET;
        header(b, f->name, suffix, f->help, gauge ? "gauge" : smx_type_name(f->type));
        size_t dated = 0;
        for (size_t j = 0; j < f->nsamples; j++) {
            smx_buf_sample(b, f->name, &f->samples[j]);
            dated += smx_sample_ends_dated_series(f, &f->samples[j]);
        }
        if (!dated || (flags & SHMETRICS_FORMAT_NO_CREATED))
            continue;
        header(b, f->name, "_created", f->help, "gauge");
        for (size_t j = 0; j < f->nsamples; j++) {
            const shmetrics_sample_t *s = &f->samples[j];
            if (!smx_sample_ends_dated_series(f, s))
                continue;
            shmetrics_sample_t c = *s;
            c.suffix = "_created";
            c.value = s->created;
            smx_buf_sample(b, f->name, &c);
        }
    }
}
