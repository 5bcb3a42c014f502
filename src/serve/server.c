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
 * (longer headers are refused by MHD), 1,024 connections, a 10 s idle
 * timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
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
    if (smx_negotiate(format, accept, &fmt) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s\n", shmetrics_errmsg());
        return send_text(c, MHD_HTTP_BAD_REQUEST, msg);
    }
    char *body;
    size_t len;
    if (smx_scrape(st, fmt, &body, &len) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot read the arena: %s\n", shmetrics_errmsg());
        return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
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
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, shmetrics_format_content_type(fmt));
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
    /* The web configuration's client certificate and basic auth checks. */
    enum MHD_Result refused;
    if (!smx_web_admit(st->web, c, *req == NULL, &refused))
        return refused;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/") == 0;
    /* The first call announces the request.  A refusal is answered there
     * and then: no "100 Continue" invites a body that would be refused
     * (MHD closes the connection if one follows).  A GET or HEAD is
     * answered once it has been read whole (a body, if any, is read and
     * dropped), which lets MHD keep the connection alive. */
    if (*req == NULL) {
        *req = &seen;
        if (!known)
            return send_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
        if (!get)
            return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n");
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0)
        return send_text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/") == 0)
        return send_text(c, MHD_HTTP_OK,
                         "shmetrics collector\n/metrics  Prometheus text, OpenMetrics (Accept), ?format=json\n"
                         "/healthz  liveness\n");
    return serve_metrics(st, c);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("shmetrics serve: ", stderr);
    vfprintf(stderr, fmt, ap);
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
    /* Scrapes on other threads may still read a registry replaced by a
     * re-attach: it stays mapped until the server stops. */
    if ((rc = smx_reader_init(&srv->st.rd, reg, true)) < 0) {
        smx_web_free(web);
        free(srv);
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | smx_web_flags(web);
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv->st, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
                                   MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_ARRAY,
                                   smx_web_options(web), MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
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
    MHD_stop_daemon(srv->daemon);
    /* The registry we were given stays the caller's; those opened on a
     * re-attach are ours. */
    smx_reader_fini(&srv->st.rd);
    smx_web_free(srv->st.web);
    free(srv);
}
