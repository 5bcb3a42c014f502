/* SPDX-License-Identifier: MIT */
/*
 * base/clock.h - owns reading the clocks as nanoseconds: one conversion
 * from struct timespec instead of a copy in every file that needs a time.
 * Static inline, so that shm/ and src/ (and the hot paths' out-of-line
 * helpers) share it without a call.
 */
#ifndef SMX_BASE_CLOCK_H
#define SMX_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define SMX_NS_PER_SEC UINT64_C(1000000000)

/* `id` read as nanoseconds (0 for a clock the system does not have). */
static inline uint64_t smx_clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * SMX_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC: intervals, timeouts, summary windows. */
static inline uint64_t smx_mono_ns(void)
{
    return smx_clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_REALTIME: wall-clock stamps stored in the arena. */
static inline uint64_t smx_real_ns(void)
{
    return smx_clock_ns(CLOCK_REALTIME);
}

/* CLOCK_MONOTONIC_COARSE (a few ns, at the resolution of the tick). */
static inline uint64_t smx_coarse_ns(void)
{
    return smx_clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* CLOCK_REALTIME_COARSE: wall-clock time as of the last tick (a tick or
 * two behind, 1 to 4 ms each), for stamps that need no more (exemplars);
 * several times cheaper than CLOCK_REALTIME. */
static inline uint64_t smx_real_coarse_ns(void)
{
    return smx_clock_ns(CLOCK_REALTIME_COARSE);
}

/* Seconds as a double, for printing and rates. */
static inline double smx_ns_to_s(uint64_t ns)
{
    return (double)ns / 1e9;
}

#endif
