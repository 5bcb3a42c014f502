/* SPDX-License-Identifier: MIT */
/*
 * src/serve/webauth.c - owns what the web configuration does to each
 * request: the client certificate check (GnuTLS, on the connection's
 * session), basic auth against bcrypt hashes (libxcrypt's crypt_rn), the
 * cache of verified passwords, the refusals (403, 401), and the configured
 * response headers.
 *
 * The cache: bcrypt costs tens of milliseconds by design, and Prometheus
 * sends the same user and password on every scrape.  A password that
 * bcrypt accepted is remembered as HMAC-SHA256(key, user NUL password),
 * the key random per server and never stored elsewhere, in a table of
 * CACHE_SLOTS entries replaced in turn.  A later request whose HMAC
 * matches an entry of its user is admitted without bcrypt.  Failures are
 * never remembered: every wrong guess pays bcrypt.  An unknown user pays
 * it too (against the first user's hash), so that the answer's timing does
 * not tell which users exist.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "server.h"
#include "webconfig.h"

#define CACHE_SLOTS 64
#define MAC_LEN 32

struct smx_web_cache {
    pthread_mutex_t lock;
    unsigned next; /* the slot the next verified password takes */
    uint8_t key[MAC_LEN];
    uint64_t checks[SMX_AUTH_NRESULTS]; /* atomic: password checks by result */
    struct {
        size_t user; /* index + 1; 0: empty */
        uint8_t mac[MAC_LEN];
    } slot[CACHE_SLOTS];
};

int smx_web_cache_new(struct smx_web *w)
{
    struct smx_web_cache *c = calloc(1, sizeof *c);
    if (!c)
        return smx_fail(-ENOMEM, "out of memory for the password cache");
    if (gnutls_rnd(GNUTLS_RND_KEY, c->key, sizeof c->key) < 0) {
        free(c);
        return smx_fail(-EIO, "no random key for the password cache");
    }
    pthread_mutex_init(&c->lock, NULL);
    w->cache = c;
    return 0;
}

void smx_web_cache_free(struct smx_web *w)
{
    if (!w->cache)
        return;
    pthread_mutex_destroy(&w->cache->lock);
    explicit_bzero(w->cache, sizeof *w->cache);
    free(w->cache);
    w->cache = NULL;
}

static bool same(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

static bool mac_of(const struct smx_web_cache *c, const char *user, const char *pass, uint8_t mac[MAC_LEN])
{
    size_t ul = strlen(user) + 1, pl = strlen(pass);
    char *msg = malloc(ul + pl);
    if (!msg)
        return false;
    memcpy(msg, user, ul);
    memcpy(msg + ul, pass, pl);
    int g = gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->key, sizeof c->key, msg, ul + pl, mac);
    explicit_bzero(msg, ul + pl);
    free(msg);
    return g >= 0;
}

/* Does bcrypt of `pass` with the salt and cost of `hash` give `hash`? */
static bool bcrypt_ok(const char *pass, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return false;
#ifdef CRYPT_OUTPUT_SIZE
    /* libxcrypt: crypt_rn, which the sanitizers do not intercept (their
     * crypt_r wrapper cannot find libxcrypt's versioned symbol). */
    const char *got = crypt_rn(pass, hash, cd, (int)sizeof *cd);
#else
    const char *got = crypt_r(pass, hash, cd);
#endif
    size_t n = strlen(hash);
    bool ok = got && got[0] != '*' && strlen(got) == n && same(got, hash, n);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

static bool password_ok(const struct smx_web *w, const char *user, const char *pass)
{
    size_t u = 0;
    while (u < w->nusers && strcmp(w->users[u].name, user) != 0)
        u++;
    struct smx_web_cache *c = w->cache;
    uint8_t mac[MAC_LEN];
    bool have_mac = u < w->nusers && mac_of(c, user, pass, mac);
    if (have_mac) {
        bool hit = false;
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < CACHE_SLOTS; i++)
            hit |= c->slot[i].user == u + 1 && same(c->slot[i].mac, mac, MAC_LEN);
        pthread_mutex_unlock(&c->lock);
        if (hit) {
            __atomic_add_fetch(&c->checks[SMX_AUTH_CACHED], 1, __ATOMIC_RELAXED);
            return true;
        }
    }
    bool ok = bcrypt_ok(pass, w->users[u < w->nusers ? u : 0].hash) && u < w->nusers;
    __atomic_add_fetch(&c->checks[ok ? SMX_AUTH_VERIFIED : SMX_AUTH_REFUSED], 1, __ATOMIC_RELAXED);
    if (ok && have_mac) {
        pthread_mutex_lock(&c->lock);
        unsigned s = c->next++ % CACHE_SLOTS;
        c->slot[s].user = u + 1;
        memcpy(c->slot[s].mac, mac, MAC_LEN);
        pthread_mutex_unlock(&c->lock);
    }
    explicit_bzero(mac, sizeof mac);
    return ok;
}

static bool basic_auth_ok(const struct smx_web *w, struct MHD_Connection *c)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    bool ok = user && pass && password_ok(w, user, pass);
    if (pass) {
        explicit_bzero(pass, strlen(pass));
        MHD_free(pass);
    }
    if (user)
        MHD_free(user);
    return ok;
}

/* The client certificate the configuration asks for: sent at all
 * (RequireAnyClientCert), or sent and chained to client_ca_file, valid
 * now and not restricted to other purposes than a TLS client's
 * (VerifyClientCertIfGiven when one is sent, RequireAndVerifyClientCert). */
static bool client_cert_ok(const struct smx_web *w, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return false;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    bool sent = gnutls_certificate_get_peers(s, &n) != NULL && n > 0;
    switch (w->client_auth) {
    case SMX_CLIENT_REQUIRE_ANY:
        return sent;
    case SMX_CLIENT_VERIFY_IF_GIVEN:
    case SMX_CLIENT_REQUIRE_VERIFY: {
        if (!sent)
            return w->client_auth == SMX_CLIENT_VERIFY_IF_GIVEN;
        gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
        unsigned status = 1;
        return gnutls_certificate_verify_peers(s, &purpose, 1, &status) == 0 && status == 0;
    }
    default:
        return true;
    }
}

/* The configuration of the daemon this thread serves (each of
 * libmicrohttpd's threads serves one daemon, and answers a connection's
 * every call on the thread that accepted it). */
static _Thread_local const struct smx_web *answering;

void smx_web_headers(struct MHD_Response *r)
{
    const struct smx_web *w = answering;
    for (size_t i = 0; w && i < w->nheaders; i++)
        MHD_add_response_header(r, w->headers[i].name, w->headers[i].value);
}

bool smx_web_admit(const struct smx_web *w, struct MHD_Connection *c, enum MHD_Result *ret)
{
    answering = w;
    if (!w)
        return true;
    if (w->client_auth > SMX_CLIENT_REQUEST && !client_cert_ok(w, c)) {
        *ret = smx_send_text(c, MHD_HTTP_FORBIDDEN, "forbidden: this server requires a valid client certificate\n");
        return false;
    }
    if (w->nusers && !basic_auth_ok(w, c)) {
        *ret = smx_send_text(c, MHD_HTTP_UNAUTHORIZED, "unauthorized\n");
        return false;
    }
    return true;
}

void smx_web_auth_checks(const struct smx_web *w, uint64_t out[SMX_AUTH_NRESULTS])
{
    for (int i = 0; i < SMX_AUTH_NRESULTS; i++)
        out[i] = w && w->cache ? __atomic_load_n(&w->cache->checks[i], __ATOMIC_RELAXED) : 0;
}
