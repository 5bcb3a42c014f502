/* SPDX-License-Identifier: MIT */
/*
 * src/serve/conns.c - owns the connection guard: the server's defence
 * against connection floods.
 *
 * The danger.  A connection costs the server a file descriptor and request
 * memory from the moment it is accepted, and libmicrohttpd keeps it until
 * it goes idle for the connection timeout.  A client that opens thousands
 * of connections and sends a partial request on each (or one byte now and
 * then) fills the server's connection limit; the next connection, a
 * Prometheus scrape, then waits in the kernel's accept queue until it
 * times out.  Refusing new connections at a limit does not help: the
 * scrape is a new connection too.
 *
 * The rule.  When a limit is passed, the guard closes the connection that
 * has waited longest for a request, not the newest one.  A scraper sends
 * its request as soon as it connects, so it waits for microseconds; a
 * flood's connections wait until they are closed.  Three limits:
 *   - per client address (`per_address`): a new connection from an
 *     address with too many closes that address's oldest waiting one, so
 *     one address cannot take the connections of the others;
 *   - per server (`max`): the oldest waiting connection of any address;
 *   - the request timeout: a connection whose request has not arrived
 *     whole `timeout_ns` after it opened (or after its previous response
 *     was sent: a keep-alive connection waits for its next request) is
 *     closed by the reaper thread, however slowly the client trickles in
 *     bytes (libmicrohttpd's own timeout restarts at every byte).
 * If no connection of the address (or server) waits, the new one is closed:
 * every other one is being answered.
 *
 * States.  A connection waits (it is on the waiting lists: the server's,
 * oldest first, and its address's) from its opening until its request
 * arrives (smx_conns_busy), and again from the end of each response
 * (smx_conns_idle).  A connection being answered is never closed by the
 * guard.  A closed (shut) connection leaves the lists and stops counting
 * against the limits at once, though libmicrohttpd frees it a little later.
 *
 * Closing another thread's connection.  The guard closes a connection by
 * shutdown(2) of its socket: the thread that owns the connection sees end
 * of file and closes it as it would any other.  The socket is never closed
 * here, and shutdown is called under the guard's lock while the connection
 * is in the guard's table: libmicrohttpd reports a connection closed
 * (smx_conns_closed, which takes the lock) before it closes its socket, so
 * the descriptor cannot have been reused by then.
 *
 * Cost: one mutex, held for a few list operations per connection event.
 * Every operation is O(1) but the address look-up (a hash of the client
 * address, chained in buckets sized for `max` addresses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "conns.h"

struct smx_conn {
    struct smx_conn *prev, *next;   /* the server's waiting list */
    struct smx_conn *aprev, *anext; /* its address's waiting list */
    struct smx_conn_addr *addr;
    uint64_t since_ns; /* when it began to wait */
    int fd;
    bool waiting; /* on the waiting lists */
    bool shut;    /* closed by the guard, not yet freed */
};

struct smx_conn_addr {
    struct smx_conn_addr *next; /* in its bucket */
    uint8_t key[17];            /* family byte, then 4 or 16 address bytes */
    unsigned live;              /* connections not shut */
    unsigned count;             /* connections the guard knows */
    struct smx_conn *whead, *wtail;
};

/* ------------------------------------------------------------ addresses */

/* The key of a client address: an IPv4 address mapped into IPv6 is the
 * IPv4 address; anything else (no address given) is one shared key. */
static void addr_key(const struct sockaddr *sa, uint8_t key[17])
{
    memset(key, 0, 17);
    if (sa && sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            key[0] = 4;
            memcpy(key + 1, a6->s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a6->s6_addr, 16);
        }
    }
}

static unsigned addr_hash(const uint8_t key[17], unsigned nbuckets)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h & (nbuckets - 1);
}

static struct smx_conn_addr *addr_get(struct smx_conn_guard *g, const uint8_t key[17])
{
    struct smx_conn_addr **b = &g->buckets[addr_hash(key, g->nbuckets)];
    for (struct smx_conn_addr *a = *b; a; a = a->next)
        if (memcmp(a->key, key, 17) == 0)
            return a;
    struct smx_conn_addr *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    memcpy(a->key, key, 17);
    a->next = *b;
    *b = a;
    return a;
}

static void addr_put(struct smx_conn_guard *g, struct smx_conn_addr *a)
{
    if (a->count)
        return;
    struct smx_conn_addr **p = &g->buckets[addr_hash(a->key, g->nbuckets)];
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    free(a);
}

/* ------------------------------------------------------- waiting lists */

static void wait_add(struct smx_conn_guard *g, struct smx_conn *c, uint64_t now)
{
    struct smx_conn_addr *a = c->addr;
    c->since_ns = now;
    c->next = NULL;
    c->prev = g->wait_tail;
    if (g->wait_tail)
        g->wait_tail->next = c;
    else
        g->wait_head = c;
    g->wait_tail = c;
    c->anext = NULL;
    c->aprev = a->wtail;
    if (a->wtail)
        a->wtail->anext = c;
    else
        a->whead = c;
    a->wtail = c;
    c->waiting = true;
}

static void wait_del(struct smx_conn_guard *g, struct smx_conn *c)
{
    if (!c->waiting)
        return;
    struct smx_conn_addr *a = c->addr;
    *(c->prev ? &c->prev->next : &g->wait_head) = c->next;
    *(c->next ? &c->next->prev : &g->wait_tail) = c->prev;
    *(c->aprev ? &c->aprev->anext : &a->whead) = c->anext;
    *(c->anext ? &c->anext->aprev : &a->wtail) = c->aprev;
    c->waiting = false;
}

/* Close c by shutting its socket down; its owner thread frees it. */
static void shut(struct smx_conn_guard *g, struct smx_conn *c, enum smx_conn_reason why)
{
    wait_del(g, c);
    c->shut = true;
    c->addr->live--;
    g->live--;
    g->closed[why]++;
    shutdown(c->fd, SHUT_RDWR);
}

/* ------------------------------------------------------------- reaper */

static void *reaper_main(void *arg)
{
    struct smx_conn_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        uint64_t now = smx_mono_ns();
        while (g->wait_head && now - g->wait_head->since_ns >= g->timeout_ns)
            shut(g, g->wait_head, SMX_CONN_TIMEOUT);
        /* Sleep until the oldest waiting connection is due, but at least
         * 10 ms (so a flood of due connections is closed in batches). */
        uint64_t wake = g->wait_head ? g->wait_head->since_ns + g->timeout_ns : now + g->timeout_ns;
        if (wake < now + 10000000u)
            wake = now + 10000000u;
        struct timespec ts = {(time_t)(wake / SMX_NS_PER_SEC), (long)(wake % SMX_NS_PER_SEC)};
        pthread_cond_timedwait(&g->wake, &g->lock, &ts);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ------------------------------------------------------------- public */

int smx_conns_init(struct smx_conn_guard *g, unsigned max, unsigned per_address, uint64_t timeout_ns)
{
    memset(g, 0, sizeof *g);
    g->max = max;
    g->per_address = per_address;
    g->timeout_ns = timeout_ns;
    g->nbuckets = 64;
    while (g->nbuckets < max)
        g->nbuckets *= 2;
    g->buckets = calloc(g->nbuckets, sizeof *g->buckets);
    if (!g->buckets)
        return smx_fail(-ENOMEM, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->lock, NULL);
    int e = pthread_create(&g->reaper, NULL, reaper_main, g);
    if (e) {
        smx_conns_fini(g);
        return smx_fail(-e, "cannot start the connection reaper thread: %s", strerror(e));
    }
    g->reaper_started = true;
    return 0;
}

void smx_conns_stop(struct smx_conn_guard *g)
{
    if (!g->reaper_started)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->reaper, NULL);
    g->reaper_started = false;
}

void smx_conns_fini(struct smx_conn_guard *g)
{
    smx_conns_stop(g);
    /* The daemon has stopped: every connection was reported closed, so
     * every address entry is freed; free what a failed start left. */
    for (unsigned i = 0; g->buckets && i < g->nbuckets; i++)
        while (g->buckets[i]) {
            struct smx_conn_addr *a = g->buckets[i];
            g->buckets[i] = a->next;
            free(a);
        }
    free(g->buckets);
    g->buckets = NULL;
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
}

struct smx_conn *smx_conns_opened(struct smx_conn_guard *g, int fd, const struct sockaddr *sa)
{
    uint8_t key[17];
    addr_key(sa, key);
    struct smx_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    pthread_mutex_lock(&g->lock);
    struct smx_conn_addr *a = addr_get(g, key);
    if (!a) {
        pthread_mutex_unlock(&g->lock);
        free(c);
        return NULL;
    }
    c->addr = a;
    a->count++;
    a->live++;
    g->live++;
    g->open++;
    wait_add(g, c, smx_mono_ns());
    /* The oldest waiting connection goes: another, or this one if every
     * other is being answered. */
    if (a->live > g->per_address)
        shut(g, a->whead, SMX_CONN_PER_ADDRESS);
    else if (g->live > g->max)
        shut(g, g->wait_head, SMX_CONN_LIMIT);
    pthread_mutex_unlock(&g->lock);
    return c;
}

void smx_conns_busy(struct smx_conn_guard *g, struct smx_conn *c)
{
    pthread_mutex_lock(&g->lock);
    wait_del(g, c);
    pthread_mutex_unlock(&g->lock);
}

void smx_conns_idle(struct smx_conn_guard *g, struct smx_conn *c)
{
    pthread_mutex_lock(&g->lock);
    if (!c->shut && !c->waiting)
        wait_add(g, c, smx_mono_ns());
    pthread_mutex_unlock(&g->lock);
}

void smx_conns_closed(struct smx_conn_guard *g, struct smx_conn *c)
{
    pthread_mutex_lock(&g->lock);
    wait_del(g, c);
    if (!c->shut) {
        c->addr->live--;
        g->live--;
    }
    c->addr->count--;
    addr_put(g, c->addr);
    g->open--;
    pthread_mutex_unlock(&g->lock);
    free(c);
}

void smx_conns_stats(struct smx_conn_guard *g, struct smx_conn_stats *out)
{
    pthread_mutex_lock(&g->lock);
    out->open = g->open;
    out->max = g->max;
    memcpy(out->closed, g->closed, sizeof out->closed);
    pthread_mutex_unlock(&g->lock);
}
