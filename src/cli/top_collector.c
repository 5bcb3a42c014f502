/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top_collector.c - owns the collector line of `shmetrics top
 * --collector HOST:PORT`: the collector's own figures (scrapes served, the
 * last scrape's duration, its resident memory, its open connections) read
 * from its /metrics at each refresh (libcurl, 500 ms at most), or why they
 * could not be read.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

#define MAX_BODY (64u << 20)

struct body {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t add = size * n;
    if (b->len + add > MAX_BODY)
        return 0; /* ends the transfer: a body this large is not a collector's */
    char *more = realloc(b->data, b->len + add + 1);
    if (!more)
        return 0;
    memcpy(more + b->len, p, add);
    b->data = more;
    b->len += add;
    b->data[b->len] = 0;
    return add;
}

bool top_collector_addr_ok(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    uint32_t port;
    return colon && colon != addr && cli_parse_u32(colon + 1, 1, 65535, &port) && strlen(addr) < 200 &&
           !strpbrk(addr, "/?#@ ");
}

/* The value of the sample `name` (no labels) in a text exposition; NAN
 * when it has none. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

void top_collector_poll(struct top_collector *c)
{
    char url[256];
    snprintf(url, sizeof url, "http://%s/metrics", c->addr);
    struct body b = {0};
    CURL *h = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;
    long status = 0;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 500L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
    }
    c->ok = false;
    if (rc != CURLE_OK)
        snprintf(c->line, sizeof c->line, "collector %s: unreachable (%s)", c->addr, curl_easy_strerror(rc));
    else if (status != 200)
        snprintf(c->line, sizeof c->line, "collector %s: /metrics answered HTTP %ld", c->addr, status);
    else {
        double scrapes = sample(b.data ? b.data : "", "shmetrics_collector_scrapes_total");
        double last = sample(b.data ? b.data : "", "shmetrics_collector_last_scrape_duration_seconds");
        double rss = sample(b.data ? b.data : "", "shmetrics_collector_resident_memory_bytes");
        double conns = sample(b.data ? b.data : "", "shmetrics_collector_connections");
        if (isnan(scrapes))
            snprintf(c->line, sizeof c->line, "collector %s: its /metrics has no shmetrics_collector_scrapes_total",
                     c->addr);
        else {
            char mem[32];
            snprintf(c->line, sizeof c->line,
                     "collector %s: %.0f scrapes served, the last took %.1f ms; %s resident; connections open %.0f",
                     c->addr, scrapes, isnan(last) ? 0 : last * 1e3,
                     isnan(rss) ? "?" : cli_human_bytes((uint64_t)rss, mem, sizeof mem), isnan(conns) ? 0 : conns);
            c->ok = true;
        }
    }
    free(b.data);
}
