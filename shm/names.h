/* SPDX-License-Identifier: MIT */
/*
 * shm/names.h - the naming rules of the Prometheus data model, shared by the
 * arena validation (readers, shm/directory.c) and the spec checks above it
 * (writers, src/write/spec.c).  The length limits are the arena format's.
 */
#ifndef SMX_NAMES_H
#define SMX_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/names.h"
#include "layout.h"

/* A metric or label name: 1..SHM_MAX_NAME bytes of UTF-8 without NUL, as
 * Prometheus 3 takes them (reserved prefixes are the spec's business, not
 * the format's).  A name outside the legacy rules below is escaped on the
 * way out unless the reader asks for UTF-8 (src/expose/names.c). */
bool smx_metric_name_ok(const char *s, size_t len);
bool smx_label_name_ok(const char *s, size_t len);
/* The legacy rules, which the text format 0.0.4 writes unquoted:
 * [a-zA-Z_:][a-zA-Z0-9_:]* for a metric name, [a-zA-Z_][a-zA-Z0-9_]* for a
 * label name, 1..SHM_MAX_NAME bytes. */
bool smx_metric_name_legacy(const char *s, size_t len);
bool smx_label_name_legacy(const char *s, size_t len);

/* The length of the NUL-terminated `s` if it is a legacy label name of at
 * most `max` bytes, else 0; one pass, reading no byte past the first that
 * is not a name character (inline: exemplar labels, a worker's hot path,
 * which checks other names as UTF-8 when this says no). */
static inline size_t smx_label_name_len(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!(smx_name_class[p[0]] & NC_ANY))
        return 0;
    size_t i = 1;
    while (smx_name_class[p[i]] & (NC_ANY | NC_LATER))
        i++;
    return p[i] == 0 && i <= max && i <= SHM_MAX_NAME ? i : 0;
}
/* Well-formed UTF-8 without NUL bytes. */
bool smx_utf8_ok(const char *s, size_t len);
/* The code points of `s` if it is UTF-8 without NUL, else SIZE_MAX (one
 * pass; runs of ASCII are checked 8 bytes at a time). */
size_t smx_utf8_count(const char *s, size_t len);
/* A string list (`n` members, each followed by NUL, `len` bytes in all)
 * of label names, or of label values (UTF-8, at most SHM_MAX_LABEL_VALUE). */
bool smx_label_list_ok(const char *s, size_t len, uint32_t n);
bool smx_value_list_ok(const char *s, size_t len, uint32_t n);
/* A unit: 1..SHM_MAX_UNIT_LEN bytes of [a-zA-Z0-9_:]. */
bool smx_unit_ok(const char *s, size_t len);
/* A stateset's states: 1..SHM_MAX_STATES label values, none twice. */
bool smx_state_list_ok(const char *s, size_t len, uint32_t n);
/* An info series' key: `nlabels` label values, then (name, value) pairs,
 * each name a label name that does not start with __, is none of the
 * family's `labels` (a list of `nlabels` names) and appears once, with
 * at most SHM_MAX_LABELS names in all. */
bool smx_info_key_ok(const char *key, size_t len, uint32_t nlabels, const char *labels, size_t labels_len);

/* Characters (code points) of well-formed UTF-8. */
size_t smx_utf8_chars(const char *s, size_t len);
/* An exemplar's label text (shm/layout.h): (name NUL value NUL) per label,
 * each name a label name and there once, each value UTF-8, at most
 * SHM_EXEMPLAR_CHARS characters of names and values in all and at most
 * SHM_EXEMPLAR_TEXT bytes.  Empty: no labels. */
bool smx_exemplar_text_ok(const char *s, size_t len);

#endif
