/* SPDX-License-Identifier: MIT */
/*
 * base/names.h - the legacy character set of Prometheus names, by byte:
 * one table shared by the arena's rules (shm/names.c), the exemplar check
 * on a worker's hot path and the expositions' escaping of names outside it
 * (src/expose/names.c).
 */
#ifndef SMX_BASE_NAMES_H
#define SMX_BASE_NAMES_H

#include <stdbool.h>

/* What each byte may be in a legacy name: NC_ANY anywhere, NC_LATER not
 * first (a digit), NC_COLON a colon (metric names only).  A table, not
 * comparisons: exemplar labels are checked on a worker's hot path. */
enum { NC_ANY = 1, NC_LATER = 2, NC_COLON = 4 };
extern const unsigned char smx_name_class[256];

/* Whether byte `c` may stand at a legacy name's first position or after
 * it (`colon`: a metric name). */
static inline bool smx_name_byte_ok(unsigned char c, bool first, bool colon)
{
    unsigned ok = NC_ANY | (colon ? NC_COLON : 0u) | (first ? 0u : NC_LATER);
    return (smx_name_class[c] & ok) != 0;
}

#endif
