/* SPDX-License-Identifier: MIT */
/*
 * src/serve/webtls.c - owns the TLS side of the web configuration: the
 * PEM files tls_server_config names (read relative to the configuration's
 * directory, parsed, the key matched to the certificate and the CA loaded
 * with GnuTLS at start, so that a bad file is named by its line rather
 * than by a failed handshake), the checks of the keys that go together,
 * the GnuTLS priorities from min_version and max_version, and the
 * libmicrohttpd flags and options that serve them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "webconfig.h"

#define FILE_MAX (1u << 20) /* the configuration and each PEM file */

const char *const smx_web_versions[4] = {"TLS10", "TLS11", "TLS12", "TLS13"};
const char *const smx_web_auth_types[5] = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                           "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};

int smx_web_bad(const char *path, size_t line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return smx_fail(-EINVAL, "%s:%zu: %s", path, line, msg);
}

int smx_web_slurp(const char *file, char **out, size_t *len)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return -errno;
    char *buf = malloc(FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, FILE_MAX + 1, f);
    int e = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (e || n > FILE_MAX) {
        free(buf);
        return e ? -e : -EFBIG;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* A file the configuration names: relative to the configuration's own
 * directory, as exporter-toolkit resolves it. */
static int read_pem(const struct smx_web_tls_keys *k, size_t line, const char *key, const char *file, char **out)
{
    char full[4096];
    const char *slash = strrchr(k->path, '/');
    if (file[0] == '/' || !slash)
        snprintf(full, sizeof full, "%s", file);
    else
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - k->path), k->path, file);
    size_t len;
    int rc = smx_web_slurp(full, out, &len);
    if (rc == -ENOMEM)
        return smx_fail(-ENOMEM, "out of memory reading %s", full);
    if (rc < 0)
        return smx_web_bad(k->path, line, "%s '%s': cannot read %s: %s", key, file, full,
                           rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
    if (strlen(*out) != len)
        return smx_web_bad(k->path, line, "%s '%s' holds a NUL byte: not a PEM file", key, file);
    return 0;
}

/* Parse the certificate, the key and the CA with GnuTLS now, so that a
 * bad file is named at start rather than by a failed handshake. */
static int check_pems(struct smx_web *w, const struct smx_web_tls_keys *k)
{
    gnutls_datum_t cert = {(unsigned char *)w->cert_pem, (unsigned)strlen(w->cert_pem)};
    gnutls_datum_t key = {(unsigned char *)w->key_pem, (unsigned)strlen(w->key_pem)};
    gnutls_x509_crt_t *list = NULL;
    unsigned n = 0;
    int g = gnutls_x509_crt_list_import2(&list, &n, &cert, GNUTLS_X509_FMT_PEM, 0);
    for (unsigned i = 0; g >= 0 && i < n; i++)
        gnutls_x509_crt_deinit(list[i]);
    gnutls_free(list);
    if (g < 0 || n == 0)
        return smx_web_bad(k->path, k->cert_line, "cert_file '%s' holds no PEM certificate (%s)", k->cert_file,
                           g < 0 ? gnutls_strerror(g) : "none found");
    gnutls_x509_privkey_t pk;
    if (gnutls_x509_privkey_init(&pk) < 0)
        return smx_fail(-ENOMEM, "out of memory checking %s", k->path);
    g = gnutls_x509_privkey_import2(pk, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_x509_privkey_deinit(pk);
    if (g < 0)
        return smx_web_bad(k->path, k->key_line, "key_file '%s' holds no unencrypted PEM private key (%s)", k->key_file,
                           gnutls_strerror(g));
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return smx_fail(-ENOMEM, "out of memory checking %s", k->path);
    int rc = 0;
    g = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        rc = smx_web_bad(k->path, k->key_line, "key_file '%s' is not the key of the certificate in cert_file '%s'",
                         k->key_file, k->cert_file);
    else if (g < 0)
        rc = smx_web_bad(k->path, k->key_line, "cert_file '%s' and key_file '%s' cannot serve TLS (%s)", k->cert_file,
                         k->key_file, gnutls_strerror(g));
    if (rc == 0 && w->ca_pem) {
        gnutls_datum_t ca = {(unsigned char *)w->ca_pem, (unsigned)strlen(w->ca_pem)};
        g = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (g <= 0)
            rc = smx_web_bad(k->path, k->ca_line, "client_ca_file '%s' holds no PEM certificate (%s)", k->ca_file,
                             g < 0 ? gnutls_strerror(g) : "none found");
    }
    gnutls_certificate_free_credentials(cred);
    return rc;
}

int smx_web_tls_finish(struct smx_web *w, const struct smx_web_tls_keys *k)
{
    if (!k->cert_file || !*k->cert_file)
        return smx_web_bad(k->path, k->tls_line,
                           "tls_server_config has no cert_file (TLS needs cert_file and key_file)");
    if (!k->key_file || !*k->key_file)
        return smx_web_bad(k->path, k->tls_line,
                           "tls_server_config has no key_file (TLS needs cert_file and key_file)");
    bool has_ca = k->ca_file && *k->ca_file;
    if (has_ca && w->client_auth == SMX_CLIENT_NONE)
        return smx_web_bad(k->path, k->ca_line,
                           "client_ca_file is given but client_auth_type is NoClientCert (the default): "
                           "set client_auth_type, e.g. RequireAndVerifyClientCert");
    if (!has_ca && w->client_auth != SMX_CLIENT_NONE)
        return smx_web_bad(k->path, k->auth_line,
                           "client_auth_type %s needs client_ca_file (the CA whose certificates are asked for)",
                           smx_web_auth_types[w->client_auth]);
    if (k->min_v > k->max_v)
        return smx_web_bad(k->path, k->max_line ? k->max_line : k->min_line, "min_version %s is above max_version %s",
                           smx_web_versions[k->min_v], smx_web_versions[k->max_v]);
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return smx_fail(-ENOTSUP, "%s: TLS is configured, but libmicrohttpd here was built without TLS", k->path);
    int rc;
    if ((rc = read_pem(k, k->cert_line, "cert_file", k->cert_file, &w->cert_pem)) < 0 ||
        (rc = read_pem(k, k->key_line, "key_file", k->key_file, &w->key_pem)) < 0 ||
        (has_ca && (rc = read_pem(k, k->ca_line, "client_ca_file", k->ca_file, &w->ca_pem)) < 0) ||
        (rc = check_pems(w, k)) < 0)
        return rc;
    /* Versions min..max; the server's order of suites when asked (Go's
     * default), else the client's (GnuTLS's). */
    size_t n = (size_t)snprintf(w->priorities, sizeof w->priorities, "NORMAL:-VERS-ALL");
    for (int v = k->min_v; v <= k->max_v; v++)
        n += (size_t)snprintf(w->priorities + n, sizeof w->priorities - n, ":+VERS-TLS1.%d", v);
    if (k->prefer_server)
        snprintf(w->priorities + n, sizeof w->priorities - n, ":%%SERVER_PRECEDENCE");
    gnutls_priority_t prio;
    const char *where = NULL;
    int g = gnutls_priority_init(&prio, w->priorities, &where);
    if (g < 0)
        return smx_web_bad(k->path, k->min_line ? k->min_line : k->tls_line, "GnuTLS refuses the priorities %s (%s)",
                           w->priorities, gnutls_strerror(g));
    gnutls_priority_deinit(prio);
    return 0;
}

void smx_web_tls_options(struct smx_web *w)
{
    size_t n = 0;
    if (w->tls) {
        w->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem};
        w->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem};
        w->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, w->priorities};
        /* A trust list makes libmicrohttpd ask clients for a certificate;
         * webauth.c checks it on each request. */
        if (w->ca_pem)
            w->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, w->ca_pem};
    }
    w->opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

unsigned smx_web_flags(const struct smx_web *w)
{
    return w && w->tls ? MHD_USE_TLS : 0;
}

const struct MHD_OptionItem *smx_web_options(const struct smx_web *w)
{
    static const struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    return w ? w->opts : none;
}
