/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_push.c - the push API from a program's side: every option
 * error by code and message, the exact StatsD datagrams (deltas between
 * pushes, zero deltas skipped, negative gauges, datagram size), deltas kept
 * while the target is down, the thread (logged failures, backoff, the last
 * push at stop), the null backend, and re-attaching to a re-created arena.
 * The receiver is a UDP socket of this process on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "common.h"

static int udp_bind(int port, int *out_port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *out_port = ntohs(a.sin_port);
    return fd;
}

/* Every datagram waiting on `fd` (waiting up to `ms` for the first),
 * joined by newlines. */
static char *drain(int fd, int ms, int *ndgrams)
{
    static char all[65536];
    size_t len = 0;
    int n = 0;
    all[0] = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (poll(&p, 1, n ? 100 : ms) == 1) {
        char buf[65536];
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r <= 0)
            break;
        if (len + (size_t)r + 2 >= sizeof all)
            break;
        memcpy(all + len, buf, (size_t)r);
        len += (size_t)r;
        all[len++] = '\n';
        all[len] = 0;
        n++;
    }
    if (ndgrams)
        *ndgrams = n;
    return all;
}

static shmetrics_registry_t *reg;
static shmetrics_counter_series_t *jobs;
static shmetrics_gauge_series_t *temp;
static char target[64];
static int rx = -1, rx_port;

static void setup(void)
{
    reg = test_open(test_arena_path("push"), SHMETRICS_OPEN_CREATE);
    const char *lbl[] = {"queue"};
    shmetrics_spec_t cs = {.name = "jobs_total", .help = "Jobs.", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t gs = {.name = "temp", .help = "Temp.", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &jobs, "a.b", NULL), 0);
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &temp, NULL), 0);
    rx = udp_bind(0, &rx_port);
    snprintf(target, sizeof target, "127.0.0.1:%d", rx_port);
}

static void teardown(void)
{
    if (rx >= 0)
        close(rx);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(push, .init = setup, .fini = teardown, .timeout = 60);

static shmetrics_push_options_t statsd_opts(void)
{
    return (
        shmetrics_push_options_t){.backend = SHMETRICS_PUSH_STATSD, .target = target, .flags = SHMETRICS_PUSH_NO_SELF};
}

#define EXPECT_FAIL(opts, code, text)                                                                             \
    do {                                                                                                          \
        shmetrics_pusher_t *p_ = NULL;                                                                            \
        int rc_ = shmetrics_pusher_create(reg, (opts), &p_);                                                      \
        cr_expect_eq(rc_, (code), "%s: rc %d (%s)", text, rc_, shmetrics_errmsg());                               \
        cr_expect(strstr(shmetrics_errmsg(), text) != NULL, "message '%s' lacks '%s'", shmetrics_errmsg(), text); \
        if (rc_ == 0)                                                                                             \
            shmetrics_pusher_stop(p_);                                                                            \
    } while (0)

Test(push, backend_names)
{
    shmetrics_push_backend_t b;
    const char *names[] = {"null", "statsd", "otlp", "remote-write"};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(shmetrics_push_backend_parse(names[i], &b), 0);
        cr_expect_eq((int)b, i);
        cr_expect_str_eq(shmetrics_push_backend_name(b), names[i]);
    }
    cr_expect_eq(shmetrics_push_backend_parse("kafka", &b), -EINVAL);
    cr_expect(strstr(shmetrics_errmsg(), "unknown push backend 'kafka'"));
    cr_expect_null(shmetrics_push_backend_name((shmetrics_push_backend_t)7));
}

Test(push, option_errors)
{
    shmetrics_pusher_t *p;
    shmetrics_push_options_t o = statsd_opts();
    cr_expect_eq(shmetrics_pusher_create(NULL, &o, &p), -EINVAL);
    cr_expect_eq(shmetrics_pusher_create(reg, NULL, &p), -EINVAL);
    cr_expect_eq(shmetrics_pusher_push(NULL), -EINVAL);
    o.backend = (shmetrics_push_backend_t)9;
    EXPECT_FAIL(&o, -EINVAL, "unknown push backend 9");
    o = statsd_opts();
    o.flags = 0x100;
    EXPECT_FAIL(&o, -EINVAL, "unknown push flags 0x100");
    o = statsd_opts();
    o.target = NULL;
    EXPECT_FAIL(&o, -EINVAL, "the statsd backend needs a target");
    o = statsd_opts();
    o.retry_min_ms = 5000;
    o.retry_max_ms = 10;
    EXPECT_FAIL(&o, -EINVAL, "the first retry (5000 ms) comes after the longest backoff (10 ms)");
    o = statsd_opts();
    o.max_datagram = 63;
    EXPECT_FAIL(&o, -EINVAL, "a datagram of 63 bytes");
    o = statsd_opts();
    o.target = "127.0.0.1";
    EXPECT_FAIL(&o, -EINVAL, "is not HOST:PORT");
    o.target = "127.0.0.1:99999";
    EXPECT_FAIL(&o, -EINVAL, "bad port");
    o.target = "bad!host:1";
    EXPECT_FAIL(&o, -ENOENT, "cannot resolve 'bad!host'");
    shmetrics_label_t bad_label[] = {{"9x", "v"}}, no_name[] = {{NULL, "v"}};
    o = (shmetrics_push_options_t){.backend = SHMETRICS_PUSH_REMOTE_WRITE,
                                   .target = "http://127.0.0.1:1",
                                   .labels = bad_label,
                                   .nlabels = 1};
    EXPECT_FAIL(&o, -EINVAL, "'9x' is not a valid label name");
    o.labels = NULL;
    EXPECT_FAIL(&o, -EINVAL, "1 label given, but no array");
    o = (shmetrics_push_options_t){.backend = SHMETRICS_PUSH_OTLP,
                                   .target = "http://127.0.0.1:1",
                                   .resource = no_name,
                                   .nresource = 1};
    EXPECT_FAIL(&o, -EINVAL, "resource attribute 1 has no name or no value");
    const char *hdr[] = {"X-Ok: 1", "Bad\r\nInjected: 1"};
    o = (shmetrics_push_options_t){.backend = SHMETRICS_PUSH_OTLP,
                                   .target = "http://127.0.0.1:1",
                                   .headers = hdr,
                                   .nheaders = 2};
    EXPECT_FAIL(&o, -EINVAL, "is not 'Name: value'");
    o.nheaders = 1;
    o.target = "127.0.0.1:4318";
    EXPECT_FAIL(&o, -EINVAL, "target '127.0.0.1:4318' is not an http:// or https:// URL");
    o.target = "https://";
    EXPECT_FAIL(&o, -EINVAL, "has no host");
    o.target = "http://127.0.0.1:1";
    cr_expect_eq(shmetrics_pusher_create(reg, &o, &p), 0, "%s", shmetrics_errmsg());
    shmetrics_pusher_stop(p);
}

Test(push, statsd_lines_and_deltas)
{
    shmetrics_counter_add(jobs, 5);
    shmetrics_gauge_set(temp, -2.5);
    shmetrics_push_options_t o = statsd_opts();
    o.prefix = "app";
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(reg, &o, &p), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_pusher_push(p), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "app.jobs_total.a_b:5|c\napp.temp:0|g\napp.temp:-2.5|g\n");
    /* Only what changed since: 3 more jobs; the gauge is sent each time. */
    shmetrics_counter_add(jobs, 3);
    shmetrics_gauge_set(temp, 7);
    cr_assert_eq(shmetrics_pusher_push(p), 0);
    cr_expect_str_eq(drain(rx, 5000, NULL), "app.jobs_total.a_b:3|c\napp.temp:7|g\n");
    cr_assert_eq(shmetrics_pusher_push(p), 0);
    cr_expect_str_eq(drain(rx, 5000, NULL), "app.temp:7|g\n", "a zero delta is not sent");
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.attempts, 3);
    cr_expect_eq(st.failures, 0);
    cr_expect_eq(st.samples, 2 + 2 + 1, "a negative gauge's pair counts once");
    cr_expect_gt(st.last_success_ns, 0);
    shmetrics_pusher_stop(p);
}

Test(push, statsd_tags)
{
    shmetrics_counter_add(jobs, 2);
    shmetrics_push_options_t o = statsd_opts();
    o.flags |= SHMETRICS_PUSH_TAGS;
    cr_assert_eq(shmetrics_push(reg, &o), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total:2|c|#queue:a.b\ntemp:0|g\n");
}

Test(push, statsd_datagram_size)
{
    const char *lbl[] = {"i"};
    shmetrics_spec_t cs = {.name = "many_total", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), 0);
    for (int i = 0; i < 50; i++) {
        char v[8];
        snprintf(v, sizeof v, "%d", i);
        shmetrics_counter_series_t *s;
        shmetrics_counter_labels(c, &s, v, NULL);
        shmetrics_counter_add(s, 1);
    }
    shmetrics_push_options_t o = statsd_opts();
    o.max_datagram = 64;
    cr_assert_eq(shmetrics_push(reg, &o), 0, "%s", shmetrics_errmsg());
    int n;
    char *all = drain(rx, 5000, &n);
    cr_expect_gt(n, 10, "50 lines in datagrams of 64 bytes: %d datagrams", n);
    int lines = 0;
    for (char *l = strtok(all, "\n"); l; l = strtok(NULL, "\n"))
        lines += strncmp(l, "many_total.", 11) == 0 && strstr(l, ":1|c") != NULL;
    cr_expect_eq(lines, 50, "every line whole");
}

Test(push, statsd_down_keeps_deltas)
{
    shmetrics_counter_add(jobs, 4);
    shmetrics_push_options_t o = statsd_opts();
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(reg, &o, &p), 0);
    close(rx); /* the target goes away */
    rx = -1;
    int rc = shmetrics_pusher_push(p);
    cr_expect_eq(rc, -ECONNREFUSED, "rc %d %s", rc, shmetrics_errmsg());
    cr_expect(strstr(shmetrics_errmsg(), "Connection refused"), "%s", shmetrics_errmsg());
    shmetrics_counter_add(jobs, 6);
    cr_expect_eq(shmetrics_pusher_push(p), -ECONNREFUSED);
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.failures, 2);
    cr_expect_eq(st.consecutive_failures, 2);
    rx = udp_bind(rx_port, &rx_port); /* back, on the same port */
    cr_assert_eq(shmetrics_pusher_push(p), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total.a_b:10|c\ntemp:0|g\n", "nothing lost");
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.consecutive_failures, 0);
    shmetrics_pusher_stop(p);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[4096];

static void on_log(void *arg, const char *line)
{
    (void)arg;
    pthread_mutex_lock(&log_lock);
    strncat(log_text, line, sizeof log_text - strlen(log_text) - 2);
    strcat(log_text, "\n");
    pthread_mutex_unlock(&log_lock);
}

Test(push, thread_backoff_log_and_last_push)
{
    int closed_port;
    int tmp = udp_bind(0, &closed_port);
    close(tmp);
    char down[64];
    snprintf(down, sizeof down, "127.0.0.1:%d", closed_port);
    shmetrics_push_options_t o = statsd_opts();
    o.target = down;
    o.retry_min_ms = 10;
    o.retry_max_ms = 40;
    o.log = on_log;
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_start(reg, &o, &p), 0, "%s", shmetrics_errmsg());
    shmetrics_push_stats_t st;
    do {
        usleep(10000);
        shmetrics_pusher_stats(p, &st);
    } while (st.failures < 4);
    shmetrics_pusher_stop(p); /* returns while retrying */
    pthread_mutex_lock(&log_lock);
    cr_expect(strstr(log_text, "push failed (1 in a row)") && strstr(log_text, "next try in 0.01 s"), "%s", log_text);
    cr_expect(strstr(log_text, "push failed (3 in a row)") && strstr(log_text, "next try in 0.04 s"),
              "the delay doubles up to retry_max: %s", log_text);
    pthread_mutex_unlock(&log_lock);

    /* A long interval: the first push, then the last one at stop. */
    o = statsd_opts();
    o.flags |= SHMETRICS_PUSH_FINAL;
    o.interval_ms = 3600000;
    shmetrics_counter_add(jobs, 1);
    cr_assert_eq(shmetrics_pusher_start(reg, &o, &p), 0);
    cr_expect_str_eq(drain(rx, 10000, NULL), "jobs_total.a_b:1|c\ntemp:0|g\n");
    shmetrics_counter_add(jobs, 41);
    shmetrics_pusher_stop(p);
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total.a_b:41|c\ntemp:0|g\n", "the last push carries the rest");
}

Test(push, null_backend_sends_nothing)
{
    shmetrics_push_options_t o = {.backend = SHMETRICS_PUSH_NULL};
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(reg, &o, &p), 0);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(shmetrics_pusher_push(p), 0);
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.attempts, 3);
    cr_expect_eq(st.samples, 0);
    cr_expect_eq(st.bytes, 0);
    shmetrics_pusher_stop(p);
    cr_expect_eq(shmetrics_push(reg, &o), 0);
}

Test(push, reattach_forgets_the_old_arena)
{
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    char path[256];
    snprintf(path, sizeof path, "%s", in.path);
    shmetrics_registry_t *ro = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_counter_add(jobs, 9);
    shmetrics_push_options_t o = statsd_opts();
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(ro, &o, &p), 0);
    cr_assert_eq(shmetrics_pusher_push(p), 0);
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total.a_b:9|c\ntemp:0|g\n");
    /* The arena is removed and re-created, with a smaller count: it is
     * read from the new file and sent whole, not as a negative delta. */
    cr_assert_eq(unlink(path), 0);
    shmetrics_registry_t *fresh = test_open(path, SHMETRICS_OPEN_CREATE);
    const char *lbl[] = {"queue"};
    shmetrics_spec_t cs = {.name = "jobs_total", .help = "Jobs.", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(fresh, &cs, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, "a.b", NULL), 0);
    shmetrics_counter_add(s, 2);
    cr_assert_eq(shmetrics_pusher_push(p), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total.a_b:2|c\n");
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.reattached, 1);
    shmetrics_pusher_stop(p);
    shmetrics_shutdown(ro, 0);
    shmetrics_shutdown(fresh, 0);
}

/* StatsD has no native buckets: a native-only histogram sends its sum and
 * count (not its lone +Inf bucket), one with classic buckets too sends
 * those as always. */
Test(push, statsd_native_histograms)
{
    shmetrics_spec_t ns = {.name = "nat_seconds", .help = "N.", .native = SHMETRICS_HISTOGRAM_NATIVE};
    const double bounds[] = {1};
    shmetrics_spec_t bs = {.name = "both_seconds",
                           .help = "B.",
                           .native = SHMETRICS_HISTOGRAM_BOTH,
                           .buckets = bounds,
                           .nbuckets = 1};
    shmetrics_histogram_t *nh, *bh;
    shmetrics_histogram_series_t *n, *b;
    cr_assert_eq(shmetrics_histogram_register(reg, &ns, &nh), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(nh, &n, NULL), 0);
    cr_assert_eq(shmetrics_histogram_register(reg, &bs, &bh), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(bh, &b, NULL), 0);
    shmetrics_histogram_observe(n, 0.5);
    shmetrics_histogram_observe(n, 4);
    shmetrics_histogram_observe(n, -2);
    shmetrics_histogram_observe(b, 0.25);
    shmetrics_histogram_observe(b, 8);
    shmetrics_push_options_t o = statsd_opts();
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(reg, &o, &p), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_pusher_push(p), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "jobs_total.a_b:0|c\ntemp:0|g\n"
                                            "nat_seconds_sum:2.5|c\nnat_seconds_count:3|c\n"
                                            "both_seconds_bucket.1_0:1|c\nboth_seconds_bucket.Inf:2|c\n"
                                            "both_seconds_sum:8.25|c\nboth_seconds_count:2|c\n");
    /* Deltas, as for any histogram. */
    shmetrics_histogram_observe(n, 1);
    cr_assert_eq(shmetrics_pusher_push(p), 0, "%s", shmetrics_errmsg());
    cr_expect_str_eq(drain(rx, 5000, NULL), "temp:0|g\nnat_seconds_sum:1|c\nnat_seconds_count:1|c\n");
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(p, &st);
    cr_expect_eq(st.samples, 8 + 3);
    shmetrics_pusher_stop(p);
}
