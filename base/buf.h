/* SPDX-License-Identifier: MIT */
/*
 * base/buf.h - a growable byte buffer for the encoders.
 */
#ifndef SMX_BUF_H
#define SMX_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smx_buf {
    char *data;
    size_t len, cap;
    bool oom; /* an append failed: the content is incomplete */
};

void smx_buf_put(struct smx_buf *b, const char *s, size_t n);
void smx_buf_puts(struct smx_buf *b, const char *s);
void smx_buf_putc(struct smx_buf *b, char c);
/* Shortest decimal that reads back as the same double; +Inf, -Inf, NaN. */
void smx_buf_double(struct smx_buf *b, double v);

/* Backslash and newline escaped, and the double quote too if `quote`: HELP
 * text (0.0.4 leaves its quotes alone) and label values. */
void smx_buf_escaped(struct smx_buf *b, const char *s, bool quote);
/* A JSON string (RFC 8259): `s` in double quotes, with the quote, the
 * backslash and control characters (as \u00XX) escaped; other bytes pass
 * through (the caller's strings are UTF-8).  The JSON format and OTLP/JSON
 * push share it. */
void smx_buf_json_string(struct smx_buf *b, const char *s);
/* One sample line of the text formats: name{labels} value. */
struct shmetrics_sample;
void smx_buf_sample(struct smx_buf *b, const char *name, const struct shmetrics_sample *s);
/* The same without the newline (OpenMetrics may add an exemplar). */
void smx_buf_sample_open(struct smx_buf *b, const char *name, const struct shmetrics_sample *s);
/* "counter", "gauge", "histogram", "summary", "info", "stateset". */
const char *smx_type_name(uint32_t type);

/* The encoders (src/expose_*.c), dispatched by src/expose/expose.c.  Each
 * appends one whole exposition of `snap` to `b`; `flags` are
 * SHMETRICS_FORMAT_* (SHMETRICS_FORMAT_NO_CREATED also when the
 * environment asked for it). */
struct shmetrics_snapshot;
void smx_encode_prometheus(struct smx_buf *b, const struct shmetrics_snapshot *snap, unsigned flags);
void smx_encode_openmetrics(struct smx_buf *b, const struct shmetrics_snapshot *snap, unsigned flags);
void smx_encode_json(struct smx_buf *b, const struct shmetrics_snapshot *snap, unsigned flags);
void smx_encode_protobuf(struct smx_buf *b, const struct shmetrics_snapshot *snap, unsigned flags);
/* The name_created sample of the series that `s` ends (its labels, the
 * series' creation time as value), if it has one and `flags` allow it:
 * the last sample of a counter, histogram or summary series. */
struct shmetrics_family;
bool smx_sample_ends_dated_series(const struct shmetrics_family *f, const struct shmetrics_sample *s);
/* A family's unit, when the text formats may show it: set, and the
 * family's name ends with _UNIT (OpenMetrics' rule). */
const char *smx_family_unit(const struct shmetrics_family *f);

/* A bucket bound or quantile as a label value, spelled as the Python
 * client spells it (so series keep their identity when a program moves to
 * shmetrics): 1.0, 0.005, 2.5e-05, 1e+06, +Inf.  `out` needs 32 bytes. */
void smx_label_float(char *out, size_t cap, double v);

#endif
