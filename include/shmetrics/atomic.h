/* SPDX-License-Identifier: MIT */
/*
 * shmetrics/atomic.h - the one atomics vocabulary of shmetrics.
 *
 * Every shared-memory access in the library and in the inline hot paths goes
 * through these macros, and each name says its memory order.  They are built
 * on liburcu's uatomic and cmm barriers (urcu 0.13 has no memory-order
 * argument, so the order is spelled out here once):
 *
 *   name                          urcu building blocks         C11 equivalent
 *   shmetrics_load_relaxed(p)     uatomic_read                 load  relaxed
 *   shmetrics_load_acquire(p)     uatomic_read; cmm_smp_rmb    load  acquire
 *   shmetrics_store_relaxed(p,v)  uatomic_set                  store relaxed
 *   shmetrics_store_release(p,v)  barrier; uatomic_set         store release
 *   shmetrics_add_relaxed(p,v)    uatomic_add                  fetch_add relaxed
 *   shmetrics_cas_seq_cst(p,o,n)  uatomic_cmpxchg              CAS seq_cst, returns old
 *   shmetrics_xchg_seq_cst(p,v)   uatomic_xchg                 exchange seq_cst, returns old
 *   shmetrics_fence_seq_cst()     cmm_smp_mb                   fence seq_cst
 *
 * cmm_smp_rmb after a load orders it before every later load and store on
 * all architectures liburcu supports (a compiler barrier on x86, dmb ishld on
 * arm64, lwsync on ppc), which is what acquire asks for.  The barrier before
 * a release store is cmm_barrier on x86 (TSO already keeps earlier loads and
 * stores before it) and cmm_smp_mb elsewhere.
 *
 * ThreadSanitizer does not see inline assembly, so under TSan the same names
 * map to the compiler's __atomic builtins with the same orders: the checker
 * then verifies the orders we claim instead of reporting races on asm.
 *
 * Only naturally aligned 4- and 8-byte objects are used with these macros.
 */
#ifndef SHMETRICS_ATOMIC_H
#define SHMETRICS_ATOMIC_H

#if defined(__SANITIZE_THREAD__)
#define SHMETRICS_ATOMIC_BUILTINS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMETRICS_ATOMIC_BUILTINS 1
#endif
#endif

#ifdef SHMETRICS_ATOMIC_BUILTINS

#define shmetrics_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define shmetrics_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define shmetrics_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define shmetrics_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define shmetrics_add_relaxed(p, v) ((void)__atomic_fetch_add((p), (v), __ATOMIC_RELAXED))
#define shmetrics_cas_seq_cst(p, o, n)                                                                     \
    __extension__({                                                                                        \
        __typeof__(*(p)) shmetrics_cas_old_ = (o);                                                         \
        __atomic_compare_exchange_n((p), &shmetrics_cas_old_, (n), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        shmetrics_cas_old_;                                                                                \
    })
#define shmetrics_xchg_seq_cst(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define shmetrics_fence_seq_cst() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#else /* urcu */

#include <urcu/arch.h>
#include <urcu/uatomic.h>

#define shmetrics_load_relaxed(p) uatomic_read(p)
#define shmetrics_load_acquire(p)                            \
    __extension__({                                          \
        __typeof__(*(p)) shmetrics_acq_v_ = uatomic_read(p); \
        cmm_smp_rmb();                                       \
        shmetrics_acq_v_;                                    \
    })
#define shmetrics_store_relaxed(p, v) uatomic_set((p), (v))
/* Release: earlier loads and stores may not move after the store.  x86 is
 * TSO (a store is never reordered with earlier loads or stores), so only
 * the compiler must be held back; elsewhere a full barrier does it. */
#if defined(__x86_64__) || defined(__i386__)
#define shmetrics_release_fence_() cmm_barrier()
#else
#define shmetrics_release_fence_() cmm_smp_mb()
#endif
#define shmetrics_store_release(p, v) \
    do {                              \
        shmetrics_release_fence_();   \
        uatomic_set((p), (v));        \
    } while (0)
#define shmetrics_add_relaxed(p, v) uatomic_add((p), (v))
#define shmetrics_cas_seq_cst(p, o, n) uatomic_cmpxchg((p), (o), (n))
#define shmetrics_xchg_seq_cst(p, v) uatomic_xchg((p), (v))
#define shmetrics_fence_seq_cst() cmm_smp_mb()

#endif

#endif /* SHMETRICS_ATOMIC_H */
