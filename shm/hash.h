/* SPDX-License-Identifier: MIT */
/*
 * shm/hash.h - the hash that places names and label sets in the arena's
 * index, and in each process's lookup caches.
 *
 * It is part of the arena format: every process must compute the same value
 * for the same bytes, so it has no per-process seed.  It reads eight bytes at
 * a time and ends with a full 64-bit avalanche, so that the low bits used as
 * a bucket index depend on every input byte.
 */
#ifndef SHM_HASH_H
#define SHM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHM_HASH_SEED UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t shm_hash_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

/* Hash `len` bytes, continuing from `h` (start with SHM_HASH_SEED). */
static inline uint64_t shm_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    h ^= (uint64_t)len * UINT64_C(0xff51afd7ed558ccd);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x87c37b91114253d5);
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    if (len) {
        /* The last 1..7 bytes as memcpy(&w, p, len) would place them, in
         * at most three loads of fixed size (a memcpy of a run-time length
         * became a byte loop, the most of a short key's hash). */
        uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        size_t o = 0;
        if (len & 4) {
            uint32_t x;
            memcpy(&x, p, 4);
            w = x;
            o = 4;
        }
        if (len & 2) {
            uint16_t x;
            memcpy(&x, p + o, 2);
            w |= (uint64_t)x << (8 * o);
            o += 2;
        }
        if (len & 1)
            w |= (uint64_t)p[o] << (8 * o);
#else
        memcpy(&w, p, len);
#endif
        h = (h ^ w ^ ((uint64_t)len << 56)) * UINT64_C(0x4cf5ad432745937f);
        h ^= h >> 29;
    }
    return shm_hash_mix(h);
}

/* The index hash of a family: its full name. */
static inline uint64_t shm_hash_family(const char *name, size_t len)
{
    return shm_hash_bytes(SHM_HASH_SEED, name, len);
}

/* The index hash of a series: its family's record index and its key. */
static inline uint64_t shm_hash_series(uint32_t family, const char *key, size_t len)
{
    return shm_hash_bytes(SHM_HASH_SEED ^ ((uint64_t)family << 17), key, len);
}

#endif /* SHM_HASH_H */
