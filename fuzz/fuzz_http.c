/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_http.c - owns fuzzing the HTTP request path end to end: the
 * input is sent as raw bytes to a collector that shmetrics_server_start
 * runs on 127.0.0.1 (a free port, started once per process over an arena
 * holding one family of each type), and the answer is read to the end.
 *
 * Must hold: no crash or sanitizer report in the server's thread; an
 * answer that is HTTP carries a status the collector documents; and after
 * every input, the collector (one thread, so a request stuck in it blocks
 * all) answers GET /healthz and closes within HANG_MS, else that input
 * hung it.  An input the server neither answers nor closes within
 * SILENT_MS is left (libmicrohttpd keeps a half-closed connection until its
 * 10 s idle timeout when the request bytes and the end arrive together).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "shmetrics.h"

#define HANG_MS 20000 /* a hang */
#define SILENT_MS 50  /* no answer to an input */
#define IDLE_MS 20    /* the end of an answer */

static unsigned port;
/* Kept for the process's lifetime (and so that leak checking sees them). */
static shmetrics_registry_t *writer, *reader;
static shmetrics_server_t *server;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "fuzz_http: %s: %s\n", what, shmetrics_errmsg());
        abort();
    }
}

/* An arena with one family of each type, a few series each. */
static void fill(shmetrics_registry_t *w)
{
    const char *labels[] = {"method", "code"};
    shmetrics_spec_t c = {.name = "http_requests_total",
                          .help = "Requests.\nSecond \\ line.",
                          .label_names = labels,
                          .nlabels = 2};
    shmetrics_spec_t g = {.name = "queue_depth", .help = "Depth.", .gauge_mode = SHMETRICS_MODE_ALL};
    shmetrics_spec_t h = {.name = "latency_seconds", .help = "Latency.", .label_names = labels, .nlabels = 1};
    shmetrics_spec_t s = {.name = "tokens", .help = "Tokens."};
    shmetrics_counter_t *cm;
    shmetrics_gauge_t *gm;
    shmetrics_histogram_t *hm;
    shmetrics_summary_t *sm;
    shmetrics_counter_series_t *cs;
    shmetrics_gauge_series_t *gs;
    shmetrics_histogram_series_t *hs;
    shmetrics_summary_series_t *ss;
    must(shmetrics_counter_register(w, &c, &cm), "counter");
    must(shmetrics_counter_labels(cm, &cs, "GET", "200", NULL), "counter series");
    shmetrics_counter_add(cs, 7);
    must(shmetrics_counter_labels(cm, &cs, "PO\"ST", "5\xc3\xa9", NULL), "counter series");
    shmetrics_counter_add(cs, 1);
    must(shmetrics_gauge_register(w, &g, &gm), "gauge");
    must(shmetrics_gauge_labels(gm, &gs, NULL), "gauge series");
    shmetrics_gauge_set(gs, 2.5);
    must(shmetrics_histogram_register(w, &h, &hm), "histogram");
    must(shmetrics_histogram_labels(hm, &hs, "GET", NULL), "histogram series");
    shmetrics_histogram_observe(hs, 0.3);
    must(shmetrics_summary_register(w, &s, &sm), "summary");
    must(shmetrics_summary_labels(sm, &ss, NULL), "summary series");
    shmetrics_summary_observe(ss, 12);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-fuzz-http-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .families = 16,
                             .series = 64,
                             .processes = 4,
                             .shards = 1};
    must(shmetrics_open(&o, &writer), "creating the arena");
    fill(writer);
    shmetrics_options_t ro = {.path = path, .flags = SHMETRICS_OPEN_READONLY};
    must(shmetrics_open(&ro, &reader), "opening the arena read-only");
    unlink(path); /* both mappings stay; nothing is left behind */
    shmetrics_server_options_t so = {.listen = "127.0.0.1:0", .threads = 1};
    must(shmetrics_server_start(reader, &so, &server), "starting the server");
    port = shmetrics_server_port(server);
    /* The writer keeps its slot (a live process for the gauge); the
     * server runs until the fuzzer exits. */
    return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket");
        abort();
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc < 0 && errno == EINTR) {
        /* libFuzzer's timer interrupted it; the connection goes on
         * being made: wait for it and read its outcome. */
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof err;
        int ready;
        while ((ready = poll(&p, 1, HANG_MS)) < 0 && errno == EINTR)
            ;
        if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
            rc = 0;
        } else if (ready == 0) {
            errno = ETIMEDOUT;
        } else if (err) {
            errno = err;
        }
    }
    if (rc < 0) {
        perror("connect to the collector");
        abort();
    }
    return fd;
}

/* Send `data`, half-close, and read the answer into head[] (its first
 * bytes) until the server closes, or falls silent for `quiet_ms` (once
 * something came: IDLE_MS), or `limit_ms` pass; returns the bytes kept. */
static size_t exchange(const uint8_t *data, size_t size, char *head, size_t cap, int quiet_ms, long limit_ms,
                       bool *closed)
{
    int fd = dial();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; off < size;) {
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close early */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0, total = 0;
    *closed = false;
    for (;;) {
        long left = limit_ms - elapsed_ms(&t0);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int wait = total ? IDLE_MS : quiet_ms;
        int ready = poll(&p, 1, wait < left ? wait : (int)left);
        if (ready == 0 && wait < left)
            break; /* silent: a keep-alive connection after its answer, or bytes it ignores */
        if (ready <= 0)
            continue;
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *closed = true;
            break;
        }
        total += (size_t)n;
        for (ssize_t i = 0; i < n && got < cap; i++)
            head[got++] = buf[i];
    }
    close(fd);
    return got;
}

static bool known_status(const char *resp, size_t len)
{
    static const char *const codes[] = {"200", "400", "404", "405", "413", "414", "431", "500", "501", "505"};
    if (len < 12)
        return false;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (memcmp(resp + 9, codes[i], 3) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char head[64];
    bool closed;
    size_t got = exchange(data, size, head, sizeof head, SILENT_MS, SILENT_MS, &closed);
    /* A GET or HEAD with Expect: 100-continue gets the interim answer
     * first; the final one follows it. */
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    const char *final = head;
    if (got >= sizeof cont - 1 && memcmp(head, cont, sizeof cont - 1) == 0) {
        final += sizeof cont - 1;
        got -= sizeof cont - 1;
    }
    if (got >= 5 && memcmp(final, "HTTP/", 5) == 0 && !known_status(final, got))
        fz_die("the collector answered with a status it does not document", head, (size_t)(final - head) + got);
    /* Whatever that input did, the collector (one thread) must still
     * answer a plain request, and close the connection after it. */
    static const char probe[] = "GET /healthz HTTP/1.0\r\n\r\n";
    got = exchange((const uint8_t *)probe, sizeof probe - 1, head, sizeof head, HANG_MS, HANG_MS, &closed);
    if (got < 12 || memcmp(head + 9, "200", 3) != 0 || !closed) {
        fprintf(stderr, "fuzz_http: after this input the collector did not answer GET /healthz within %d ms\n",
                HANG_MS);
        abort();
    }
    return 0;
}
