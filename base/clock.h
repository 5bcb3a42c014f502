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

/* Seconds as a double, for printing and rates: whole seconds and the
 * fraction apart, so that a time of the epoch's size comes back as the
 * double it was made from (smx_s_to_ns), which one division of 64-bit
 * nanoseconds (more than 2^53) does not. */
static inline double smx_ns_to_s(uint64_t ns)
{
    return (double)(ns / SMX_NS_PER_SEC) + (double)(ns % SMX_NS_PER_SEC) / 1e9;
}

/* Seconds (finite, >= 0, < 2^33) to nanoseconds, to the nearest: the
 * fraction is taken apart from the whole seconds (exactly) before it is
 * scaled, as smx_ns_to_s puts them together. */
static inline uint64_t smx_s_to_ns(double s)
{
    uint64_t whole = (uint64_t)s;
    return whole * SMX_NS_PER_SEC + (uint64_t)((s - (double)whole) * 1e9 + 0.5);
}

#endif
