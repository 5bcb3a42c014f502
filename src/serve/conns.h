/* SPDX-License-Identifier: MIT */
/*
 * src/serve/conns.h - the connection guard of the HTTP server: which
 * connections are open, which wait for a request, and which to close when a
 * limit is reached or a request takes too long to arrive (src/serve/conns.c).
 */
#ifndef SMX_SERVE_CONNS_H
#define SMX_SERVE_CONNS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Why the guard closed a connection. */
enum smx_conn_reason {
    SMX_CONN_TIMEOUT,     /* no whole request within the request timeout */
    SMX_CONN_PER_ADDRESS, /* its address had too many connections */
    SMX_CONN_LIMIT,       /* the server had too many connections */
    SMX_CONN_NREASONS
};

/* What a scrape reports of the guard. */
struct smx_conn_stats {
    uint64_t open;                      /* connections open now */
    uint64_t max;                       /* the limit */
    uint64_t closed[SMX_CONN_NREASONS]; /* connections the guard closed, by reason */
};

struct smx_conn;
struct smx_conn_addr;

struct smx_conn_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the reaper's sleep; signalled to stop it */
    pthread_t reaper;
    bool reaper_started, stopping;
    unsigned max, per_address;
    uint64_t timeout_ns;
    uint64_t open; /* connections the guard knows */
    uint64_t live; /* of which not shut: what the limits count */
    uint64_t closed[SMX_CONN_NREASONS];
    /* Connections waiting for a request, oldest first. */
    struct smx_conn *wait_head, *wait_tail;
    /* Client addresses with open connections, chained in buckets. */
    struct smx_conn_addr **buckets;
    unsigned nbuckets; /* a power of two */
};

/* Set up a guard (`max` connections, `per_address` from one address, a
 * request must arrive within `timeout_ns` of the connection opening or of
 * the previous response) and start its reaper thread.  0, or -ENOMEM /
 * -EAGAIN with a message. */
int smx_conns_init(struct smx_conn_guard *g, unsigned max, unsigned per_address, uint64_t timeout_ns);
/* Stop the reaper.  Call before the daemon stops (which closes every
 * connection through smx_conns_closed), then smx_conns_fini. */
void smx_conns_stop(struct smx_conn_guard *g);
void smx_conns_fini(struct smx_conn_guard *g);

/* A connection was accepted: it waits for a request.  Closes (by shutting
 * its socket down) the oldest waiting connection of its address, or of the
 * server, when a limit is passed.  NULL when out of memory (the caller
 * closes the new connection). */
struct smx_conn *smx_conns_opened(struct smx_conn_guard *g, int fd, const struct sockaddr *addr);
/* A whole request arrived on c: it no longer waits. */
void smx_conns_busy(struct smx_conn_guard *g, struct smx_conn *c);
/* The response on c was sent: it waits for the next request. */
void smx_conns_idle(struct smx_conn_guard *g, struct smx_conn *c);
/* The connection is being closed (before its socket is): forget it. */
void smx_conns_closed(struct smx_conn_guard *g, struct smx_conn *c);

void smx_conns_stats(struct smx_conn_guard *g, struct smx_conn_stats *out);

#endif
