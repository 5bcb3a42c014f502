/*
 * bench/peer_cpp.cpp - the same hot-path cases through prometheus-cpp (the
 * Debian package prometheus-cpp-dev), the in-process C++ client a C or C++
 * program would otherwise use, measured by the same harness as
 * bench/hotpath.c and next to the same baseline: a relaxed atomic add on a
 * private cache line, measured right before each case in this process.
 *
 * usage: peer_cpp [MAXTHREADS]
 *
 * Cases: Counter::Increment, Histogram::Observe (vLLM's 21 latency
 * buckets), Summary::Observe (quantiles 0.5 0.9 0.95 0.99, a 60 s window in
 * 5 age buckets, as shmetrics' default), each with all threads on one
 * series and with a series per thread; Family::Add + Increment (2 labels,
 * 1,000 label sets, all added beforehand).  Prints one JSON object per case
 * and thread count, names prefixed "promcpp_".
 */
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace {

const std::vector<double> latency_buckets = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,    10.0,   15.0,  20.0,
                                             30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
constexpr int label_sets = 1000;

struct Peers {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    prometheus::Family<prometheus::Counter> *counters = nullptr;
    prometheus::Family<prometheus::Counter> *labelled = nullptr;
    prometheus::Family<prometheus::Histogram> *histograms = nullptr;
    prometheus::Family<prometheus::Summary> *summaries = nullptr;
    std::vector<std::string> vals;
};

Peers peers;

/* Each worker thread's metrics and inputs. */
struct Hot {
    prometheus::Counter *counter;
    prometheus::Histogram *histogram;
    prometheus::Summary *summary;
    double obs[64];
    int next = 0; /* the next label set, kept across calls of the loop */
};

const prometheus::Summary::Quantiles &quantiles()
{
    static const prometheus::Summary::Quantiles q = {{0.5, 0.05}, {0.9, 0.01}, {0.95, 0.005}, {0.99, 0.001}};
    return q;
}

/* arg: nullptr for one series shared by all threads, else one per thread.
 * Family::Add takes the family's mutex, so threads may call it at once. */
void *hot_setup(void *arg, int thread)
{
    auto *h = new Hot;
    std::string name = arg ? "t" + std::to_string(thread) : "shared";
    h->counter = &peers.counters->Add({{"series", name}});
    h->histogram = &peers.histograms->Add({{"series", name}}, latency_buckets);
    h->summary = &peers.summaries->Add({{"series", name}}, quantiles(), std::chrono::seconds{60}, 5);
    for (int i = 0; i < 64; i++)
        h->obs[i] = 0.1 * static_cast<double>(i * 37 % 200); /* as in hotpath.c */
    return h;
}

void hot_teardown(void *p)
{
    delete static_cast<Hot *>(p);
}

void counter_loop(void *p, uint64_t ops)
{
    prometheus::Counter *c = static_cast<Hot *>(p)->counter;
    for (uint64_t i = 0; i < ops; i++)
        c->Increment();
}

void histogram_loop(void *p, uint64_t ops)
{
    Hot *h = static_cast<Hot *>(p);
    for (uint64_t i = 0; i < ops; i++)
        h->histogram->Observe(h->obs[i & 63]);
}

void summary_loop(void *p, uint64_t ops)
{
    Hot *h = static_cast<Hot *>(p);
    for (uint64_t i = 0; i < ops; i++)
        h->summary->Observe(h->obs[i & 63]);
}

void family_add_loop(void *p, uint64_t ops)
{
    Hot *h = static_cast<Hot *>(p);
    int k = h->next;
    for (uint64_t i = 0; i < ops; i++) {
        peers.labelled->Add({{"method", "GET"}, {"path", peers.vals[k]}}).Increment();
        if (++k == label_sets)
            k = 0;
    }
    h->next = k;
}

struct Case {
    const char *name;
    bench_loop_fn loop;
    bool per_thread_too;
};

const Case cases[] = {
    {"promcpp_counter_increment", counter_loop, true},
    {"promcpp_histogram_observe", histogram_loop, true},
    {"promcpp_summary_observe", summary_loop, true},
    {"promcpp_family_add_increment", family_add_loop, false},
};

} // namespace

int main(int argc, char **argv)
{
    int cpus[BENCH_MAX_THREADS];
    int ncpu = bench_cpus(cpus, BENCH_MAX_THREADS);
    int maxthreads = argc > 1 ? std::atoi(argv[1]) : ncpu;
    if (maxthreads < 1 || maxthreads > ncpu)
        maxthreads = ncpu;

    peers.counters = &prometheus::BuildCounter().Name("bench_total").Help("h").Register(*peers.registry);
    peers.labelled =
        &prometheus::BuildCounter().Name("bench_labelled_total").Help("h").Register(*peers.registry);
    peers.histograms =
        &prometheus::BuildHistogram().Name("bench_latency_seconds").Help("h").Register(*peers.registry);
    peers.summaries =
        &prometheus::BuildSummary().Name("bench_summary_seconds").Help("h").Register(*peers.registry);
    for (int i = 0; i < label_sets; i++) {
        peers.vals.push_back("v" + std::to_string(i));
        peers.labelled->Add({{"method", "GET"}, {"path", peers.vals.back()}});
    }

    static int one = 0;
    for (int threads = 1; threads <= maxthreads; threads++) {
        for (const Case &c : cases) {
            for (int per_thread = 0; per_thread <= (c.per_thread_too ? 1 : 0); per_thread++) {
                std::string name = std::string(c.name) + (!c.per_thread_too ? "" : per_thread ? "_per_thread"
                                                                                              : "_one_series");
                int bc, cc;
                double base = bench_private_atomic(threads, &bc);
                double ns =
                    bench_threads(threads, hot_setup, c.loop, hot_teardown, per_thread ? &one : nullptr, &cc);
                std::string extra =
                    "\"clean_reps\": " + std::to_string(cc) + ", \"baseline_clean_reps\": " + std::to_string(bc);
                bench_emit(name.c_str(), threads, 1, "ns_per_op", ns, base, "baseline_private_atomic", extra.c_str());
            }
        }
    }
    return 0;
}
