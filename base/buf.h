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
/* Names in the expositions (src/expose/names.c): the escaping schemes, as
 * smx_escaping_of picks one from SHMETRICS_FORMAT_* flags. */
enum { SMX_ESCAPE_UNDERSCORES, SMX_ESCAPE_UTF8, SMX_ESCAPE_DOTS, SMX_ESCAPE_VALUES };
unsigned smx_escaping_of(unsigned flags);
/* name + suffix, a metric name (else a label name), as `scheme` writes it;
 * with `quote`, a name outside the legacy set under allow-utf-8 in double
 * quotes, as the text formats write it. */
void smx_buf_name(struct smx_buf *b, const char *name, const char *suffix, unsigned scheme, bool metric, bool quote);
/* Whether the text formats quote that metric name under `scheme`. */
bool smx_name_quoted(const char *name, const char *suffix, unsigned scheme, bool metric);
/* One sample line of the text formats: name{labels} value, names written
 * by `scheme` ({"a.b",le="1"} for a quoted name). */
struct shmetrics_sample;
struct shmetrics_label;
void smx_buf_sample(struct smx_buf *b, const char *name, const struct shmetrics_sample *s, unsigned scheme);
/* The same without the newline (OpenMetrics may add an exemplar). */
void smx_buf_sample_open(struct smx_buf *b, const char *name, const struct shmetrics_sample *s, unsigned scheme);
/* n="v" pairs, comma-separated, label names written by `scheme`. */
void smx_buf_label_pairs(struct smx_buf *b, const struct shmetrics_label *l, size_t n, unsigned scheme);
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
