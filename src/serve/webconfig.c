/* SPDX-License-Identifier: MIT */
/*
 * src/serve/webconfig.c - owns reading the web configuration file (the
 * exporter-toolkit format): the YAML, through libyaml's document loader
 * (its marks give the line of every message), the keys exporter-toolkit
 * defines and which of them shmetrics honours, the PEM files they name
 * (read, parsed and matched with GnuTLS at start, by webtls.c), the bcrypt
 * hashes of basic_auth_users.
 *
 * Strict as exporter-toolkit is: an unknown key, a key given twice, a
 * wrong type or value is refused.  Stricter where shmetrics cannot do
 * exactly what a key asks (cipher_suites, curve_preferences,
 * client_allowed_sans, inline PEM, rate_limit): refused with the key and
 * the reason, never ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/error.h"
#include "webconfig.h"

struct parse {
    const char *path;
    yaml_document_t *doc;
    struct smx_web *w;
    struct smx_web_tls_keys t; /* tls_server_config, checked by webtls.c */
};

static const char *const header_names[SMX_WEB_MAX_HEADERS] = {"Content-Security-Policy", "X-Frame-Options",
                                                              "X-Content-Type-Options", "X-XSS-Protection",
                                                              "Strict-Transport-Security"};

static size_t line_of(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

__attribute__((format(printf, 3, 4))) static int bad(const struct parse *p, size_t line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return smx_web_bad(p->path, line, "%s", msg);
}

/* ------------------------------------------------------------ nodes */

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = text(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static int get_string(const struct parse *p, const char *key, const yaml_node_t *v, char **out)
{
    if (v->type != YAML_SCALAR_NODE || is_null(v))
        return bad(p, line_of(v), "%s takes a string", key);
    if (strlen(text(v)) != v->data.scalar.length)
        return bad(p, line_of(v), "%s holds a NUL character", key);
    char *s = strdup(text(v));
    if (!s)
        return smx_fail(-ENOMEM, "out of memory reading %s", p->path);
    free(*out);
    *out = s;
    return 0;
}

/* YAML 1.1 booleans, as exporter-toolkit's YAML library reads them. */
static int get_bool(const struct parse *p, const char *key, const yaml_node_t *v, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
            if (strcmp(text(v), yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcmp(text(v), no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return bad(p, line_of(v), "%s takes true or false", key);
}

static int get_enum(const struct parse *p, const char *key, const yaml_node_t *v, const char *const *names, int n,
                    int *out)
{
    if (v->type == YAML_SCALAR_NODE) {
        for (int i = 0; i < n; i++) {
            if (strcmp(text(v), names[i]) == 0) {
                *out = i;
                return 0;
            }
        }
    }
    char list[200] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return bad(p, line_of(v), "%s '%s' is not one of %s", key, v->type == YAML_SCALAR_NODE ? text(v) : "(not a string)",
               list);
}

/* Walk a mapping whose keys are from `keys` (unknown keys and keys given
 * twice are errors); `fn` reads each value.  A null value stands for an
 * empty mapping. */
typedef int (*pair_fn)(struct parse *p, int key, const yaml_node_t *k, const yaml_node_t *v);

static int each_pair(struct parse *p, const yaml_node_t *map, const char *what, const char *const *keys, int nkeys,
                     pair_fn fn)
{
    if (is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return bad(p, line_of(map), "%s must be a mapping of keys to values", what);
    unsigned seen = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        if (k->type != YAML_SCALAR_NODE)
            return bad(p, line_of(k), "a key of %s is not a string", what);
        int i = 0;
        while (i < nkeys && strcmp(text(k), keys[i]) != 0)
            i++;
        if (i == nkeys)
            return bad(p, line_of(k), "unknown key '%s' in %s", text(k), what);
        if (seen & (1u << i))
            return bad(p, line_of(k), "'%s' is given twice in %s", keys[i], what);
        seen |= 1u << i;
        int rc = fn(p, i, k, v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------- tls_server_config */

enum {
    T_CERT_FILE,
    T_KEY_FILE,
    T_CA_FILE,
    T_AUTH,
    T_MIN,
    T_MAX,
    T_PREFER,
    T_CIPHERS,
    T_CURVES,
    T_SANS,
    T_CERT,
    T_KEY,
    T_CA,
    T_N
};
static const char *const tls_keys[T_N] = {"cert_file",
                                          "key_file",
                                          "client_ca_file",
                                          "client_auth_type",
                                          "min_version",
                                          "max_version",
                                          "prefer_server_cipher_suites",
                                          "cipher_suites",
                                          "curve_preferences",
                                          "client_allowed_sans",
                                          "cert",
                                          "key",
                                          "client_ca"};

static int tls_pair(struct parse *p, int key, const yaml_node_t *k, const yaml_node_t *v)
{
    const char *name = tls_keys[key];
    switch (key) {
    case T_CERT_FILE:
        p->t.cert_line = line_of(k);
        return get_string(p, name, v, &p->t.cert_file);
    case T_KEY_FILE:
        p->t.key_line = line_of(k);
        return get_string(p, name, v, &p->t.key_file);
    case T_CA_FILE:
        p->t.ca_line = line_of(k);
        return get_string(p, name, v, &p->t.ca_file);
    case T_AUTH: {
        int a = SMX_CLIENT_NONE;
        p->t.auth_line = line_of(k);
        int rc = get_enum(p, name, v, smx_web_auth_types, 5, &a);
        p->w->client_auth = (enum smx_client_auth)a;
        return rc;
    }
    case T_MIN:
        p->t.min_line = line_of(k);
        return get_enum(p, name, v, smx_web_versions, 4, &p->t.min_v);
    case T_MAX:
        p->t.max_line = line_of(k);
        return get_enum(p, name, v, smx_web_versions, 4, &p->t.max_v);
    case T_PREFER:
        return get_bool(p, name, v, &p->t.prefer_server);
    case T_CIPHERS:
    case T_CURVES:
    case T_SANS:
        if (is_null(v) || (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.start == v->data.sequence.items.top))
            return 0; /* empty: the defaults, as when absent */
        if (v->type != YAML_SEQUENCE_NODE)
            return bad(p, line_of(v), "%s takes a list", name);
        if (key == T_SANS)
            return bad(p, line_of(k),
                       "client_allowed_sans is not supported by shmetrics: client certificates are checked against "
                       "client_ca_file only; remove it, or give each client a certificate from its own CA");
        return bad(p, line_of(k),
                   "%s is not supported by shmetrics: its TLS library (GnuTLS) names and orders them otherwise, "
                   "and its defaults apply; remove the key",
                   name);
    default: /* inline PEM */
        if (is_null(v) || (v->type == YAML_SCALAR_NODE && !*text(v)))
            return 0;
        return bad(p, line_of(k), "inline %s is not supported by shmetrics: give the PEM in a file with %s_file", name,
                   name);
    }
}

/* --------------------------------------------------- http_server_config */

static int header_pair(struct parse *p, int key, const yaml_node_t *k, const yaml_node_t *v)
{
    (void)k;
    struct smx_web *w = p->w;
    const char *name = header_names[key];
    if (is_null(v))
        return 0;
    char *val = NULL;
    int rc = get_string(p, name, v, &val);
    if (rc < 0)
        return rc;
    for (const char *c = val; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            free(val);
            return bad(p, line_of(v), "the value of %s holds a control character", name);
        }
    }
    if ((key == 1 && strcmp(val, "deny") != 0 && strcmp(val, "sameorigin") != 0) ||
        (key == 2 && strcmp(val, "nosniff") != 0)) {
        rc = bad(p, line_of(v), "%s '%s' is not one of %s", name, val, key == 1 ? "deny, sameorigin" : "nosniff");
        free(val);
        return rc;
    }
    if (!*val) {
        free(val); /* blank: unset */
        return 0;
    }
    w->headers[w->nheaders].name = name;
    w->headers[w->nheaders++].value = val;
    return 0;
}

static int headers_map(struct parse *p, const yaml_node_t *map)
{
    /* Names exporter-toolkit lets one set, exactly as it spells them. */
    if (map->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
            const yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
            bool known = false;
            for (int i = 0; k->type == YAML_SCALAR_NODE && i < SMX_WEB_MAX_HEADERS; i++)
                known |= strcmp(text(k), header_names[i]) == 0;
            if (!known && k->type == YAML_SCALAR_NODE)
                return bad(p, line_of(k),
                           "HTTP header '%s' cannot be configured (only Content-Security-Policy, X-Frame-Options, "
                           "X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security)",
                           text(k));
        }
    }
    return each_pair(p, map, "headers", header_names, SMX_WEB_MAX_HEADERS, header_pair);
}

static int http_pair(struct parse *p, int key, const yaml_node_t *k, const yaml_node_t *v)
{
    (void)k;
    if (key == 0) {
        bool http2; /* accepted; HTTP/1.1 only (no ALPN protocol is selected) */
        return get_bool(p, "http2", v, &http2);
    }
    return headers_map(p, v);
}

/* ----------------------------------------------------- basic_auth_users */

/* $2a$, $2b$ or $2y$, a cost of 04 to 31, 22 characters of salt and 31 of
 * hash from bcrypt's alphabet. */
static bool is_bcrypt(const char *h)
{
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$')
        return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
        return false;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    return strspn(h + 7, "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 53;
}

static int users_map(struct parse *p, const yaml_node_t *map)
{
    struct smx_web *w = p->w;
    if (is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return bad(p, line_of(map), "basic_auth_users must be a mapping of user names to bcrypt hashes");
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0)
        return 0;
    w->users = calloc(n, sizeof *w->users);
    if (!w->users)
        return smx_fail(-ENOMEM, "out of memory reading %s", p->path);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        struct smx_web_user *u = &w->users[w->nusers];
        int rc = get_string(p, "a user name of basic_auth_users", k, &u->name);
        if (rc < 0)
            return rc;
        w->nusers++;
        if (!*u->name || strchr(u->name, ':'))
            return bad(p, line_of(k), "user name '%s' of basic_auth_users cannot be sent by Basic auth (%s)", u->name,
                       *u->name ? "it holds ':'" : "it is empty");
        for (size_t i = 0; i + 1 < w->nusers; i++)
            if (strcmp(w->users[i].name, u->name) == 0)
                return bad(p, line_of(k), "user '%s' is given twice in basic_auth_users", u->name);
        if ((rc = get_string(p, "the hash of a user of basic_auth_users", v, &u->hash)) < 0)
            return rc;
        if (!is_bcrypt(u->hash))
            return bad(p, line_of(v),
                       "the password hash of user '%s' is not a bcrypt hash ($2y$, $2b$ or $2a$, a cost of 04 to 31, "
                       "53 characters of salt and hash)",
                       u->name);
    }
    return 0;
}

/* ------------------------------------------------------------ the file */

static int root_pair(struct parse *p, int key, const yaml_node_t *k, const yaml_node_t *v)
{
    switch (key) {
    case 0:
        p->t.tls_line = line_of(k);
        p->w->tls = !is_null(v) &&
                    !(v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.start == v->data.mapping.pairs.top);
        return each_pair(p, v, "tls_server_config", tls_keys, T_N, tls_pair);
    case 1:
        return each_pair(p, v, "http_server_config", (const char *const[]){"http2", "headers"}, 2, http_pair);
    case 2:
        return users_map(p, v);
    default:
        return bad(p, line_of(k), "rate_limit is not supported by shmetrics; remove it");
    }
}

static const char *const root_keys[] = {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"};

static int parse_text(struct parse *p, const char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return smx_fail(-ENOMEM, "out of memory reading %s", p->path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = bad(p, parser.problem_mark.line + 1, "not valid YAML: %s%s%s", parser.problem ? parser.problem : "error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    p->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE)
            rc = bad(p, line_of(root),
                     "the file must be a mapping of tls_server_config, http_server_config and "
                     "basic_auth_users");
        else
            rc = each_pair(p, root, "the file", root_keys, 4, root_pair);
    }
    yaml_document_delete(&doc);
    /* One document: a second one would be ignored by exporter-toolkit. */
    if (rc == 0 && root) {
        if (!yaml_parser_load(&parser, &doc)) {
            rc = bad(p, parser.problem_mark.line + 1, "not valid YAML: %s", parser.problem ? parser.problem : "error");
        } else {
            yaml_node_t *second = yaml_document_get_root_node(&doc);
            if (second)
                rc = bad(p, line_of(second), "a second YAML document: the file must hold one");
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

int smx_web_load(const char *path, struct smx_web **out)
{
    if (!path || !*path)
        return smx_fail(-EINVAL, "no web configuration file named");
    char *buf;
    size_t len;
    int rc = smx_web_slurp(path, &buf, &len);
    if (rc == -EFBIG)
        return smx_fail(-EINVAL, "web configuration file %s is larger than 1 MiB", path);
    if (rc < 0)
        return smx_fail(rc, "cannot read the web configuration file %s: %s", path, strerror(-rc));
    struct smx_web *w = calloc(1, sizeof *w);
    if (!w) {
        free(buf);
        return smx_fail(-ENOMEM, "out of memory reading %s", path);
    }
    struct parse p = {.path = path, .w = w, .t = {.path = path, .min_v = 2, .max_v = 3, .prefer_server = true}};
    rc = parse_text(&p, buf, len);
    if (rc == 0 && w->tls)
        rc = smx_web_tls_finish(w, &p.t);
    if (rc == 0 && w->nusers)
        rc = smx_web_cache_new(w);
    free(buf);
    free(p.t.cert_file);
    free(p.t.key_file);
    free(p.t.ca_file);
    if (rc < 0) {
        smx_web_free(w);
        return rc;
    }
    smx_web_tls_options(w);
    *out = w;
    return 0;
}

void smx_web_free(struct smx_web *w)
{
    if (!w)
        return;
    smx_web_cache_free(w);
    free(w->cert_pem);
    if (w->key_pem) {
        explicit_bzero(w->key_pem, strlen(w->key_pem));
        free(w->key_pem);
    }
    free(w->ca_pem);
    for (size_t i = 0; i < w->nheaders; i++)
        free(w->headers[i].value);
    for (size_t i = 0; i < w->nusers; i++) {
        free(w->users[i].name);
        free(w->users[i].hash);
    }
    free(w->users);
    free(w);
}
