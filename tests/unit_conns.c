/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_conns.c - the HTTP server's connection guard (src/serve/conns.c)
 * on its own, with socket pairs standing for connections: which
 * connection a limit closes, that one being answered is never closed, the
 * request timeout, and IPv4 addresses seen through IPv6.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/serve/conns.h"

#define MS UINT64_C(1000000)

struct pair {
    int server, client;
    struct smx_conn *c;
};

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1234)};
    cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static void open_pair(struct smx_conn_guard *g, struct pair *p, const struct sockaddr *addr)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->server = sv[0];
    p->client = sv[1];
    p->c = smx_conns_opened(g, p->server, addr);
    cr_assert_not_null(p->c);
}

/* Has the guard shut the server side down?  The client then reads end of
 * file at once. */
static bool is_shut(const struct pair *p)
{
    struct pollfd pf = {.fd = p->client, .events = POLLIN};
    if (poll(&pf, 1, 0) != 1)
        return false;
    char b;
    return read(p->client, &b, 1) == 0;
}

static void close_pair(struct smx_conn_guard *g, struct pair *p)
{
    smx_conns_closed(g, p->c);
    close(p->server);
    close(p->client);
}

Test(conns, per_address_limit_closes_the_oldest_waiting_of_that_address)
{
    struct smx_conn_guard g;
    cr_assert_eq(smx_conns_init(&g, 100, 3, 60000 * MS), 0);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    struct pair p[5];
    open_pair(&g, &p[0], (struct sockaddr *)&a);
    open_pair(&g, &p[1], (struct sockaddr *)&b); /* another address: not counted */
    open_pair(&g, &p[2], (struct sockaddr *)&a);
    open_pair(&g, &p[3], (struct sockaddr *)&a);
    for (int i = 0; i < 4; i++)
        cr_assert(!is_shut(&p[i]), "connection %d is open", i);
    open_pair(&g, &p[4], (struct sockaddr *)&a); /* a's fourth: a's oldest goes */
    cr_assert(is_shut(&p[0]));
    cr_assert(!is_shut(&p[1]) && !is_shut(&p[2]) && !is_shut(&p[3]) && !is_shut(&p[4]));
    struct smx_conn_stats st;
    smx_conns_stats(&g, &st);
    cr_assert_eq(st.open, 5); /* p[0] is shut, not yet reported closed */
    cr_assert_eq(st.closed[SMX_CONN_PER_ADDRESS], 1);
    cr_assert_eq(st.closed[SMX_CONN_LIMIT], 0);
    cr_assert_eq(st.closed[SMX_CONN_TIMEOUT], 0);
    for (int i = 0; i < 5; i++)
        close_pair(&g, &p[i]);
    smx_conns_stats(&g, &st);
    cr_assert_eq(st.open, 0);
    smx_conns_fini(&g);
}

Test(conns, a_connection_being_answered_is_never_closed)
{
    struct smx_conn_guard g;
    cr_assert_eq(smx_conns_init(&g, 100, 2, 60000 * MS), 0);
    struct sockaddr_in a = v4("10.0.0.1");
    struct pair p[4];
    open_pair(&g, &p[0], (struct sockaddr *)&a);
    open_pair(&g, &p[1], (struct sockaddr *)&a);
    smx_conns_busy(&g, p[0].c); /* its request arrived */
    open_pair(&g, &p[2], (struct sockaddr *)&a);
    cr_assert(!is_shut(&p[0]), "the busy one stays");
    cr_assert(is_shut(&p[1]), "the oldest waiting one goes");
    smx_conns_busy(&g, p[2].c);
    /* Both others busy: the new connection itself is closed. */
    open_pair(&g, &p[3], (struct sockaddr *)&a);
    cr_assert(is_shut(&p[3]));
    cr_assert(!is_shut(&p[0]) && !is_shut(&p[2]));
    /* Answered: p[0] waits again, and is the oldest waiting. */
    smx_conns_idle(&g, p[0].c);
    close_pair(&g, &p[3]);
    struct pair q;
    open_pair(&g, &q, (struct sockaddr *)&a);
    cr_assert(is_shut(&p[0]));
    cr_assert(!is_shut(&p[2]) && !is_shut(&q));
    struct smx_conn_stats st;
    smx_conns_stats(&g, &st);
    cr_assert_eq(st.closed[SMX_CONN_PER_ADDRESS], 3);
    close_pair(&g, &q);
    for (int i = 0; i < 3; i++)
        close_pair(&g, &p[i]);
    smx_conns_fini(&g);
}

Test(conns, server_limit_closes_the_oldest_waiting_of_any_address)
{
    struct smx_conn_guard g;
    cr_assert_eq(smx_conns_init(&g, 3, 3, 60000 * MS), 0);
    struct sockaddr_in a[4] = {v4("10.0.0.1"), v4("10.0.0.2"), v4("10.0.0.3"), v4("10.0.0.4")};
    struct pair p[4];
    for (int i = 0; i < 4; i++)
        open_pair(&g, &p[i], (struct sockaddr *)&a[i]);
    cr_assert(is_shut(&p[0]));
    cr_assert(!is_shut(&p[1]) && !is_shut(&p[2]) && !is_shut(&p[3]));
    struct smx_conn_stats st;
    smx_conns_stats(&g, &st);
    cr_assert_eq(st.closed[SMX_CONN_LIMIT], 1);
    cr_assert_eq(st.max, 3);
    /* A shut connection stops counting at once: closing it frees no slot
     * twice, and the next new one closes p[1]. */
    close_pair(&g, &p[0]);
    open_pair(&g, &p[0], (struct sockaddr *)&a[0]);
    cr_assert(is_shut(&p[1]));
    for (int i = 0; i < 4; i++)
        close_pair(&g, &p[i]);
    smx_conns_fini(&g);
}

Test(conns, the_request_timeout_closes_waiting_connections_only)
{
    struct smx_conn_guard g;
    cr_assert_eq(smx_conns_init(&g, 100, 100, 200 * MS), 0);
    struct sockaddr_in a = v4("10.0.0.1");
    struct pair waiting, busy;
    open_pair(&g, &waiting, (struct sockaddr *)&a);
    open_pair(&g, &busy, (struct sockaddr *)&a);
    smx_conns_busy(&g, busy.c);
    struct pollfd pf = {.fd = waiting.client, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 5000), 1, "the waiting connection is closed within 5 s");
    cr_assert(is_shut(&waiting));
    usleep(300000);
    cr_assert(!is_shut(&busy), "a connection being answered has no request timeout");
    struct smx_conn_stats st;
    smx_conns_stats(&g, &st);
    cr_assert_eq(st.closed[SMX_CONN_TIMEOUT], 1);
    close_pair(&g, &waiting);
    close_pair(&g, &busy);
    smx_conns_fini(&g);
}

Test(conns, ipv4_through_ipv6_is_the_same_address)
{
    struct smx_conn_guard g;
    cr_assert_eq(smx_conns_init(&g, 100, 1, 60000 * MS), 0);
    struct sockaddr_in a = v4("192.0.2.7");
    struct sockaddr_in6 m = {.sin6_family = AF_INET6};
    cr_assert_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr), 1);
    struct sockaddr_in6 other = {.sin6_family = AF_INET6};
    cr_assert_eq(inet_pton(AF_INET6, "2001:db8::7", &other.sin6_addr), 1);
    struct pair p[3];
    open_pair(&g, &p[0], (struct sockaddr *)&a);
    open_pair(&g, &p[1], (struct sockaddr *)&other);
    cr_assert(!is_shut(&p[0]) && !is_shut(&p[1]), "an IPv6 address is another address");
    open_pair(&g, &p[2], (struct sockaddr *)&m);
    cr_assert(is_shut(&p[0]), "the mapped address counts as 192.0.2.7");
    for (int i = 0; i < 3; i++)
        close_pair(&g, &p[i]);
    smx_conns_fini(&g);
}
