/* SPDX-License-Identifier: MIT */
/*
 * src/serve/server.h - what the HTTP server's two files share.
 */
#ifndef SMX_SERVER_H
#define SMX_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conns.h"
#include "shmetrics.h"
#include "src/read/reader.h"

struct smx_server_state {
    struct smx_reader rd;        /* the arena, re-attached when re-created */
    struct smx_conn_guard conns; /* the connection limits and request timeout */
    uint64_t scrapes;            /* atomic */
    uint64_t last_scrape_ns;     /* atomic */
    uint64_t logged_damaged;     /* atomic: damaged records when last logged */
    uint64_t damage_logged_ns;   /* atomic: CLOCK_MONOTONIC of that log line */
    struct smx_web *web;         /* the web configuration file's, or NULL */
    bool process_metrics;        /* read /proc for the workers' process_* families */
    unsigned format_flags;       /* SHMETRICS_FORMAT_* of every scrape */
};

/* Answer `text` (text/plain) with `status`: with Allow for a 405,
 * WWW-Authenticate: Basic for a 401, and the web configuration's headers
 * (src/serve/server.c). */
enum MHD_Result smx_send_text(struct MHD_Connection *c, unsigned status, const char *text);

/* The format for a request: ?format= if given (else -EINVAL for an unknown
 * one), else the protobuf format when Accept names its delimited
 * MetricFamily encoding with a q above those of OpenMetrics and text, else
 * OpenMetrics when Accept prefers it to text, else Prometheus text. */
/* What a request negotiated besides the format: the escaping scheme of
 * names (SHMETRICS_FORMAT_* flags, 0 for underscores), and its name when
 * the Accept header asked for one (echoed in the Content-Type), else NULL. */
struct smx_negotiated {
    unsigned flags;
    const char *escaping;
};
int smx_negotiate(const char *format_arg, const char *accept, shmetrics_format_t *fmt, struct smx_negotiated *n);
bool smx_accepts_gzip(const char *accept_encoding);
int smx_gzip(const char *in, size_t len, char **out, size_t *out_len);
/* Collect, add the collector's own metrics, encode. */
int smx_scrape(struct smx_server_state *st, shmetrics_format_t fmt, unsigned flags, char **body, size_t *len);

#endif
