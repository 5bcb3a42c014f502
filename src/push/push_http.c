/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_http.c - owns the HTTP client of the push backends: one libcurl
 * easy handle per pusher (its connection kept alive between pushes), a
 * time limit per request, abort on stop, and error messages that name the
 * URL and what answered.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "push.h"

struct smx_http {
    CURL *curl;
    char *url;
    struct curl_slist *base; /* the caller's headers */
    const int *abort;
    char answer[256]; /* the start of the last answer's body */
    size_t answer_len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct smx_http *h = arg;
    size_t len = size * n, room = sizeof h->answer - 1 - h->answer_len;
    size_t take = len < room ? len : room;
    memcpy(h->answer + h->answer_len, data, take);
    h->answer_len += take;
    h->answer[h->answer_len] = 0;
    return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    const struct smx_http *h = arg;
    return h->abort && __atomic_load_n(h->abort, __ATOMIC_ACQUIRE) ? 1 : 0;
}

int smx_http_url(const char *target, const char *path, char **out)
{
    const char *rest = strncmp(target, "http://", 7) == 0    ? target + 7
                       : strncmp(target, "https://", 8) == 0 ? target + 8
                                                             : NULL;
    if (!rest)
        return smx_fail(-EINVAL, "target '%s' is not an http:// or https:// URL", target);
    if (!*rest || *rest == '/')
        return smx_fail(-EINVAL, "target '%s' has no host", target);
    if (strpbrk(target, " \t\r\n"))
        return smx_fail(-EINVAL, "target '%s' has white space in it", target);
    bool has_path = strchr(rest, '/') != NULL;
    if (asprintf(out, "%s%s", target, has_path ? "" : path) < 0)
        return smx_fail(-ENOMEM, "out of memory");
    return 0;
}

int smx_http_open(const char *url, char *const *headers, size_t nheaders, uint32_t timeout_ms, const int *abort,
                  struct smx_http **out)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return smx_fail(-ENOMEM, "cannot start libcurl: %s", curl_easy_strerror(curl_init_rc));
    struct smx_http *h = calloc(1, sizeof *h);
    if (!h || !(h->url = strdup(url)) || !(h->curl = curl_easy_init())) {
        if (h)
            free(h->url);
        free(h);
        return smx_fail(-ENOMEM, "out of memory for the HTTP client");
    }
    h->abort = abort;
    for (size_t i = 0; i < nheaders; i++) {
        struct curl_slist *l = curl_slist_append(h->base, headers[i]);
        if (!l) {
            smx_http_close(h);
            return smx_fail(-ENOMEM, "out of memory");
        }
        h->base = l;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "shmetrics/" SHMETRICS_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    *out = h;
    return 0;
}

static int curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -ENOENT;
    case CURLE_ABORTED_BY_CALLBACK:
        return -ECANCELED;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return -ECONNRESET;
    default:
        return -EIO;
    }
}

int smx_http_post(struct smx_http *h, const char *const *headers, size_t nheaders, const void *body, size_t len)
{
    /* The request's own headers, then the caller's (which may override
     * them: libcurl sends the last of a name). */
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < nheaders; i++) {
        struct curl_slist *l = curl_slist_append(list, headers[i]);
        if (!l) {
            curl_slist_free_all(list);
            return smx_fail(-ENOMEM, "out of memory");
        }
        list = l;
    }
    for (struct curl_slist *b = h->base; b; b = b->next) {
        struct curl_slist *l = curl_slist_append(list, b->data);
        if (!l) {
            curl_slist_free_all(list);
            return smx_fail(-ENOMEM, "out of memory");
        }
        list = l;
    }
    h->answer_len = 0;
    h->answer[0] = 0;
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(h->curl);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    if (rc != CURLE_OK)
        return smx_fail(curl_errno(rc), "POST %s: %s", h->url, curl_easy_strerror(rc));
    if (status < 200 || status > 299) {
        /* The answer's first line, for the message. */
        h->answer[strcspn(h->answer, "\r\n")] = 0;
        return smx_fail(-EPROTO, "POST %s: HTTP %ld%s%s", h->url, status, h->answer[0] ? ": " : "", h->answer);
    }
    return 0;
}

void smx_http_close(struct smx_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->base);
    free(h->url);
    free(h);
}
