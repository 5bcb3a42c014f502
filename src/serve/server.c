/* SPDX-License-Identifier: MIT */
/*
 * src/serve/server.c - owns the HTTP server: the libmicrohttpd daemon, its
 * threading model, request routing, and error responses.
 *
 * Threading: MHD's internal thread pool (one epoll loop per thread, as many
 * threads as online CPUs unless told).  A scrape runs to completion on the
 * thread that accepted the request: collect, encode, compress, respond.
 * The arena is read without locks, so scrapes on different threads do not
 * wait for each other.  Limits: 16 KiB of request memory per connection
 * (longer headers are refused by MHD); the connection limits and the
 * request timeout are the connection guard's (src/serve/conns.c), which
 * MHD tells of every connection opened, answered and closed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "server.h"
#include "webconfig.h"

#define SMX_SERVER_MAGIC UINT32_C(0x56584d53) /* "SMXV", while serving */

struct shmetrics_server {
    uint32_t magic; /* SMX_SERVER_MAGIC until stopped */
    struct MHD_Daemon *daemon;
    struct smx_server_state st;
    unsigned port;
};

enum MHD_Result smx_send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic");
    smx_web_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_metrics(struct smx_server_state *st, struct MHD_Connection *c)
{
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    shmetrics_format_t fmt;
    struct smx_negotiated neg;
    if (smx_negotiate(format, accept, &fmt, &neg) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s\n", shmetrics_errmsg());
        return smx_send_text(c, MHD_HTTP_BAD_REQUEST, msg);
    }
    char *body;
    size_t len;
    if (smx_scrape(st, fmt, neg.flags, &body, &len) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot read the arena: %s\n", shmetrics_errmsg());
        return smx_send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    }
    bool gz = smx_accepts_gzip(enc);
    if (gz) {
        char *z;
        size_t zlen;
        if (smx_gzip(body, len, &z, &zlen) == 0) {
            free(body);
            body = z;
            len = zlen;
        } else {
            gz = false;
        }
    }
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    /* The escaping scheme asked for is echoed, as Prometheus expects. */
    char type[200];
    if (neg.escaping && fmt != SHMETRICS_FORMAT_JSON)
        snprintf(type, sizeof type, "%s; escaping=%s", shmetrics_format_content_type(fmt), neg.escaping);
    else
        snprintf(type, sizeof type, "%s", shmetrics_format_content_type(fmt));
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
    if (gz)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    smx_web_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    struct smx_server_state *st = cls;
    static int seen;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/") == 0;
    /* The first call announces the request.  A refusal is answered there
     * and then: no "100 Continue" invites a body that would be refused
     * (MHD closes the connection if one follows).  A GET or HEAD is
     * answered once it has been read whole (a body, if any, is read and
     * dropped), which lets MHD keep the connection alive. */
    if (*req == NULL) {
        *req = &seen;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci && ci->socket_context)
            smx_conns_busy(&st->conns, ci->socket_context);
        /* The web configuration's client certificate and basic auth. */
        enum MHD_Result refused;
        if (!smx_web_admit(st->web, c, &refused))
            return refused;
        if (!known)
            return smx_send_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
        if (!get)
            return smx_send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n");
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0)
        return smx_send_text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/") == 0)
        return smx_send_text(c, MHD_HTTP_OK,
                             "shmetrics collector\n/metrics  Prometheus text, OpenMetrics (Accept), ?format=json\n"
                             "/healthz  liveness\n");
    return serve_metrics(st, c);
}

/* The connection guard learns of every connection MHD opens and closes
 * (closed is reported before the socket is closed). */
static void on_connection(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_ConnectionNotificationCode what)
{
    struct smx_server_state *st = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!fd)
            return;
        *ctx = smx_conns_opened(&st->conns, fd->connect_fd, ad ? ad->client_addr : NULL);
        if (!*ctx) /* out of memory: this connection is not served */
            shutdown(fd->connect_fd, SHUT_RDWR);
    } else if (*ctx) {
        smx_conns_closed(&st->conns, *ctx);
        *ctx = NULL;
    }
}

/* A request ended (answered, or its connection closed): the connection
 * waits for its next request. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req, enum MHD_RequestTerminationCode why)
{
    (void)req;
    (void)why;
    struct smx_server_state *st = cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context)
        smx_conns_idle(&st->conns, ci->socket_context);
}

/* MHD's messages, at most 10 a minute: a flood must not flood the log. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static uint64_t window_ns, in_window, dropped;
    uint64_t now = smx_mono_ns();
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    if (now - window_ns >= 60000000000u) {
        if (dropped)
            fprintf(stderr, "shmetrics serve: %llu more messages of the HTTP library were not logged\n",
                    (unsigned long long)dropped);
        window_ns = now;
        in_window = dropped = 0;
    }
    if (in_window++ < 10) {
        fputs("shmetrics serve: ", stderr);
        vfprintf(stderr, fmt, ap);
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
}

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s + strlen(s) - 1)
        return smx_fail(-EINVAL, "listen address '%s' is not HOST:PORT", s);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return smx_fail(-EINVAL, "listen address '%s': bad port", s);
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        return smx_fail(-EINVAL, "listen address '%s' is too long", s);
    memcpy(host, s, hl);
    host[hl] = 0;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return smx_fail(-EINVAL, "listen address '%s': bad IPv6 address", s);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (hl == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return smx_fail(-EINVAL, "listen address '%s': '%s' is not an IPv4 address", s, host);
    *len = sizeof *a4;
    return 0;
}

/* The connection limits of `opts`, checked, with the open-file limit
 * raised to hold them; `*mhd_limit` is MHD's own limit, above the guard's
 * so that connections the guard has closed but MHD not yet freed never
 * stop MHD from accepting. */
struct conn_limits {
    unsigned max, per_address, mhd_limit, mhd_timeout_s;
    uint64_t timeout_ns;
};

/* MHD's room for connections the guard closed and MHD has not yet freed. */
static unsigned slack_for(unsigned max)
{
    return max < 256 ? 256 : max > 4096 ? 4096 : max;
}

static int conn_limits(const shmetrics_server_options_t *opts, unsigned threads, struct conn_limits *l)
{
    unsigned max = opts && opts->max_connections ? opts->max_connections : 1024;
    unsigned per = opts && opts->max_connections_per_address ? opts->max_connections_per_address : 256;
    unsigned ms = opts && opts->request_timeout_ms ? opts->request_timeout_ms : 10000;
    bool max_given = opts && opts->max_connections, per_given = opts && opts->max_connections_per_address;
    if (max > 1000000)
        return smx_fail(-EINVAL, "max_connections %u is more than 1,000,000", max);
    if (per_given && per > max)
        return smx_fail(-EINVAL, "max_connections_per_address %u is more than max_connections %u", per, max);
    if (ms > 3600000)
        return smx_fail(-EINVAL, "request_timeout_ms %u is more than an hour", ms);
    /* Descriptors: the connections, MHD's slack, and a reserve for the
     * listening socket, each thread's epoll and wake-up descriptors, the
     * arena and the process's own files.  The slack is as large as the
     * limit (256 to 4,096): under a flood the guard closes connections as
     * fast as they come, and a thread that falls behind freeing them must
     * not reach MHD's own limit, which refuses new connections (a scrape
     * among them) at accept. */
    uint64_t reserve = 64 + 4 * (uint64_t)threads;
    uint64_t need = (uint64_t)max + slack_for(max) + 16 * (uint64_t)threads + reserve;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return smx_fail(-errno, "cannot read the open-file limit: %s", strerror(errno));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (max_given)
            return smx_fail(-EMFILE,
                            "max_connections %u needs %llu open files, and the limit is %llu (hard limit "
                            "%llu): raise it (ulimit -n) or lower max_connections",
                            max, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
                            (unsigned long long)rl.rlim_max);
        uint64_t room = rl.rlim_cur > reserve + 16 * (uint64_t)threads ? rl.rlim_cur - reserve - 16 * threads : 0;
        max = (unsigned)(room / 2);
        while (max > 0 && max + slack_for(max) > room)
            max--;
        if (max < 16)
            return smx_fail(-EMFILE, "the open-file limit %llu leaves room for %u connections, fewer than 16",
                            (unsigned long long)rl.rlim_cur, max);
    }
    if (per > max)
        per = max;
    l->max = max;
    l->per_address = per;
    l->mhd_limit = max + slack_for(max) + 16 * threads;
    l->timeout_ns = (uint64_t)ms * 1000000u;
    /* MHD's idle timeout closes connections stalled while answered; the
     * guard's request timeout acts first on waiting ones. */
    l->mhd_timeout_s = ms / 1000 + 1 > 10 ? ms / 1000 + 1 : 10;
    return 0;
}

int shmetrics_server_start(shmetrics_registry_t *reg, const shmetrics_server_options_t *opts, shmetrics_server_t **out)
{
    if (!reg || !out)
        return smx_fail(-EINVAL, "no registry or out pointer given");
    const char *listen = opts && opts->listen ? opts->listen : "127.0.0.1:9400";
    unsigned threads = opts && opts->threads ? opts->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        return smx_fail(-EINVAL, "%u threads is more than 256", threads);
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = parse_listen(listen, &ss, &sl);
    if (rc < 0)
        return rc;
    struct conn_limits lim = {0};
    if ((rc = conn_limits(opts, threads, &lim)) < 0)
        return rc;
    unsigned sflags = opts ? opts->flags : 0;
    if (sflags & ~SHMETRICS_SERVER_NO_PROCESS_METRICS)
        return smx_fail(-EINVAL, "unknown server flags 0x%x", sflags & ~SHMETRICS_SERVER_NO_PROCESS_METRICS);
    unsigned format_flags = opts ? opts->format_flags : 0;
    if (format_flags & ~SHMETRICS_FORMAT_NO_CREATED)
        return smx_fail(-EINVAL, "unknown format flags 0x%x", format_flags);
    /* TLS, client certificates, basic auth, headers (webconfig.c). */
    struct smx_web *web = NULL;
    if (opts && opts->web_config_file && (rc = smx_web_load(opts->web_config_file, &web)) < 0)
        return rc;
    shmetrics_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        smx_web_free(web);
        return smx_fail(-ENOMEM, "out of memory");
    }
    srv->st.web = web;
    srv->st.format_flags = format_flags;
    /* Scrapes on other threads may still read a registry replaced by a
     * re-attach: it stays mapped until the server stops. */
    if ((rc = smx_reader_init(&srv->st.rd, reg, true)) < 0) {
        smx_web_free(web);
        free(srv);
        return rc;
    }
    srv->st.process_metrics = !(sflags & SHMETRICS_SERVER_NO_PROCESS_METRICS);
    if ((rc = smx_conns_init(&srv->st.conns, lim.max, lim.per_address, lim.timeout_ns)) < 0) {
        smx_reader_fini(&srv->st.rd);
        smx_web_free(web);
        free(srv);
        return rc;
    }
    /* MHD_USE_TURBO: a new connection is read at once, so the request a
     * scraper sends with its connection is parsed as it is accepted: it no
     * longer waits, and the guard cannot take it for a flood's. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
                     smx_web_flags(web);
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv->st, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
                                   MHD_OPTION_CONNECTION_LIMIT, lim.mhd_limit, MHD_OPTION_CONNECTION_TIMEOUT,
                                   lim.mhd_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                                   MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv->st, MHD_OPTION_NOTIFY_COMPLETED,
                                   on_completed, &srv->st, MHD_OPTION_ARRAY, smx_web_options(web), MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        smx_conns_fini(&srv->st.conns);
        smx_reader_fini(&srv->st.rd);
        smx_web_free(web);
        free(srv);
        return smx_fail(e ? -e : -EADDRINUSE, "cannot listen on %s: %s", listen, strerror(e ? e : EADDRINUSE));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    srv->magic = SMX_SERVER_MAGIC;
    *out = srv;
    return 0;
}

unsigned shmetrics_server_port(const shmetrics_server_t *srv)
{
    return smx_check_magic(srv, srv ? srv->magic : 0, SMX_SERVER_MAGIC, "server", __func__) == 0 ? srv->port : 0;
}

const char *shmetrics_server_scheme(const shmetrics_server_t *srv)
{
    if (smx_check_magic(srv, srv ? srv->magic : 0, SMX_SERVER_MAGIC, "server", __func__) < 0)
        return NULL;
    return srv->st.web && srv->st.web->tls ? "https" : "http";
}

void shmetrics_server_stop(shmetrics_server_t *srv)
{
    if (!srv || smx_check_magic(srv, srv->magic, SMX_SERVER_MAGIC, "server", __func__) < 0)
        return;
    srv->magic = 0;
    MHD_stop_daemon(srv->daemon); /* every connection is reported closed */
    smx_conns_fini(&srv->st.conns);
    /* The registry we were given stays the caller's; those opened on a
     * re-attach are ours. */
    smx_reader_fini(&srv->st.rd);
    smx_web_free(srv->st.web);
    free(srv);
}
