/* SPDX-License-Identifier: MIT */
/*
 * shm/exemplar.c - owns exemplar blocks: allocating and publishing a
 * series' block, and the protocol by which any number of writers, in any
 * number of processes, store the last exemplar of a counter or a bucket
 * while readers copy it, without a lock and without a torn exemplar.
 *
 * THE BLOCK
 *
 * A counter or histogram series has no exemplar block until its first
 * exemplar.  The writer of that exemplar allocates one from the cell pool
 * (shm_pool_alloc: fallocate first, so no write ever faults), fills in its
 * header line (magic, series index, slot count) and publishes it with a
 * compare-and-swap of the series record's `exemplars` word from 0 to
 * 1 + the block's pool word index.  A writer that loses that race counts
 * its block as abandoned (the pool is a bump allocator: words behind
 * another allocation cannot be given back) and uses the winner's.  The
 * word never changes again, and the block is never freed.  A process keeps
 * the address in its series handle once the block passed the same checks
 * a reader makes (shm_exemplar_find), so a damaged record cannot make a
 * write land anywhere else.
 *
 * THE SLOT: A SEQUENCE LOCK THAT NOBODY WAITS FOR
 *
 * Each slot (layout.h) is a sequence word, the value, the timestamp, the
 * length of the label text and the text: 72 words.  Exemplars are
 * last-writer-wins and each one is a sample among many: losing one costs
 * nothing, while waiting would put a spin in the hot path.  So a writer
 * never waits, and a reader never blocks a writer.
 *
 * Writer:
 *   1. Load the sequence word s (relaxed).
 *   2. If s is even, compare-and-swap it to "busy": (own pid << 32) |
 *      (count << 1) | 1, count = the completed writes in s.  A failed CAS
 *      means another writer took the slot first: this exemplar is dropped,
 *      and counted (header word 3).  The CAS is sequentially consistent,
 *      so no store below moves before it.
 *   3. If s is odd, a write is in progress, or its writer died in the
 *      middle.  The pid in s tells which: if that process exists (kill(pid,
 *      0) succeeds or says EPERM; a thread of this very process counts as
 *      alive), drop and count the exemplar.  If it does not, take the slot
 *      over by a CAS from s to this writer's busy word, counted in header
 *      word 4; a failed CAS drops the exemplar as in 2.
 *      (Steps 1-3 are shm_exemplar_begin, 4-5 shm_exemplar_end.)
 *   4. Store value, timestamp, length and the text word by word, each a
 *      relaxed atomic store (so that ThreadSanitizer sees no data race; a
 *      64-bit relaxed store is a plain mov on the machines we run on).
 *   5. Release-store the sequence word ((count + 1) mod 2^31) << 1: even
 *      again, pid cleared, so every store of 4 happens-before any reader
 *      that acquires the new word.
 *
 * Reader:
 *   1. Acquire-load s1.  Odd: a write is in progress; spin and retry, at
 *      most EXEMPLAR_READ_TRIES times, then give up (-EAGAIN: the caller
 *      skips the exemplar for this scrape, it will be there next time).
 *   2. Copy value, timestamp, length and min(length, 512) bytes of text
 *      with acquire loads, word by word, into private memory, so that
 *      none of them can be satisfied after the next load (a fence would
 *      do the same, but ThreadSanitizer does not follow fences); then
 *   3. load s2 (relaxed).
 *   4. s2 != s1: a writer came by; retry as in 1.  Else the copy is one
 *      writer's whole exemplar, and only now is it checked (length within
 *      bounds here; label syntax, UTF-8 and the value by the caller): a
 *      copy taken while a writer wrote may hold any bytes, and checking it
 *      before 4 could only report damage that is not there.
 *
 * Why the copy is whole: the writer's busy CAS comes before its field
 * stores, and its even release store after them.  A reader whose s1 and
 * s2 are the same even value saw no busy word in between (every write
 * moves the word to odd and then to a different even value: the count
 * wraps only after 2^31 writes, far more than fit in one copy of 72
 * words), so none of its loads read a store of a write that began after
 * s1, and, having acquired s1, all of them see the writes completed by s1.
 *
 * WRITERS THAT DIE
 *
 * A writer killed (kill -9, a crash) between 2 and 5 leaves the word odd
 * for ever.  Its pid is in the word, so the next writer to find it finds
 * the process gone and takes over (3); its own write then rewrites every
 * field, so nothing of the dead writer's half-write survives its release.
 * A writer that is only stopped (SIGSTOP, a debugger) keeps its slot: its
 * process exists, writers drop their exemplars for that slot until it
 * resumes and finishes, and readers skip the slot meanwhile.  A timeout
 * would be wrong here: a writer stopped past it and then resumed would
 * store into a slot that someone else owns, and a reader could see the
 * mixture with an even sequence word.  The price of pids is reuse: if the
 * kernel gives a dead writer's pid to another process before the next
 * exemplar comes, that slot drops its exemplars until that process exits.
 * The arena already names processes by pid (the process table), so all
 * processes of an arena must share a pid namespace, as they do for it.
 * The reader never writes: a slot left odd is skipped, never a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <urcu/arch.h>

#include "arena_priv.h"
#include "base/error.h"

#define EXEMPLAR_READ_TRIES 64
#define SEQ_COUNT_MASK UINT64_C(0x7fffffff)

_Static_assert(sizeof(((struct shm_exemplar *)0)->text) == SHM_EXEMPLAR_TEXT, "exemplar text size");

int shm_exemplar_stop_hook;

/* Where a block at 1 + pool word `w` stands: 0 and *out when it lies
 * inside what the pool has handed out and its header names `series` and
 * `nslots` slots (nslots 0: whatever count it names, its slots inside the
 * pool too); 1 when it lies outside; 2 for a header that says otherwise.
 * Sets no message: the scrape's check and the counts' walk share it. */
static int block_where(const struct shm_arena *a, uint32_t series, uint32_t nslots, uint64_t w, const uint64_t **out)
{
    uint64_t word = w - 1, used = shmetrics_load_acquire(&a->sh->pool_used), cap = a->h.pool_bytes / 8;
    if (used > cap)
        used = cap;
    if (word % SHM_LINE_WORDS || word > used || SHM_EXEMPLAR_HEADER_WORDS > used - word)
        return 1;
    const uint64_t *b = shm_pool(a) + word;
    uint64_t have = shmetrics_load_relaxed(&b[SHM_EXEMPLAR_NSLOTS_W]);
    if (nslots == 0 && have <= UINT32_MAX)
        nslots = (uint32_t)have;
    if (SHM_EXEMPLAR_BLOCK_WORDS(nslots) > used - word)
        return 1;
    if (shmetrics_load_relaxed(&b[SHM_EXEMPLAR_MAGIC_W]) != SHM_EXEMPLARS_MAGIC ||
        shmetrics_load_relaxed(&b[SHM_EXEMPLAR_SERIES_W]) != series || have != nslots)
        return 2;
    *out = b;
    return 0;
}

/* The block at 1 + word `w` of the pool, if it is one for (series, nslots)
 * that lies inside what the pool has handed out. */
static int block_at(const struct shm_arena *a, uint32_t series, uint32_t nslots, uint64_t w, const uint64_t **out)
{
    switch (block_where(a, series, nslots, w, out)) {
    case 0:
        return 0;
    case 1:
        return smx_fail(-EBADMSG, "series record %u: exemplar block out of range", series);
    default:
        return smx_fail(-EBADMSG, "series record %u: bad exemplar block header", series);
    }
}

int shm_exemplar_find(const struct shm_arena *a, uint32_t series, uint32_t nslots, const uint64_t **block)
{
    if (series >= a->h.series_cap)
        return smx_fail(-EINVAL, "series record %u is out of range", series);
    uint64_t w = shmetrics_load_acquire(&shm_series_recs(a)[series].exemplars);
    if (w == 0)
        return -ENOENT;
    return block_at(a, series, nslots, w, block);
}

int shm_exemplar_block(struct shm_arena *a, uint32_t series, uint32_t nslots, uint64_t **block)
{
    const uint64_t *found = NULL;
    int rc = shm_exemplar_find(a, series, nslots, &found);
    if (rc != -ENOENT) {
        *block = (uint64_t *)(uintptr_t)found;
        return rc;
    }
    uint64_t word;
    rc = shm_pool_alloc(a, SHM_EXEMPLAR_BLOCK_WORDS(nslots), SHM_LINE_WORDS, "an exemplar block", &word);
    if (rc < 0)
        return rc;
    uint64_t *b = shm_pool(a) + word;
    shmetrics_store_relaxed(&b[SHM_EXEMPLAR_MAGIC_W], SHM_EXEMPLARS_MAGIC);
    shmetrics_store_relaxed(&b[SHM_EXEMPLAR_SERIES_W], (uint64_t)series);
    shmetrics_store_relaxed(&b[SHM_EXEMPLAR_NSLOTS_W], (uint64_t)nslots);
    uint64_t *rec = &shm_series_recs(a)[series].exemplars;
    uint64_t seen = shmetrics_cas_seq_cst(rec, (uint64_t)0, word + 1);
    if (seen == 0) {
        *block = b;
        return 0;
    }
    shm_count_abandoned(a); /* another writer published first: use theirs */
    rc = block_at(a, series, nslots, seen, &found);
    *block = (uint64_t *)(uintptr_t)found;
    return rc;
}

/* This process's pid, cached (getpid is a system call): cleared in a
 * forked child, which then looks its own up. */
static uint32_t my_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    shmetrics_store_relaxed(&my_pid, 0u);
}

static void register_forget(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static uint32_t own_pid(void)
{
    uint32_t p = shmetrics_load_relaxed(&my_pid);
    if (__builtin_expect(p == 0, 0)) {
        pthread_once(&pid_once, register_forget);
        p = (uint32_t)getpid();
        shmetrics_store_relaxed(&my_pid, p);
    }
    return p;
}

/* Does the process of a busy sequence word still exist?  Another thread of
 * this one does, without asking the kernel. */
static bool writer_alive(uint64_t s)
{
    pid_t pid = (pid_t)(s >> 32);
    if (pid <= 0)
        return false; /* no pid: nobody can finish it */
    if ((uint32_t)pid == own_pid())
        return true;
    return kill(pid, 0) == 0 || errno == EPERM;
}

static uint64_t *slot_of(uint64_t *block, uint32_t slot)
{
    return block + SHM_EXEMPLAR_HEADER_WORDS + (uint64_t)slot * SHM_EXEMPLAR_SLOT_WORDS;
}

int shm_exemplar_begin(uint64_t *block, uint32_t slot, uint64_t *ticket)
{
    uint64_t *x = slot_of(block, slot);
    uint64_t s = shmetrics_load_relaxed(&x[SHM_EXEMPLAR_SEQ]);
    bool takeover = false;
    if (s & 1) {
        int e = errno;
        bool alive = writer_alive(s);
        errno = e;
        if (alive)
            goto dropped;
        takeover = true;
    }
    uint64_t count = (s >> 1) & SEQ_COUNT_MASK;
    uint64_t busy = ((uint64_t)own_pid() << 32) | (count << 1) | 1u;
    if (shmetrics_cas_seq_cst(&x[SHM_EXEMPLAR_SEQ], s, busy) != s)
        goto dropped;
    if (takeover)
        shmetrics_add_relaxed(&block[SHM_EXEMPLAR_TAKEN_W], 1);
    *ticket = busy;
    return 0;
dropped:
    shmetrics_add_relaxed(&block[SHM_EXEMPLAR_DROPPED_W], 1);
    return 1;
}

/* Store the label text, `n` strings each followed by its NUL, into the
 * slot's text words, word by word with relaxed stores, and return its
 * length.  On a little-endian machine eight bytes of a string are one load
 * shifted into place (the strings follow each other at any byte offset);
 * elsewhere the text is put together in private memory first.  The bytes
 * after the text in its last word are zero. */
static uint32_t store_text(uint64_t *dst, const char *const *str, const uint16_t *len, size_t n)
{
    uint32_t total = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t acc = 0; /* the next word's first `fill` bytes */
    unsigned fill = 0;
    uint32_t w = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)str[i];
        size_t l = len[i], k = 0;
        for (; k + 8 <= l; k += 8) {
            uint64_t x;
            memcpy(&x, p + k, 8);
            shmetrics_store_relaxed(&dst[w++], fill ? acc | x << (8 * fill) : x);
            acc = fill ? x >> (64 - 8 * fill) : 0;
        }
        for (; k <= l; k++) { /* the rest, then the NUL */
            acc |= (uint64_t)(k < l ? p[k] : 0) << (8 * fill);
            if (++fill == 8) {
                shmetrics_store_relaxed(&dst[w++], acc);
                acc = 0;
                fill = 0;
            }
        }
        total += (uint32_t)l + 1;
    }
    if (fill)
        shmetrics_store_relaxed(&dst[w], acc);
#else
    uint64_t words[SHM_EXEMPLAR_TEXT / 8] = {0};
    char *text = (char *)words;
    for (size_t i = 0; i < n; i++) {
        memcpy(text + total, str[i], len[i]);
        total += (uint32_t)len[i] + 1; /* the NUL: words are zeroed */
    }
    for (uint32_t i = 0; i < (total + 7) / 8; i++)
        shmetrics_store_relaxed(&dst[i], words[i]);
#endif
    return total;
}

void shm_exemplar_end(uint64_t *block, uint32_t slot, uint64_t ticket, double value, uint64_t ts_ns,
                      const char *const *str, const uint16_t *len, size_t n)
{
    uint64_t *x = slot_of(block, slot);
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    shmetrics_store_relaxed(&x[SHM_EXEMPLAR_VALUE], bits);
    if (shmetrics_load_relaxed(&shm_exemplar_stop_hook))
        raise(SIGSTOP); /* tests: a writer killed in the middle of a write */
    shmetrics_store_relaxed(&x[SHM_EXEMPLAR_TS], ts_ns);
    uint32_t total = store_text(&x[SHM_EXEMPLAR_TEXT_W], str, len, n);
    shmetrics_store_relaxed(&x[SHM_EXEMPLAR_LEN], (uint64_t)total);
    uint64_t count = (ticket >> 1) & SEQ_COUNT_MASK;
    shmetrics_store_release(&x[SHM_EXEMPLAR_SEQ], ((count + 1) & SEQ_COUNT_MASK) << 1);
}

int shm_exemplar_read(const uint64_t *block, uint32_t slot, struct shm_exemplar *out)
{
    const uint64_t *x = slot_of((uint64_t *)(uintptr_t)block, slot);
    uint64_t words[SHM_EXEMPLAR_TEXT / 8];
    for (int tries = 0; tries < EXEMPLAR_READ_TRIES; tries++) {
        if (tries)
            caa_cpu_relax();
        uint64_t s1 = shmetrics_load_acquire(&x[SHM_EXEMPLAR_SEQ]);
        if (s1 & 1)
            continue;
        /* Acquire loads of the fields (plain loads on x86): the second
         * load of the word cannot be made before them, which is what a
         * fence would give, and what ThreadSanitizer can follow. */
        uint64_t bits = shmetrics_load_acquire(&x[SHM_EXEMPLAR_VALUE]);
        uint64_t ts = shmetrics_load_acquire(&x[SHM_EXEMPLAR_TS]);
        uint64_t len = shmetrics_load_acquire(&x[SHM_EXEMPLAR_LEN]);
        uint32_t nw = (uint32_t)((len < SHM_EXEMPLAR_TEXT ? len : SHM_EXEMPLAR_TEXT) + 7) / 8;
        for (uint32_t i = 0; i < nw; i++)
            words[i] = shmetrics_load_acquire(&x[SHM_EXEMPLAR_TEXT_W + i]);
        if (shmetrics_load_relaxed(&x[SHM_EXEMPLAR_SEQ]) != s1)
            continue;
        if (s1 == 0 && ts == 0)
            return -ENOENT; /* never written */
        if (len > SHM_EXEMPLAR_TEXT)
            return smx_fail(-EBADMSG, "exemplar %u: label text of %llu bytes", slot, (unsigned long long)len);
        memcpy(&out->value, &bits, sizeof bits);
        out->ts_ns = ts;
        out->len = (uint32_t)len;
        memcpy(out->text, words, len);
        return 0;
    }
    return -EAGAIN;
}

void shm_exemplar_totals(const struct shm_arena *a, uint64_t *dropped, uint64_t *taken)
{
    uint64_t d = 0, t = 0;
    uint32_t n = shm_series_used(a);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = shmetrics_load_acquire(&shm_series_recs(a)[i].exemplars);
        const uint64_t *b;
        if (w == 0 || block_where(a, i, 0, w, &b) != 0)
            continue; /* none, or damaged: the scrape reports it, the totals skip it */
        uint64_t bd, bt;
        shm_exemplar_counts(b, &bd, &bt);
        d += bd;
        t += bt;
    }
    *dropped = d;
    *taken = t;
}

void shm_exemplar_counts(const uint64_t *block, uint64_t *dropped, uint64_t *taken)
{
    *dropped = shmetrics_load_relaxed(&block[SHM_EXEMPLAR_DROPPED_W]);
    *taken = shmetrics_load_relaxed(&block[SHM_EXEMPLAR_TAKEN_W]);
}
