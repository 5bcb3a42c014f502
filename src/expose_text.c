/*
 * src/expose_text.c - owns the Prometheus text exposition format 0.0.4:
 * HELP and TYPE lines, escaping, sample lines.  (src/expose.c dispatches
 * between the formats.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "registry.h"

/* HELP escapes backslash and newline; label values also the double quote. */
static void put_escaped(struct smx_buf *b, const char *s, bool quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : (quote && *s == '"') ? "\\\"" : NULL;
        if (!esc)
            continue;
        smx_buf_put(b, run, (size_t)(s - run));
        smx_buf_puts(b, esc);
        run = s + 1;
    }
    smx_buf_put(b, run, (size_t)(s - run));
}

static void put_sample(struct smx_buf *b, const char *name, const shmetrics_sample_t *s)
{
    smx_buf_puts(b, name);
    smx_buf_puts(b, s->suffix);
    if (s->nlabels) {
        smx_buf_putc(b, '{');
        for (size_t i = 0; i < s->nlabels; i++) {
            if (i)
                smx_buf_putc(b, ',');
            smx_buf_puts(b, s->labels[i].name);
            smx_buf_puts(b, "=\"");
            put_escaped(b, s->labels[i].value, true);
            smx_buf_putc(b, '"');
        }
        smx_buf_putc(b, '}');
    }
    smx_buf_putc(b, ' ');
    smx_buf_double(b, s->value);
    smx_buf_putc(b, '\n');
}

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
        put_escaped(b, f->help, false);
        smx_buf_puts(b, "\n# TYPE ");
        smx_buf_puts(b, f->name);
        smx_buf_puts(b, suffix);
        smx_buf_putc(b, ' ');
        smx_buf_puts(b, smx_type_name(f->type));
        smx_buf_putc(b, '\n');
        for (size_t j = 0; j < f->nsamples; j++)
            put_sample(b, f->name, &f->samples[j]);
    }
}
