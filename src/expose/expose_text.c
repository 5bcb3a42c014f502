/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_text.c - owns the Prometheus text exposition format 0.0.4:
 * its HELP and TYPE lines (a counter family named like its _total
 * samples).  Sample lines and escaping are shared with OpenMetrics
 * (base/buf.c); src/expose/expose.c dispatches between the formats.
 */
#include "base/buf.h"
#include "shmetrics.h"

void smx_encode_prometheus(struct smx_buf *b, const shmetrics_snapshot_t *snap)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        /* In 0.0.4 a counter family is named like its samples. */
        const char *suffix = f->type == SHMETRICS_COUNTER ? "_total" : "";
        smx_buf_puts(b, "# HELP ");
        smx_buf_puts(b, f->name);
        smx_buf_puts(b, suffix);
        smx_buf_putc(b, ' ');
        smx_buf_escaped(b, f->help, false);
        smx_buf_puts(b, "\n# TYPE ");
        smx_buf_puts(b, f->name);
        smx_buf_puts(b, suffix);
        smx_buf_putc(b, ' ');
        smx_buf_puts(b, smx_type_name(f->type));
        smx_buf_putc(b, '\n');
        for (size_t j = 0; j < f->nsamples; j++)
            smx_buf_sample(b, f->name, &f->samples[j]);
    }
}
