/* SPDX-License-Identifier: MIT */
/*
 * src/serve/webconfig.h - the collector's web configuration file (the
 * format of Prometheus' exporter-toolkit, --web.config.file): what
 * webconfig.c reads and checks at start, and what webauth.c applies to the
 * daemon and to each request (TLS, client certificates, basic auth,
 * response headers).
 */
#ifndef SMX_WEBCONFIG_H
#define SMX_WEBCONFIG_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* client_auth_type, in the order of exporter-toolkit's (Go's) names. */
enum smx_client_auth {
    SMX_CLIENT_NONE,            /* NoClientCert */
    SMX_CLIENT_REQUEST,         /* RequestClientCert: asked for, not checked */
    SMX_CLIENT_REQUIRE_ANY,     /* RequireAnyClientCert: one must be sent */
    SMX_CLIENT_VERIFY_IF_GIVEN, /* VerifyClientCertIfGiven */
    SMX_CLIENT_REQUIRE_VERIFY,  /* RequireAndVerifyClientCert */
};

#define SMX_WEB_MAX_HEADERS 5 /* the headers exporter-toolkit lets one set */
#define SMX_WEB_MAX_OPTIONS 8

struct smx_web_user {
    char *name;
    char *hash; /* bcrypt: $2y$, $2b$ or $2a$ */
};

struct smx_web_cache; /* webauth.c: verified passwords */

struct smx_web {
    bool tls;
    char *cert_pem, *key_pem, *ca_pem; /* NUL-terminated; ca_pem may be NULL */
    enum smx_client_auth client_auth;
    char priorities[96]; /* GnuTLS priority string from the versions */
    struct {
        const char *name; /* static */
        char *value;
    } headers[SMX_WEB_MAX_HEADERS];
    size_t nheaders;
    struct smx_web_user *users;
    size_t nusers;
    struct smx_web_cache *cache;                     /* when nusers > 0 */
    struct MHD_OptionItem opts[SMX_WEB_MAX_OPTIONS]; /* MHD_OPTION_ARRAY */
};

/* What tls_server_config says, and the lines of its keys (0: not given),
 * for the checks webtls.c makes once the whole file is read. */
struct smx_web_tls_keys {
    const char *path; /* the configuration file */
    size_t tls_line, cert_line, key_line, ca_line, auth_line, min_line, max_line;
    char *cert_file, *key_file, *ca_file;
    int min_v, max_v; /* 0..3: TLS10..TLS13 */
    bool prefer_server;
};

extern const char *const smx_web_versions[4];   /* TLS10..TLS13 */
extern const char *const smx_web_auth_types[5]; /* by enum smx_client_auth */

/* -EINVAL with the message "PATH:LINE: what" (webtls.c). */
int smx_web_bad(const char *path, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Read a whole file of at most 1 MiB, NUL-terminated: 0, or -errno
 * (-EFBIG when larger). */
int smx_web_slurp(const char *file, char **out, size_t *len);
/* The checks of a tls_server_config (webtls.c): cert_file and key_file
 * given, client_ca_file and client_auth_type together, the versions in
 * order; the PEM files read into `w` and parsed; the priorities.  -EINVAL
 * "PATH:LINE: what", -ENOTSUP without TLS in libmicrohttpd, -ENOMEM. */
int smx_web_tls_finish(struct smx_web *w, const struct smx_web_tls_keys *k);
/* Fill w->opts for MHD_OPTION_ARRAY (webtls.c). */
void smx_web_tls_options(struct smx_web *w);

/* Read and check the file at `path` (webconfig.c): YAML through libyaml,
 * unknown keys, wrong types, bad values, unreadable or mismatched PEM
 * files, settings shmetrics cannot honour and bad bcrypt hashes are all
 * -EINVAL with "PATH:LINE: what"; a file that cannot be read is its errno;
 * TLS asked of a libmicrohttpd built without it is -ENOTSUP.  On success
 * *out is the configuration (smx_web_free releases it). */
int smx_web_load(const char *path, struct smx_web **out);
void smx_web_free(struct smx_web *w);

/* The daemon flags (MHD_USE_TLS) and the MHD_OPTION_ARRAY items (key,
 * certificate, client CA, priorities) of `w`; none for NULL. */
unsigned smx_web_flags(const struct smx_web *w);
const struct MHD_OptionItem *smx_web_options(const struct smx_web *w);
/* webauth.c.  Prepare the password cache (-ENOMEM, -EIO without random
 * bytes for its key), and release it. */
int smx_web_cache_new(struct smx_web *w);
void smx_web_cache_free(struct smx_web *w);
/* Password checks so far, by result: admitted from the cache, admitted by
 * bcrypt, refused by bcrypt (a wrong password, an unknown user: each pays
 * one bcrypt).  Zeros for NULL or no users.  Any thread. */
enum { SMX_AUTH_CACHED, SMX_AUTH_VERIFIED, SMX_AUTH_REFUSED, SMX_AUTH_NRESULTS };
void smx_web_auth_checks(const struct smx_web *w, uint64_t out[SMX_AUTH_NRESULTS]);

/* Call at the first call of the request handler for a request (the one
 * that announces it).  True when the request may be answered; false when
 * it was refused here (403 without the client certificate the
 * configuration requires, 401 with "WWW-Authenticate: Basic" without the
 * right user and password), *ret then being what the handler returns.
 * NULL `w` admits everything.  It also records `w` for smx_web_headers on
 * this thread. */
bool smx_web_admit(const struct smx_web *w, struct MHD_Connection *c, enum MHD_Result *ret);
/* Add the configured headers (http_server_config.headers) to a response
 * made on this thread, whose daemon's configuration smx_web_admit
 * recorded: libmicrohttpd answers a connection on the thread that
 * accepted it, and each thread serves one daemon. */
void smx_web_headers(struct MHD_Response *r);

#endif
