/* SPDX-License-Identifier: MIT */
/*
 * src/push/push.h - what the pusher's files share: the pusher itself, the
 * backend interface, what one push hands a backend, and the HTTP client
 * that the OTLP and remote-write backends use.
 */
#ifndef SMX_PUSH_H
#define SMX_PUSH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmetrics.h"
#include "src/read/reader.h"

struct smx_backend;

/* What one push hands its backend. */
struct smx_push_ctx {
    const shmetrics_snapshot_t *snap; /* the arena's families, then the pusher's own */
    uint64_t now_ns;                  /* CLOCK_REALTIME of the collection */
    uint64_t start_ns;                /* CLOCK_REALTIME the cumulative values count from (the arena's creation) */
    uint64_t samples;                 /* out: lines, data points or series sent */
    uint64_t bytes;                   /* out: bytes sent (datagrams, or request bodies as sent) */
};

#define SMX_PUSHER_MAGIC UINT32_C(0x50584d53) /* "SMXP", until stopped */

struct shmetrics_pusher {
    uint32_t magic; /* SMX_PUSHER_MAGIC until stopped */
    /* The options, with every string copied. */
    shmetrics_push_options_t o;
    char *target, *prefix;
    shmetrics_label_t *resource, *labels;
    char **headers;
    const struct smx_backend *be;
    void *state; /* the backend's */

    struct smx_reader rd; /* the caller's registry, or one opened here after a re-attach */

    pthread_mutex_t lock; /* one push at a time; the stats */
    shmetrics_push_stats_t stats;

    /* The background thread. */
    bool thread_started;
    pthread_t thread;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    bool stopping; /* under wake_lock */
    int abort_io;  /* atomic: stop in-flight requests */
};

struct smx_backend {
    const char *name;
    /* Check the target, open sockets and handles.  0 or -errno with a
     * message. */
    int (*open)(struct shmetrics_pusher *p);
    /* Send one push.  0 or -errno with a message naming the problem. */
    int (*push)(struct shmetrics_pusher *p, struct smx_push_ctx *c);
    /* The arena was re-created: forget what was sent of the old one. */
    void (*forget)(struct shmetrics_pusher *p);
    void (*close)(struct shmetrics_pusher *p);
};

extern const struct smx_backend smx_backend_null, smx_backend_statsd, smx_backend_otlp, smx_backend_remote_write;

/* ------------------------------------------ native histograms (push_native.c) */

/* An OTLP exponential histogram holds at most this many buckets per sign;
 * a wider one is sent at a lower scale (as OTLP SDKs do at 160). */
#define SMX_OTLP_MAX_BUCKETS 4096

/* The end (one past its _count) of the histogram series that starts at
 * samples[j]. */
size_t smx_hist_series_end(const shmetrics_family_t *f, size_t j);
/* The native buckets of the series samples[j..end) (its _count carries
 * them), NULL for a classic one; *only tells whether it has no classic
 * bucket (its lone +Inf bucket is its count). */
const shmetrics_native_histogram_t *smx_hist_native(const shmetrics_family_t *f, size_t j, size_t end, bool *only);
/* 0, or -EBADMSG naming the family when schema, zero threshold or spans
 * are wrong (the spans must hold exactly the counts given, every index
 * one a double can have at the schema: within +-1100 * 2^schema). */
int smx_native_check(const char *name, const shmetrics_native_histogram_t *h);
/* The OTLP scale at which both signs fit in `max` buckets each: the
 * schema, lowered while they do not. */
int32_t smx_otlp_scale(const shmetrics_native_histogram_t *h, size_t max);
/* One sign's buckets (checked) at `scale` (<= schema): OTLP's offset, the
 * number of dense counts *n and, unless `out` is NULL, the counts into
 * out[cap]; -ENOSPC when more than `cap` are needed, -EINVAL for a scale
 * above the schema. */
int smx_otlp_buckets(const shmetrics_native_span_t *spans, size_t nspans, const uint64_t *counts, int32_t schema,
                     int32_t scale, int32_t *offset, uint64_t *out, size_t cap, size_t *n);

/* OTLP protobuf encoding (src/push/push_otlp_pb.c) of the points that
 * src/push/push_otlp.c groups. */
struct smx_otlp_point {
    size_t nattrs;
    const shmetrics_label_t *attrs; /* the series' labels (le and quantile left out) */
    double value;                   /* counters and gauges */
    uint64_t count;                 /* histograms and summaries */
    double sum;
    size_t n;       /* histogram: finite bounds; summary: quantiles */
    double *bounds; /* histogram bounds, or summary quantiles */
    double *values; /* histogram: counts per bucket (n + 1 of them); summary: quantile values */
    /* An exponential histogram's point: scale, and each sign's offset and
     * dense counts (npos and nneg of them). */
    const shmetrics_native_histogram_t *native;
    int32_t scale, pos_offset, neg_offset;
    uint64_t *pos, *neg;
    size_t npos, nneg;
};

struct smx_otlp_metric {
    const shmetrics_family_t *fam;
    bool exponential; /* a histogram family's native series */
    size_t npoints;
    struct smx_otlp_point *points;
};

struct smx_otlp_doc {
    const shmetrics_label_t *resource;
    size_t nresource;
    uint64_t start_ns, now_ns;
    size_t nmetrics;
    struct smx_otlp_metric *metrics;
};

int smx_otlp_encode_pb(const struct smx_otlp_doc *d, uint8_t **out, size_t *len);

/* -------------------------------------------------------------- HTTP */

struct smx_http;

/* A client for one URL (http:// or https://): keep-alive, `timeout_ms` for
 * a whole request, extra "Name: value" headers, and `abort` (an atomic int)
 * that stops a request in flight when it becomes nonzero. */
int smx_http_open(const char *url, char *const *headers, size_t nheaders, uint32_t timeout_ms, const int *abort,
                  struct smx_http **out);
/* POST a body; 0 on a 2xx answer, else -errno with a message naming the
 * URL and the status (and the start of the answer's body) or the network
 * error. */
int smx_http_post(struct smx_http *h, const char *const *headers, size_t nheaders, const void *body, size_t len);
void smx_http_close(struct smx_http *h);

/* A URL without a path gets `path` appended; the result is malloc'd.
 * -EINVAL when it is not http:// or https://. */
int smx_http_url(const char *target, const char *path, char **out);

#endif
