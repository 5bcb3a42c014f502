/* SPDX-License-Identifier: MIT */
/*
 * src/write/sampler.c - owns the slow parts of sampled counters: the per-thread
 * slots of shmetrics_sampler_inc, handing a slot from one sampler to
 * another (its pending count is added exactly), and flushing a thread's
 * pending counts when asked and when the thread exits.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>

#include "base/error.h"
#include "shmetrics.h"

_Thread_local struct shmetrics_sampler_slot_ shmetrics_sampler_tls_[SHMETRICS_SAMPLER_SLOTS];

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static _Thread_local int exit_armed;

static void on_thread_exit(void *arg)
{
    (void)arg;
    shmetrics_sampler_flush();
}

static void make_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

int shmetrics_sampler_init(shmetrics_sampler_t *s, shmetrics_counter_series_t *series, double rate)
{
    if (!s || !series)
        return smx_fail(-EINVAL, "no sampler or series given");
    if (!(rate > 0 && rate <= 1))
        return smx_fail(-EINVAL, "sampling rate %g is outside (0, 1]", rate);
    double every = round(1 / rate);
    if (every > 1e9)
        return smx_fail(-EINVAL, "sampling rate %g is below 1e-9", rate);
    s->series = series;
    s->every = (uint32_t)every;
    return 0;
}

void shmetrics_sampler_switch_(struct shmetrics_sampler_slot_ *slot, const struct shmetrics_sampler *s)
{
    if (slot->owner && slot->count)
        shmetrics_counter_add(slot->owner->series, slot->count);
    slot->owner = s;
    slot->count = 0;
    if (!exit_armed) {
        /* Flush at thread exit: a non-NULL value makes the destructor run. */
        pthread_once(&exit_once, make_key);
        pthread_setspecific(exit_key, (void *)1);
        exit_armed = 1;
    }
}

void shmetrics_sampler_flush(void)
{
    for (int i = 0; i < SHMETRICS_SAMPLER_SLOTS; i++) {
        struct shmetrics_sampler_slot_ *slot = &shmetrics_sampler_tls_[i];
        if (slot->owner && slot->count)
            shmetrics_counter_add(slot->owner->series, slot->count);
        slot->count = 0;
    }
}
