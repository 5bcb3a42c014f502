/* SPDX-License-Identifier: MIT */
/*
 * bench/formats.c - what each exposition format costs for one exposition
 * of 1,000 histogram series (vLLM's 21 latency buckets, 2 labels: 24,000
 * samples): the encoding alone (shmetrics_format on one snapshot, in CPU
 * time of the calling thread), its size raw and gzipped (zlib level 1, as
 * the collector compresses), and a whole scrape over HTTP on 127.0.0.1
 * from shmetrics_server_start (two request threads; wall time from the
 * request to the last byte, collect and the collector's own metrics
 * included), plain and with Accept-Encoding: gzip.  Each figure is the
 * median of 15 runs after one warm-up.
 *
 * usage: formats [SERIES]
 *
 * Then the same series as native histograms (schema 3, no classic
 * buckets), which only protobuf carries: its encoding and scrape against
 * the classic series' text, the comparison Prometheus users make when they
 * switch a histogram to native buckets.
 *
 * Prints one JSON object per format and the ratios of protobuf to text.
 * Uses the public API only (and zlib for the sizes).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "shmetrics.h"

#define RUNS 15

static const double latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
#define NLATENCY (sizeof latency_buckets / sizeof latency_buckets[0])

static void die(const char *what)
{
    fprintf(stderr, "formats: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

static void fill(shmetrics_registry_t *reg, long n, bool native)
{
    const char *lbl[] = {"handler", "code"};
    shmetrics_spec_t hs = {.name = "bench_request_seconds",
                           .help = "Request latency.",
                           .label_names = lbl,
                           .nlabels = 2,
                           .buckets = latency_buckets,
                           .nbuckets = NLATENCY,
                           .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    if (native) {
        hs.buckets = NULL;
        hs.nbuckets = 0;
        hs.native = SHMETRICS_HISTOGRAM_NATIVE;
        hs.native_schema = 3;
    }
    shmetrics_histogram_t *h;
    if (shmetrics_histogram_register(reg, &hs, &h) < 0)
        die("register");
    char handler[64];
    for (long i = 0; i < n; i++) {
        shmetrics_histogram_series_t *s;
        snprintf(handler, sizeof handler, "/api/v1/resource/%ld", i);
        if (shmetrics_histogram_labels(h, &s, handler, "200", NULL) < 0)
            die("labels");
        for (long k = 0; k < 1 + i % 50; k++)
            shmetrics_histogram_observe(s, 0.1 * (double)((i + k) % 200) + 0.05);
    }
}

static size_t gzip_size(const char *in, size_t len)
{
    uLongf cap = compressBound((uLong)len) + 32;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    if (!out || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("gzip");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    free(out);
    return n;
}

/* One GET on 127.0.0.1:port; returns the wall time in ns and the bytes
 * received (headers included) in *bytes. */
static double http_get(unsigned port, const char *format, bool gz, size_t *bytes)
{
    char req[256];
    snprintf(req, sizeof req, "GET /metrics?format=%s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", format,
             gz ? "Accept-Encoding: gzip\r\n" : "");
    double t0 = bench_now_ns();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write(fd, req, strlen(req)) < 0) {
        perror("formats: request");
        exit(1);
    }
    static char buf[1 << 16];
    size_t total = 0;
    for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;)
        total += (size_t)r;
    close(fd);
    *bytes = total;
    return bench_now_ns() - t0;
}

static double http_median(unsigned port, const char *format, bool gz, size_t *bytes)
{
    double v[RUNS];
    http_get(port, format, gz, bytes);
    for (int i = 0; i < RUNS; i++)
        v[i] = http_get(port, format, gz, bytes);
    return bench_median(v, RUNS);
}

/* One arena of n series: its encodings and scrapes in the formats given
 * (medians in ms), printed as JSON lines tagged `tag`. */
struct figures {
    double enc, scrape, scrape_gz;
    size_t size, gsize;
};

static void measure(long n, bool native, const char *const *names, int nformats, struct figures *out,
                    const struct figures *text)
{
    char path[80];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-formats-%d%s", (int)getpid(), native ? "-native" : "");
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        die("open");
    fill(reg, n, native);
    shmetrics_snapshot_t *snap;
    if (shmetrics_collect(reg, &snap) < 0)
        die("collect");
    size_t samples = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        samples += snap->families[i].nsamples;

    shmetrics_server_options_t so = {.listen = "127.0.0.1:0", .threads = 2};
    shmetrics_server_t *srv;
    if (shmetrics_server_start(reg, &so, &srv) < 0)
        die("server");
    unsigned port = shmetrics_server_port(srv);
    for (int f = 0; f < nformats; f++) {
        shmetrics_format_t fmt;
        if (shmetrics_format_parse(names[f], &fmt) < 0)
            die("format name");
        double v[RUNS];
        char *body;
        struct figures *r = &out[f];
        for (int i = -1; i < RUNS; i++) {
            double t0 = bench_thread_cpu_ns();
            if (shmetrics_format(snap, fmt, &body, &r->size) < 0)
                die("format");
            double t = bench_thread_cpu_ns() - t0;
            if (i >= 0)
                v[i] = t;
            if (i < RUNS - 1)
                free(body);
        }
        r->enc = bench_median(v, RUNS) / 1e6;
        r->gsize = gzip_size(body, r->size);
        free(body);
        size_t got;
        r->scrape = http_median(port, names[f], false, &got) / 1e6;
        r->scrape_gz = http_median(port, names[f], true, &got) / 1e6;
        /* The figure is the scrape, against the classic series' text scrape. */
        double base = text ? text->scrape : r->scrape;
        printf("{\"case\": \"format_%s%s\", \"threads\": 1, \"processes\": 1, \"series\": %ld, \"samples\": %zu, "
               "\"encode_ms\": %.3f, \"bytes\": %zu, \"gzip_bytes\": %zu, \"ms\": %.3f, \"scrape_gzip_ms\": %.3f, "
               "\"baseline\": %.3f, \"baseline_case\": \"format_prometheus\", \"ratio\": %.3f}\n",
               names[f], native ? "_native" : "", n, samples, r->enc, r->size, r->gsize, r->scrape, r->scrape_gz, base,
               r->scrape / base);
        if (!text)
            text = r; /* the first format is the text one */
    }
    shmetrics_server_stop(srv);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    static const char *const names[] = {"prometheus", "openmetrics", "protobuf"};
    struct figures c[3], nat[1];
    measure(n, false, names, 3, c, NULL);
    measure(n, true, names + 2, 1, nat, &c[0]);
    printf("protobuf / text: encode %.2f, bytes %.2f, gzip bytes %.2f, scrape %.2f, gzip scrape %.2f\n",
           c[2].enc / c[0].enc, (double)c[2].size / (double)c[0].size, (double)c[2].gsize / (double)c[0].gsize,
           c[2].scrape / c[0].scrape, c[2].scrape_gz / c[0].scrape_gz);
    printf("native protobuf / classic text: encode %.2f, bytes %.2f, gzip bytes %.2f, scrape %.2f, gzip scrape "
           "%.2f\n",
           nat[0].enc / c[0].enc, (double)nat[0].size / (double)c[0].size, (double)nat[0].gsize / (double)c[0].gsize,
           nat[0].scrape / c[0].scrape, nat[0].scrape_gz / c[0].scrape_gz);
    return 0;
}
