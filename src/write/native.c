/* SPDX-License-Identifier: MIT */
/*
 * src/write/native.c - owns what native histograms add to histograms on the
 * write side: their spec (checks and defaults), the parameters a series
 * handle uses, the bucket bounds of each schema, and the out-of-line part
 * of an observation (NaN, infinities, subnormal magnitudes, buckets outside
 * the dense range and their spill slots).  The reader's merge is in
 * src/write/native_read.c.
 *
 * Why the cells are what they are.
 *
 * A native histogram has no bucket list: every double has a bucket, 2^s of
 * them per power of two at schema s, so a series may touch any of some
 * 2 * 2100 * 2^s buckets.  client_golang keeps the populated ones in a map
 * and, while there are more than its limit, halves the resolution at write
 * time.  Neither travels across processes without a lock: a map in shared
 * memory needs an allocator and a way to publish entries, and a writer
 * that halves the resolution must move every other writer's counts at the
 * same instant.
 *
 * So writers never change the resolution.  They count at the spec's schema
 * into a dense array of bucket cells fixed at registration: for each sign,
 * the buckets of magnitudes in (2^min, 2^max] (by default 512 per sign
 * around 1: 2^-32..2^32 at schema 3, 8.4 KiB a block), plus the zero
 * bucket, the NaN count and the sum.  The hot path is an index computation
 * from the double's bits (the exponent, and above schema 0 a binary search
 * of the mantissa among the schema's 2^s bounds) and one
 * shmetrics_cells_add_ on that cell: the same base block, compare-and-swap
 * and per-CPU stripes as a classic histogram, so contention gives a native
 * series stripes exactly as it gives any other.  The count is not a cell:
 * it is the sum of the bucket cells, read together, so no second atomic.
 *
 * The READER does what client_golang does at write time: it adds the
 * blocks, and while more buckets are populated than the family's limit it
 * halves the resolution (bucket i of schema s is in bucket ceil(i/2) of
 * schema s - 1: pairs merge exactly), down to schema -4.  Being a reader,
 * it may do so every scrape from the same full-resolution counts, so a
 * burst of outliers lowers the resolution of one scrape, not of the series
 * for ever (client_golang can only get it back by a reset).
 *
 * Outside the dense range a value must not become a wrong number, and
 * clamping it into the edge bucket would be one.  Widening the array to
 * every double costs 2 * 2100 * 2^s cells (33 KiB at schema 0, 4 MiB at
 * schema 8, per stripe).  Instead each block has SHM_NATIVE_SPILL spill
 * slots: a (bucket, count) pair claimed by compare-and-swap on its key,
 * then counted with fetch-adds, which hold buckets outside the range
 * (infinities too) exactly; the reader merges them with the rest.  Only an
 * observation whose block has all its slots taken by other buckets is
 * unplaced: counted in the count (as NaN is, in no bucket), in the
 * series' unplaced count the snapshot carries (JSON shows it), and in the
 * arena's header (shmetrics_arena_info's native_unplaced), so a range
 * that is too narrow shows.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"

/* The mantissa bits of the largest double at most 2^(k/256), k = 0..255:
 * the bounds of schema 8; schema s takes every 2^(8-s)-th.  A double is
 * in the bucket a bound ends exactly when it is at most the bound's true
 * value, and that is when it is at most this double (the true value is
 * irrational but for k = 0, so no double equals it).  client_golang's
 * table has the nearest double instead in some places: a value within one
 * ulp of a bound may fall in the bucket next to the one client_golang
 * picks. */
static const uint64_t mantissas[256] = {
    UINT64_C(0x0000000000000), UINT64_C(0x00b1afa5abcbe), UINT64_C(0x0163da9fb3335), UINT64_C(0x02168143b0280),
    UINT64_C(0x02c9a3e778060), UINT64_C(0x037d42e11bbcc), UINT64_C(0x04315e86e7f84), UINT64_C(0x04e5f72f654b1),
    UINT64_C(0x059b0d3158574), UINT64_C(0x0650a0e3c1f88), UINT64_C(0x0706b29ddf6dd), UINT64_C(0x07bd42b72a836),
    UINT64_C(0x0874518759bc8), UINT64_C(0x092bdf66607df), UINT64_C(0x09e3ecac6f383), UINT64_C(0x0a9c79b1f3919),
    UINT64_C(0x0b5586cf9890f), UINT64_C(0x0c0f145e46c85), UINT64_C(0x0cc922b7247f7), UINT64_C(0x0d83b23395deb),
    UINT64_C(0x0e3ec32d3d1a2), UINT64_C(0x0efa55fdfa9c4), UINT64_C(0x0fb66affed31a), UINT64_C(0x1073028d7233e),
    UINT64_C(0x11301d0125b50), UINT64_C(0x11edbab5e2ab5), UINT64_C(0x12abdc06c31cb), UINT64_C(0x136a814f204aa),
    UINT64_C(0x1429aaea92ddf), UINT64_C(0x14e95934f312d), UINT64_C(0x15a98c8a58e51), UINT64_C(0x166a45471c3c2),
    UINT64_C(0x172b83c7d517a), UINT64_C(0x17ed48695bbc0), UINT64_C(0x18af9388c8de9), UINT64_C(0x1972658375d2f),
    UINT64_C(0x1a35beb6fcb75), UINT64_C(0x1af99f8138a1c), UINT64_C(0x1bbe084045cd3), UINT64_C(0x1c82f95281c6b),
    UINT64_C(0x1d4873168b9aa), UINT64_C(0x1e0e75eb44026), UINT64_C(0x1ed5022fcd91c), UINT64_C(0x1f9c18438ce4c),
    UINT64_C(0x2063b88628cd6), UINT64_C(0x212be3578a819), UINT64_C(0x21f49917ddc96), UINT64_C(0x22bdda27912d1),
    UINT64_C(0x2387a6e756238), UINT64_C(0x2451ffb82140a), UINT64_C(0x251ce4fb2a63f), UINT64_C(0x25e85711ece75),
    UINT64_C(0x26b4565e27cdd), UINT64_C(0x2780e341ddf29), UINT64_C(0x284dfe1f56380), UINT64_C(0x291ba7591bb6f),
    UINT64_C(0x29e9df51fdee1), UINT64_C(0x2ab8a66d10f12), UINT64_C(0x2b87fd0dad98f), UINT64_C(0x2c57e39771b2e),
    UINT64_C(0x2d285a6e4030b), UINT64_C(0x2df961f641589), UINT64_C(0x2ecafa93e2f56), UINT64_C(0x2f9d24abd886a),
    UINT64_C(0x306fe0a31b715), UINT64_C(0x31432edeeb2fd), UINT64_C(0x32170fc4cd831), UINT64_C(0x32eb83ba8ea31),
    UINT64_C(0x33c08b26416ff), UINT64_C(0x3496266e3fa2c), UINT64_C(0x356c55f929ff0), UINT64_C(0x36431a2de883a),
    UINT64_C(0x371a7373aa9ca), UINT64_C(0x37f26231e7549), UINT64_C(0x38cae6d05d865), UINT64_C(0x39a401b7140ee),
    UINT64_C(0x3a7db34e59ff6), UINT64_C(0x3b57fbfec6cf4), UINT64_C(0x3c32dc313a8e4), UINT64_C(0x3d0e544ede173),
    UINT64_C(0x3dea64c123422), UINT64_C(0x3ec70df1c5174), UINT64_C(0x3fa4504ac801b), UINT64_C(0x40822c367a024),
    UINT64_C(0x4160a21f72e29), UINT64_C(0x423fb27094689), UINT64_C(0x431f5d950a896), UINT64_C(0x43ffa3f84b9d4),
    UINT64_C(0x44e086061892d), UINT64_C(0x45c2042a7d231), UINT64_C(0x46a41ed1d0057), UINT64_C(0x4786d668b3236),
    UINT64_C(0x486a2b5c13cd0), UINT64_C(0x494e1e192aed1), UINT64_C(0x4a32af0d7d3de), UINT64_C(0x4b17dea6db7d6),
    UINT64_C(0x4bfdad5362a27), UINT64_C(0x4ce41b817c114), UINT64_C(0x4dcb299fddd0d), UINT64_C(0x4eb2d81d8abfe),
    UINT64_C(0x4f9b2769d2ca6), UINT64_C(0x508417f4531ee), UINT64_C(0x516daa2cf6641), UINT64_C(0x5257de83f4eee),
    UINT64_C(0x5342b569d4f81), UINT64_C(0x542e2f4f6ad27), UINT64_C(0x551a4ca5d920e), UINT64_C(0x56070dde910d1),
    UINT64_C(0x56f4736b527da), UINT64_C(0x57e27dbe2c4ce), UINT64_C(0x58d12d497c7fd), UINT64_C(0x59c0827ff07cb),
    UINT64_C(0x5ab07dd485429), UINT64_C(0x5ba11fba87a02), UINT64_C(0x5c9268a5946b7), UINT64_C(0x5d84590998b92),
    UINT64_C(0x5e76f15ad2148), UINT64_C(0x5f6a320dceb70), UINT64_C(0x605e1b976dc08), UINT64_C(0x6152ae6cdf6f4),
    UINT64_C(0x6247eb03a5584), UINT64_C(0x633dd1d1929fd), UINT64_C(0x6434634ccc31f), UINT64_C(0x652b9febc8fb6),
    UINT64_C(0x6623882552224), UINT64_C(0x671c1c70833f5), UINT64_C(0x68155d44ca973), UINT64_C(0x690f4b19e9538),
    UINT64_C(0x6a09e667f3bcc), UINT64_C(0x6b052fa75173e), UINT64_C(0x6c012750bdabe), UINT64_C(0x6cfdcddd47645),
    UINT64_C(0x6dfb23c651a2e), UINT64_C(0x6ef9298593ae4), UINT64_C(0x6ff7df9519483), UINT64_C(0x70f7466f42e87),
    UINT64_C(0x71f75e8ec5f73), UINT64_C(0x72f8286ead089), UINT64_C(0x73f9a48a58173), UINT64_C(0x74fbd35d7cbfd),
    UINT64_C(0x75feb564267c8), UINT64_C(0x77024b1ab6e09), UINT64_C(0x780694fde5d3f), UINT64_C(0x790b938ac1cf6),
    UINT64_C(0x7a11473eb0186), UINT64_C(0x7b17b0976cfda), UINT64_C(0x7c1ed0130c132), UINT64_C(0x7d26a62ff86f0),
    UINT64_C(0x7e2f336cf4e62), UINT64_C(0x7f3878491c490), UINT64_C(0x80427543e1a11), UINT64_C(0x814d2add106d9),
    UINT64_C(0x82589994cce12), UINT64_C(0x8364c1eb941f7), UINT64_C(0x8471a4623c7ac), UINT64_C(0x857f4179f5b20),
    UINT64_C(0x868d99b4492ec), UINT64_C(0x879cad931a436), UINT64_C(0x88ac7d98a6699), UINT64_C(0x89bd0a478580f),
    UINT64_C(0x8ace5422aa0db), UINT64_C(0x8be05bad61778), UINT64_C(0x8cf3216b5448b), UINT64_C(0x8e06a5e0866d8),
    UINT64_C(0x8f1ae99157736), UINT64_C(0x902fed0282c8a), UINT64_C(0x9145b0b91ffc5), UINT64_C(0x925c353aa2fe1),
    UINT64_C(0x93737b0cdc5e4), UINT64_C(0x948b82b5f98e4), UINT64_C(0x95a44cbc8520e), UINT64_C(0x96bdd9a7670b2),
    UINT64_C(0x97d829fde4e4f), UINT64_C(0x98f33e47a22a2), UINT64_C(0x9a0f170ca07b9), UINT64_C(0x9b2bb4d53fe0c),
    UINT64_C(0x9c49182a3f090), UINT64_C(0x9d674194bb8d4), UINT64_C(0x9e86319e32323), UINT64_C(0x9fa5e8d07f29d),
    UINT64_C(0xa0c667b5de564), UINT64_C(0xa1e7aed8eb8bb), UINT64_C(0xa309bec4a2d33), UINT64_C(0xa42c980460ad7),
    UINT64_C(0xa5503b23e255c), UINT64_C(0xa674a8af46052), UINT64_C(0xa799e1330b358), UINT64_C(0xa8bfe53c12e58),
    UINT64_C(0xa9e6b5579fdbf), UINT64_C(0xab0e521356eba), UINT64_C(0xac36bbfd3f379), UINT64_C(0xad5ff3a3c2774),
    UINT64_C(0xae89f995ad3ad), UINT64_C(0xafb4ce622f2fe), UINT64_C(0xb0e07298db665), UINT64_C(0xb20ce6c9a8952),
    UINT64_C(0xb33a2b84f15fa), UINT64_C(0xb468415b749b0), UINT64_C(0xb59728de55939), UINT64_C(0xb6c6e29f1c52a),
    UINT64_C(0xb7f76f2fb5e46), UINT64_C(0xb928cf22749e3), UINT64_C(0xba5b030a10649), UINT64_C(0xbb8e0b79a6f1e),
    UINT64_C(0xbcc1e904bc1d2), UINT64_C(0xbdf69c3f3a206), UINT64_C(0xbf2c25bd71e08), UINT64_C(0xc06286141b33c),
    UINT64_C(0xc199bdd85529c), UINT64_C(0xc2d1cd9fa652b), UINT64_C(0xc40ab5fffd07a), UINT64_C(0xc544778fafb22),
    UINT64_C(0xc67f12e57d14b), UINT64_C(0xc7ba88988c932), UINT64_C(0xc8f6d9406e7b5), UINT64_C(0xca3405751c4da),
    UINT64_C(0xcb720dcef9069), UINT64_C(0xccb0f2e6d1674), UINT64_C(0xcdf0b555dc3f9), UINT64_C(0xcf3155b5bab73),
    UINT64_C(0xd072d4a07897b), UINT64_C(0xd1b532b08c968), UINT64_C(0xd2f87080d89f1), UINT64_C(0xd43c8eacaa1d6),
    UINT64_C(0xd5818dcfba487), UINT64_C(0xd6c76e862e6d3), UINT64_C(0xd80e316c98397), UINT64_C(0xd955d71ff6075),
    UINT64_C(0xda9e603db3285), UINT64_C(0xdbe7cd63a8314), UINT64_C(0xdd321f301b460), UINT64_C(0xde7d5641c0657),
    UINT64_C(0xdfc97337b9b5e), UINT64_C(0xe11676b197d16), UINT64_C(0xe264614f5a128), UINT64_C(0xe3b333b16ee11),
    UINT64_C(0xe502ee78b3ff6), UINT64_C(0xe653924676d75), UINT64_C(0xe7a51fbc74c83), UINT64_C(0xe8f7977cdb73f),
    UINT64_C(0xea4afa2a490d9), UINT64_C(0xeb9f4867cca6e), UINT64_C(0xecf482d8e67f0), UINT64_C(0xee4aaa2188510),
    UINT64_C(0xefa1bee615a27), UINT64_C(0xf0f9c1cb64129), UINT64_C(0xf252b376bba97), UINT64_C(0xf3ac948dd7273),
    UINT64_C(0xf50765b6e4540), UINT64_C(0xf6632798844f8), UINT64_C(0xf7bfdad9cbe13), UINT64_C(0xf91d802243c88),
    UINT64_C(0xfa7c1819e90d8), UINT64_C(0xfbdba3692d513), UINT64_C(0xfd3c22b8f71f1), UINT64_C(0xfe9d96b2a23d9),
};

const uint64_t *smx_native_mantissas(void)
{
    return mantissas;
}

/* The dense range a spec gets when it names none: 512 buckets per sign
 * centred on 1, within the doubles' exponents. */
static void default_range(int32_t s, int32_t *emin, int32_t *emax)
{
    int32_t half = s >= 0 ? 256 >> s : 256 << -s;
    *emin = half > -SHM_NATIVE_MIN_EXPONENT ? SHM_NATIVE_MIN_EXPONENT : -half;
    *emax = half > SHM_NATIVE_MAX_EXPONENT ? SHM_NATIVE_MAX_EXPONENT : half;
}

static const char *kind_name(uint32_t kind)
{
    return kind == SHM_NATIVE_ONLY ? "native" : kind == SHM_NATIVE_BOTH ? "classic and native" : "classic";
}

int smx_native_parse(const shmetrics_spec_t *spec, uint32_t type, struct smx_spec *o)
{
    bool any = spec->native_schema || spec->native_zero_threshold != 0 || spec->native_max_buckets ||
               spec->native_min_exponent || spec->native_max_exponent;
    if (type != SHMETRICS_HISTOGRAM) {
        if (spec->native || any)
            return smx_fail(-EINVAL, "%s: native histogram fields are for histograms, not for a %s", o->name,
                            smx_type_name(type));
        return 0;
    }
    if ((uint32_t)spec->native > SHM_NATIVE_BOTH)
        return smx_fail(-EINVAL, "histogram %s: native is %d, none of classic (0), native (1) and both (2)", o->name,
                        (int)spec->native);
    o->native_kind = (uint32_t)spec->native;
    if (o->native_kind == SHM_NATIVE_NONE) {
        if (any)
            return smx_fail(-EINVAL,
                            "histogram %s is classic: native_schema, native_zero_threshold, native_max_buckets and "
                            "the native exponents need native set to native or both",
                            o->name);
        return 0;
    }
    if (o->native_kind == SHM_NATIVE_ONLY && spec->buckets)
        return smx_fail(-EINVAL, "histogram %s is native only: classic buckets given (native both keeps both)",
                        o->name);
    int32_t s = spec->native_schema;
    if (s < SHM_NATIVE_MIN_SCHEMA || s > SHM_NATIVE_MAX_SCHEMA)
        return smx_fail(-EINVAL, "histogram %s: native_schema %d is outside %d..%d", o->name, (int)s,
                        SHM_NATIVE_MIN_SCHEMA, SHM_NATIVE_MAX_SCHEMA);
    double z = spec->native_zero_threshold;
    if (!(z >= 0) || isinf(z))
        return smx_fail(-EINVAL, "histogram %s: native_zero_threshold %g must be finite and at least 0", o->name, z);
    int32_t emin = spec->native_min_exponent, emax = spec->native_max_exponent;
    if (emin == 0 && emax == 0)
        default_range(s, &emin, &emax);
    if (emin >= emax || emin < SHM_NATIVE_MIN_EXPONENT || emax > SHM_NATIVE_MAX_EXPONENT)
        return smx_fail(-EINVAL, "histogram %s: the native exponents %d..%d must be increasing and within %d..%d",
                        o->name, (int)emin, (int)emax, SHM_NATIVE_MIN_EXPONENT, SHM_NATIVE_MAX_EXPONENT);
    int64_t w = (int64_t)shm_native_hi(s, emax) - shm_native_lo(s, emin) + 1;
    if (w > SHM_NATIVE_MAX_WINDOW)
        return smx_fail(-EINVAL,
                        "histogram %s: the native range 2^%d..2^%d at schema %d takes %lld buckets per sign, more "
                        "than %u",
                        o->name, (int)emin, (int)emax, (int)s, (long long)w, SHM_NATIVE_MAX_WINDOW);
    o->native_schema = s;
    o->native_zero_threshold = z == 0 ? SHMETRICS_NATIVE_ZERO_THRESHOLD : z;
    o->native_max_buckets = spec->native_max_buckets ? spec->native_max_buckets : SHMETRICS_NATIVE_MAX_BUCKETS_DEFAULT;
    o->native_min_exponent = emin;
    o->native_max_exponent = emax;
    return 0;
}

int smx_native_compare(const struct smx_metric *m, const struct smx_spec *s)
{
    if (m->native_kind != s->native_kind)
        return smx_fail(-EEXIST, "%s is already registered as a %s histogram, not a %s one", m->name,
                        kind_name(m->native_kind), kind_name(s->native_kind));
    if (m->native_kind == SHM_NATIVE_NONE)
        return 0;
    if (m->native_schema != s->native_schema)
        return smx_fail(-EEXIST, "%s is already registered with native schema %d, not %d", m->name,
                        (int)m->native_schema, (int)s->native_schema);
    if (memcmp(&m->native_zero_threshold, &s->native_zero_threshold, sizeof(double)) != 0)
        return smx_fail(-EEXIST, "%s is already registered with native zero threshold %g, not %g", m->name,
                        m->native_zero_threshold, s->native_zero_threshold);
    if (m->native_max_buckets != s->native_max_buckets)
        return smx_fail(-EEXIST, "%s is already registered with at most %u native buckets, not %u", m->name,
                        m->native_max_buckets, s->native_max_buckets);
    if (m->native_min_exponent != s->native_min_exponent || m->native_max_exponent != s->native_max_exponent)
        return smx_fail(-EEXIST, "%s is already registered with the native range 2^%d..2^%d, not 2^%d..2^%d", m->name,
                        (int)m->native_min_exponent, (int)m->native_max_exponent, (int)s->native_min_exponent,
                        (int)s->native_max_exponent);
    return 0;
}

uint32_t smx_native_cells(uint32_t kind, int32_t schema, uint32_t nbuckets, int32_t emin, int32_t emax)
{
    uint32_t w = (uint32_t)(shm_native_hi(schema, emax) - shm_native_lo(schema, emin) + 1);
    return SHM_NATIVE_CELLS(kind, nbuckets, w);
}

int smx_native_setup(struct smx_metric *m)
{
    if (m->native_kind == SHM_NATIVE_NONE)
        return 0;
    struct shmetrics_native_ *n = &m->native;
    int32_t s = m->native_schema;
    if (s > 0) {
        /* The bounds, a sentinel, and the lookup of the count of bounds
         * below each 2^(s+1)-th of the mantissas. */
        uint32_t nb = 1u << s;
        uint64_t *b = malloc(sizeof *b * (nb + 1) + sizeof(uint16_t) * 2 * nb);
        if (!b)
            return smx_fail(-ENOMEM, "out of memory");
        for (uint32_t k = 0; k < nb; k++)
            b[k] = mantissas[k << (8 - s)];
        b[nb] = UINT64_MAX;
        uint16_t *lookup = (uint16_t *)(b + nb + 1);
        for (uint32_t c = 0, k = 0; c < 2 * nb; c++) {
            while (k < nb && b[k] < (uint64_t)c << (51 - s))
                k++;
            lookup[c] = (uint16_t)k;
        }
        m->native_bounds = b;
        n->lookup = lookup;
    }
    memcpy(&n->zero_bits, &m->native_zero_threshold, sizeof n->zero_bits);
    n->bounds = m->native_bounds;
    n->schema = s;
    n->lo = shm_native_lo(s, m->native_min_exponent);
    n->hi = shm_native_hi(s, m->native_max_exponent);
    n->sum = SHM_NATIVE_SUM(m->native_kind, m->nbuckets);
    n->neg = n->sum + SHM_NATIVE_NEG;
    n->pos = n->neg + (uint32_t)(n->hi - n->lo + 1);
    n->classic = m->native_kind == SHM_NATIVE_BOTH;
    n->reg = m->reg;
    return 0;
}

int32_t smx_native_key(int32_t s, double mag)
{
    if (isinf(mag))
        return smx_native_key(s, DBL_MAX) + 1; /* the bucket after the largest double's */
    int e;
    double frac = frexp(mag, &e); /* mag = frac * 2^e, frac in [0.5, 1) */
    uint64_t bits;
    double one_m = frac * 2; /* 1.m, exact */
    memcpy(&bits, &one_m, sizeof bits);
    uint64_t mbits = bits & ((UINT64_C(1) << 52) - 1);
    e -= 1; /* mag = 1.m * 2^e */
    if (s <= 0)
        return (e + (mbits != 0) + (1 << -s) - 1) >> -s;
    int32_t j = 0;
    while (j < (1 << s) && mantissas[(uint32_t)j << (8 - s)] < mbits)
        j++;
    return e * (1 << s) + j;
}

/* Count bucket `key` of sign `neg` in the spill slots of block `c` (from
 * the native part's sum word): the slot holding its key, else the first
 * free one, claimed by compare-and-swap.  False when every slot holds
 * another bucket. */
static bool spill(uint64_t *c, int32_t key, bool neg)
{
    uint64_t want = SHM_NATIVE_KEY_SET | (neg ? SHM_NATIVE_KEY_NEG : 0) | (uint32_t)key;
    for (uint32_t i = 0; i < SHM_NATIVE_SPILL; i++) {
        uint64_t *slot = &c[SHM_NATIVE_SLOTS + 2 * i];
        uint64_t k = shmetrics_load_relaxed(slot);
        if (k == 0) {
            uint64_t seen = shmetrics_cas_seq_cst(slot, (uint64_t)0, want);
            k = seen == 0 ? want : seen;
        }
        if (k == want) {
            shmetrics_add_relaxed(&slot[1], (uint64_t)1);
            return true;
        }
    }
    return false;
}

void shmetrics_native_observe_slow_(struct shmetrics_histogram_series *h, double v)
{
    const struct shmetrics_native_ *n = h->native;
    uint64_t *c;
    if (isnan(v)) {
        c = shmetrics_cells_add_(&h->cells, n->sum + SHM_NATIVE_NAN, 1);
    } else {
        double mag = fabs(v);
        int32_t key = smx_native_key(n->schema, mag);
        bool neg = signbit(v);
        if (key >= n->lo && key <= n->hi) { /* a subnormal magnitude in range */
            c = shmetrics_cells_add_(&h->cells, (neg ? n->neg : n->pos) + (uint32_t)(key - n->lo), 1);
        } else {
            c = shmetrics_cells_(&h->cells);
            if (!spill(c + n->sum, key, neg)) {
                shmetrics_add_relaxed(&c[n->sum + SHM_NATIVE_UNPLACED], (uint64_t)1);
                shm_count_unplaced(n->reg->arena);
            }
        }
    }
    if (n->classic)
        shmetrics_add_relaxed(&c[shmetrics_bucket_index_(h->bounds, h->nbuckets, v)], (uint64_t)1);
    shmetrics_sum_add_(&c[n->sum], v);
}
