/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo.h - what the three parts of `shmetrics demo` share: the
 * parent (demo.c), the simulated inference engines (demo_engine.c) and the
 * simulated API server in front of them (demo_front.c).
 */
#ifndef SHMETRICS_CLI_DEMO_H
#define SHMETRICS_CLI_DEMO_H

#include <signal.h>
#include <stdint.h>

#include "cli.h"

#define DEMO_MODEL "demo-llama-3-8b"
#define DEMO_SPEC_TOKENS 3 /* draft tokens per speculative step */
/* The groups the demo's engines run: every one of vLLM's. */
#define DEMO_FEATURES SHMETRICS_VLLM_ALL_FEATURES

/* Set by SIGTERM (and SIGINT in the parent): stop at the next step. */
extern volatile sig_atomic_t demo_stop;
void demo_on_signal(int sig);

/* What an engine counted, sent to the parent as it exits. */
struct demo_counted {
    uint64_t requests, prompt, generation;
};

/* One finished request, as an engine tells the API server in front of it
 * (a pipe write of this size is atomic). */
struct demo_response {
    float seconds; /* arrival to last token */
    uint32_t engine;
};

/* The vLLM set's options of the demo (the same in every process). */
void demo_vllm_options(shmetrics_vllm_options_t *o);

/* An engine process: serves simulated requests into the arena until
 * SIGTERM, tells `front` about each finished request and `report` what it
 * counted.  Its exit status. */
int demo_engine(const char *arena, int engine, double rate, uint32_t cpus, int report, int front);

/* The API server process: reads the engines' responses from `responses`
 * until every engine has closed it, recording vLLM's HTTP metrics, then
 * writes the number it served to `report`.  Its exit status. */
int demo_front(const char *arena, int responses, int report);

/* The seconds of CLOCK_MONOTONIC. */
double demo_now(void);

#endif
