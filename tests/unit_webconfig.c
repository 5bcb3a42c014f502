/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_webconfig.c - the web configuration file through
 * shmetrics_server_start: each kind of malformed or unsupported file is
 * refused with -EINVAL and the exact "FILE:LINE: what" message; a file
 * that cannot be read is its errno; the files that need no certificate
 * (empty, basic auth only) start a plain HTTP server.  The TLS files
 * themselves (certificates, keys, CAs made by openssl) are tested by
 * tests/tls_test.py.
 */
#include <sys/stat.h>

#include "common.h"

static char dir[64];
static shmetrics_registry_t *reg;
static const char *arena;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/shmetrics-webconfig-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    arena = test_arena_path("webconfig");
    reg = test_open(arena, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Write `text` (len bytes, or strlen) to DIR/name; returns the path. */
static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[2][128];
    static int turn;
    char *p = path[turn++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len ? len : strlen(text), f), len ? len : strlen(text));
    cr_assert_eq(fclose(f), 0);
    return p;
}

static int start(const char *file, shmetrics_server_t **srv)
{
    shmetrics_server_options_t so = {.listen = "127.0.0.1:0", .threads = 2, .web_config_file = file};
    return shmetrics_server_start(reg, &so, srv);
}

/* The file holding `yaml` is refused with -EINVAL and "FILE:" + `want`. */
static void refused(const char *yaml, const char *want)
{
    const char *file = write_file("web.yml", yaml, 0);
    shmetrics_server_t *srv = NULL;
    int rc = start(file, &srv);
    cr_assert_eq(rc, -EINVAL, "rc %d for:\n%s", rc, yaml);
    cr_assert_null(srv);
    char full[600];
    snprintf(full, sizeof full, "%s:%s", file, want);
    cr_assert_str_eq(shmetrics_errmsg(), full);
}

#define HASH "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"

TestSuite(webconfig, .init = setup, .fini = teardown);

Test(webconfig, yaml_syntax_names_the_line)
{
    refused("tls_server_config:\n  cert_file: a\n    key_file: b\n",
            "3: not valid YAML: mapping values are not allowed in this context");
    refused("basic_auth_users:\n  alice: \"" HASH "\n", "3: not valid YAML: found unexpected end of stream while "
                                                        "scanning a quoted scalar");
    refused("basic_auth_users: {}\n---\nbasic_auth_users: {}\n", "3: a second YAML document: the file must hold one");
    refused("- tls_server_config\n", "1: the file must be a mapping of tls_server_config, http_server_config and "
                                     "basic_auth_users");
}

Test(webconfig, unknown_and_repeated_keys)
{
    refused("# a comment\nweb:\n  x: 1\n", "2: unknown key 'web' in the file");
    refused("tls_server_config:\n  cert_file: a\n  cert_flie: b\n", "3: unknown key 'cert_flie' in tls_server_config");
    refused("http_server_config:\n  http3: true\n", "2: unknown key 'http3' in http_server_config");
    refused("tls_server_config:\n  min_version: TLS12\n  min_version: TLS13\n",
            "3: 'min_version' is given twice in tls_server_config");
    refused("basic_auth_users:\n  alice: " HASH "\n  alice: " HASH "\n",
            "3: user 'alice' is given twice in basic_auth_users");
    refused("http_server_config:\n  headers:\n    X-Foo: a\n",
            "3: HTTP header 'X-Foo' cannot be configured (only Content-Security-Policy, X-Frame-Options, "
            "X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security)");
    refused("http_server_config:\n  headers:\n    x-frame-options: deny\n",
            "3: HTTP header 'x-frame-options' cannot be configured (only Content-Security-Policy, X-Frame-Options, "
            "X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security)");
}

Test(webconfig, wrong_types_and_values)
{
    refused("http_server_config:\n  http2: maybe\n", "2: http2 takes true or false");
    refused("tls_server_config:\n  cert_file: [a, b]\n", "2: cert_file takes a string");
    refused("tls_server_config:\n  cert_file: \"a\\0b\"\n", "2: cert_file holds a NUL character");
    refused("tls_server_config: yes\n", "1: tls_server_config must be a mapping of keys to values");
    refused("basic_auth_users:\n  - alice\n", "2: basic_auth_users must be a mapping of user names to bcrypt hashes");
    refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
            "4: min_version 'TLS14' is not one of TLS10, TLS11, TLS12, TLS13");
    refused("tls_server_config:\n  client_auth_type: RequireClientCert\n",
            "2: client_auth_type 'RequireClientCert' is not one of NoClientCert, RequestClientCert, "
            "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert");
    refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: TLS_AES_128_GCM_SHA256\n",
            "4: cipher_suites takes a list");
    refused("http_server_config:\n  headers:\n    X-Frame-Options: DENY\n",
            "3: X-Frame-Options 'DENY' is not one of deny, sameorigin");
    refused("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
            "3: X-Content-Type-Options 'sniff' is not one of nosniff");
    refused("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
            "3: the value of Content-Security-Policy holds a control character");
}

Test(webconfig, bad_bcrypt_hashes_and_users)
{
    const char *why = "is not a bcrypt hash ($2y$, $2b$ or $2a$, a cost of 04 to 31, 53 characters of salt and hash)";
    char want[300];
    snprintf(want, sizeof want, "2: the password hash of user 'alice' %s", why);
    refused("basic_auth_users:\n  alice: $2y$10$short\n", want);
    refused("basic_auth_users:\n  alice: $1$abcdefgh$0123456789012345678901\n", want);
    refused("basic_auth_users:\n  alice: plain-password\n", want);
    /* A cost of 03 and of 32: outside bcrypt's range. */
    refused("basic_auth_users:\n  alice: $2y$03$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n", want);
    refused("basic_auth_users:\n  alice: $2y$32$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n", want);
    snprintf(want, sizeof want, "3: the password hash of user 'bob' %s", why);
    refused("basic_auth_users:\n  alice: " HASH
            "\n  bob: $2x$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n",
            want);
    refused("basic_auth_users:\n  alice:\n", "2: the hash of a user of basic_auth_users takes a string");
    refused("basic_auth_users:\n  'a:b': " HASH "\n",
            "2: user name 'a:b' of basic_auth_users cannot be sent by Basic auth (it holds ':')");
    refused("basic_auth_users:\n  '': " HASH "\n",
            "2: user name '' of basic_auth_users cannot be sent by Basic auth (it is empty)");
}

Test(webconfig, settings_shmetrics_cannot_honour_are_refused)
{
    refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n",
            "4: cipher_suites is not supported by shmetrics: its TLS library (GnuTLS) names and orders them "
            "otherwise, and its defaults apply; remove the key");
    refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [X25519]\n",
            "4: curve_preferences is not supported by shmetrics: its TLS library (GnuTLS) names and orders them "
            "otherwise, and its defaults apply; remove the key");
    refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans:\n    - client.example\n",
            "4: client_allowed_sans is not supported by shmetrics: client certificates are checked against "
            "client_ca_file only; remove it, or give each client a certificate from its own CA");
    refused("tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n",
            "2: inline cert is not supported by shmetrics: give the PEM in a file with cert_file");
    refused("tls_server_config:\n  cert_file: a\n  key: x\n",
            "3: inline key is not supported by shmetrics: give the PEM in a file with key_file");
    refused("tls_server_config:\n  client_ca: x\n",
            "2: inline client_ca is not supported by shmetrics: give the PEM in a file with client_ca_file");
    refused("basic_auth_users: {}\nrate_limit:\n  interval: 1s\n  burst: 20\n",
            "2: rate_limit is not supported by shmetrics; remove it");
}

Test(webconfig, tls_settings_that_do_not_fit_together)
{
    refused("\ntls_server_config:\n  min_version: TLS13\n",
            "2: tls_server_config has no cert_file (TLS needs cert_file and key_file)");
    /* Empty lists and empty inline keys set nothing, but a mapping that
     * names them asks for TLS. */
    refused("tls_server_config:\n  client_allowed_sans: []\n  cipher_suites:\n  cert:\n  cert_file: ''\n",
            "1: tls_server_config has no cert_file (TLS needs cert_file and key_file)");
    refused("tls_server_config:\n  cert_file: s.crt\n", "1: tls_server_config has no key_file (TLS needs cert_file and "
                                                        "key_file)");
    refused("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_ca_file: ca.crt\n",
            "4: client_ca_file is given but client_auth_type is NoClientCert (the default): set client_auth_type, "
            "e.g. RequireAndVerifyClientCert");
    refused(
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth_type: RequireAndVerifyClientCert\n",
        "4: client_auth_type RequireAndVerifyClientCert needs client_ca_file (the CA whose certificates are "
        "asked for)");
    refused("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth_type: RequestClientCert\n",
            "4: client_auth_type RequestClientCert needs client_ca_file (the CA whose certificates are asked for)");
    refused("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  min_version: TLS13\n  max_version: TLS12\n",
            "5: min_version TLS13 is above max_version TLS12");
}

Test(webconfig, unreadable_pem_files)
{
    char want[400];
    snprintf(want, sizeof want, "2: cert_file 'missing.crt': cannot read %s/missing.crt: No such file or directory",
             dir);
    refused("tls_server_config:\n  cert_file: missing.crt\n  key_file: s.key\n", want);
    /* Absolute paths stay as they are. */
    snprintf(want, sizeof want,
             "2: cert_file '/nonexistent/s.crt': cannot read /nonexistent/s.crt: No such file or "
             "directory");
    refused("tls_server_config:\n  cert_file: /nonexistent/s.crt\n  key_file: s.key\n", want);
    write_file("nul.crt", "-----BEGIN\0", 11);
    refused("tls_server_config:\n  cert_file: nul.crt\n  key_file: s.key\n",
            "2: cert_file 'nul.crt' holds a NUL byte: not a PEM file");
    char *big = malloc((1u << 20) + 2);
    cr_assert_not_null(big);
    memset(big, 'A', (1u << 20) + 1);
    big[(1u << 20) + 1] = 0;
    write_file("big.crt", big, 0);
    snprintf(want, sizeof want, "2: cert_file 'big.crt': cannot read %s/big.crt: larger than 1 MiB", dir);
    refused("tls_server_config:\n  cert_file: big.crt\n  key_file: s.key\n", want);
    /* The configuration itself: too large is -EINVAL, missing its errno. */
    const char *file = write_file("big.yml", big, 0);
    free(big);
    shmetrics_server_t *srv = NULL;
    cr_assert_eq(start(file, &srv), -EINVAL);
    snprintf(want, sizeof want, "web configuration file %s is larger than 1 MiB", file);
    cr_assert_str_eq(shmetrics_errmsg(), want);
    char none[128], msg[400];
    snprintf(none, sizeof none, "%s/none.yml", dir);
    cr_assert_eq(start(none, &srv), -ENOENT);
    snprintf(msg, sizeof msg, "cannot read the web configuration file %s: No such file or directory", none);
    cr_assert_str_eq(shmetrics_errmsg(), msg);
    cr_assert_eq(start("", &srv), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "no web configuration file named");
    cr_assert_null(srv);
}

Test(webconfig, files_without_tls_serve_http)
{
    static const char *const ok[] = {
        "",
        "# nothing but a comment\n",
        "basic_auth_users:\n  alice: " HASH "\n",
        "tls_server_config:\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n",
        "tls_server_config: {}\nbasic_auth_users: {}\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        shmetrics_server_t *srv = NULL;
        int rc = start(write_file("web.yml", ok[i], 0), &srv);
        cr_assert_eq(rc, 0, "file %zu: %s", i, shmetrics_errmsg());
        cr_assert_str_eq(shmetrics_server_scheme(srv), "http");
        cr_assert_gt(shmetrics_server_port(srv), 0);
        shmetrics_server_stop(srv);
    }
    cr_assert_null(shmetrics_server_scheme(NULL));
    cr_assert_str_eq(shmetrics_errmsg(), "shmetrics_server_scheme: no server given");
}
