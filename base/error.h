/* SPDX-License-Identifier: MIT */
/*
 * base/error.h - the thread's last error message.
 *
 * Every failing call returns a negative errno code and leaves a message here
 * that names the problem; shmetrics_errmsg() hands it to the caller.
 *
 * base/ is the bottom layer: it includes nothing of the project but the
 * public headers (include/).  The layers, and what each may include, are
 * listed under "Layers" in docs/design.md; tests/layers.sh checks them.
 */
#ifndef SMX_ERROR_H
#define SMX_ERROR_H

#include <stdint.h>

/* Format the message, remember it for this thread, return `code` (< 0). */
int smx_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), cold));

/* Prefix the current message with more context ("opening X: ..."). */
int smx_fail_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), cold));

/* How many messages this thread has set so far.  A caller that compares it
 * before and after a call learns whether a failing call left a message of
 * its own, and gives one when it did not (no stale or empty message). */
uint64_t smx_fail_count(void);

/* The entry check of a public handle: 0 when `obj` is not NULL and its
 * magic word is `want`; else -EINVAL with "FN: no WHAT given" or "FN: not a
 * shmetrics WHAT (bad magic 0x...), or one already freed". */
int smx_check_magic(const void *obj, uint32_t magic, uint32_t want, const char *what, const char *fn);

#endif
