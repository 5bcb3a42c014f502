/* SPDX-License-Identifier: MIT */
/*
 * tests/scribble.c - owns the hostile writer: a process that maps an arena
 * read-write and overwrites bytes of one region with random ones for a
 * bounded time, as a compromised or broken worker could.
 *
 *   scribble ARENA REGION SECONDS SEED [FAMILY]
 *
 * REGION is one of
 *   header-fixed   bytes 0..255 and 512..4095 of the header
 *   header-words   bytes 256..511 (allocation words, statistics, lock)
 *   procs          the process table
 *   family-index, series-index
 *   families       family records (with FAMILY: that family's record only)
 *   series         series records (with FAMILY: that family's series only)
 *   heap           the heap (with FAMILY: its name, help, label names,
 *                  buckets, quantiles and its series' label values)
 *   cells          the cell pool and every process unit (with FAMILY: its
 *                  series' base blocks, stripe directory included, or, for
 *                  a gauge, its series' lines in every process unit)
 *   exemplars      the exemplar blocks of every series (with FAMILY: of its
 *                  series), header lines and slots
 *   all            the whole file
 * It writes runs of 1 to 16 random bytes (sometimes 0, 2, 3 or 0xff words)
 * at random places of the region until SECONDS pass, then, for a region of
 * records, strings or slots, leaves one certain defect (a ready word of
 * 0xdeadbeef, a 0xff byte in a name), so that a reader has damage to count.
 * It prints the number of writes and exits 0.  It reads the layout from the
 * header before it starts, and knows the format only through
 * shm/layout.h.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../shm/layout.h"

#define MAX_RANGES 4096

struct range {
    uint64_t start, end;
};

static struct range ranges[MAX_RANGES];
static size_t nranges;
static uint64_t defect = UINT64_MAX; /* offset of the final defect */
static uint32_t defect_word;         /* 0: a 0xff byte, else this u32 */
static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void add(uint64_t start, uint64_t len, uint64_t file)
{
    if (start >= file || len == 0 || nranges == MAX_RANGES)
        return;
    if (len > file - start)
        len = file - start;
    ranges[nranges++] = (struct range){start, start + len};
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int find_family(const char *base, const struct shm_header *h, const char *name)
{
    const struct shm_family *f = (const struct shm_family *)(base + h->off_families);
    const char *heap = base + h->off_heap;
    for (uint32_t i = 0; i < h->families_used && i < h->families_cap; i++)
        if (f[i].name_len == strlen(name) && (uint64_t)f[i].name_off + f[i].name_len < h->heap_bytes &&
            memcmp(heap + f[i].name_off, name, f[i].name_len) == 0)
            return (int)i;
    return -1;
}

/* The byte ranges of a region, for one family or all. */
static int plan(const char *base, const struct shm_header *h, const char *region, int fam)
{
    uint64_t file = h->file_bytes;
    const struct shm_family *fr = (const struct shm_family *)(base + h->off_families);
    const struct shm_series *sr = (const struct shm_series *)(base + h->off_series);
    uint32_t ns = h->series_used < h->series_cap ? h->series_used : h->series_cap;
    if (strcmp(region, "header-fixed") == 0) {
        add(0, 256, file);
        add(512, SHM_PAGE - 512, file);
    } else if (strcmp(region, "header-words") == 0) {
        add(256, 256, file);
    } else if (strcmp(region, "procs") == 0) {
        add(h->off_procs, (uint64_t)h->processes_cap * sizeof(struct shm_proc), file);
        defect = h->off_procs;
        defect_word = 0xdeadbeef;
    } else if (strcmp(region, "family-index") == 0) {
        add(h->off_family_index, (uint64_t)h->family_buckets * 4, file);
    } else if (strcmp(region, "series-index") == 0) {
        add(h->off_series_index, (uint64_t)h->series_buckets * 4, file);
    } else if (strcmp(region, "families") == 0) {
        uint64_t first = fam >= 0 ? (uint64_t)fam : 0, n = fam >= 0 ? 1 : h->families_cap;
        add(h->off_families + first * sizeof *fr, n * sizeof *fr, file);
        defect = h->off_families + first * sizeof *fr;
        defect_word = 0xdeadbeef;
    } else if (strcmp(region, "series") == 0) {
        for (uint32_t i = 0; i < h->series_cap; i++)
            if (fam < 0 || (i < ns && sr[i].family == (uint32_t)fam)) {
                add(h->off_series + (uint64_t)i * sizeof *sr, sizeof *sr, file);
                if (defect == UINT64_MAX) {
                    defect = h->off_series + (uint64_t)i * sizeof *sr;
                    defect_word = 0xdeadbeef;
                }
            }
    } else if (strcmp(region, "heap") == 0) {
        if (fam < 0) {
            add(h->off_heap, h->heap_bytes, file);
            defect = h->off_heap; /* the first name registered */
        } else {
            const struct shm_family *f = &fr[fam];
            add(h->off_heap + f->name_off, f->name_len, file);
            add(h->off_heap + f->help_off, f->help_len, file);
            add(h->off_heap + f->labels_off, f->labels_len, file);
            add(h->off_heap + f->buckets_off, (uint64_t)f->nbuckets * 8, file);
            add(h->off_heap + f->quantiles_off, (uint64_t)f->nquantiles * 8, file);
            for (uint32_t i = 0; i < ns; i++)
                if (sr[i].family == (uint32_t)fam)
                    add(h->off_heap + sr[i].key_off, sr[i].key_len, file);
            defect = h->off_heap + f->name_off;
        }
    } else if (strcmp(region, "cells") == 0) {
        if (fam < 0) {
            add(h->off_pool, file - h->off_pool, file);
        } else {
            const struct shm_family *f = &fr[fam];
            bool gauge = f->type == SHM_TYPE_GAUGE;
            uint64_t units = gauge ? (uint64_t)h->processes_cap + 1 : 1;
            uint64_t base_off = gauge ? h->off_proc_units : h->off_pool;
            uint64_t unit = gauge ? h->proc_unit_bytes : 0;
            uint64_t words = gauge ? SHM_GAUGE_CELLS : SHM_BLOCK_WORDS(f->ncells);
            for (uint32_t i = 0; i < ns; i++)
                if (sr[i].family == (uint32_t)fam && sr[i].cells)
                    for (uint64_t u = 0; u < units; u++)
                        add(base_off + u * unit + (sr[i].cells - 1) * 8, words * 8, file);
        }
    } else if (strcmp(region, "exemplars") == 0) {
        const uint64_t *pool = (const uint64_t *)(base + h->off_pool);
        uint64_t words = h->pool_bytes / 8;
        for (uint32_t i = 0; i < ns; i++) {
            uint64_t w = sr[i].exemplars;
            if (!w || (fam >= 0 && sr[i].family != (uint32_t)fam) || w - 1 + SHM_EXEMPLAR_HEADER_WORDS > words)
                continue;
            uint64_t nslots = pool[w - 1 + SHM_EXEMPLAR_NSLOTS_W];
            add(h->off_pool + (w - 1) * 8, SHM_EXEMPLAR_BLOCK_WORDS(nslots) * 8, file);
            if (defect == UINT64_MAX) {
                defect = h->off_pool + (w - 1 + SHM_EXEMPLAR_MAGIC_W) * 8; /* the block's magic */
                defect_word = 0xdeadbeef;
            }
        }
    } else if (strcmp(region, "all") == 0) {
        add(0, file, file);
    } else {
        fprintf(stderr, "scribble: unknown region %s\n", region);
        return -1;
    }
    if (nranges == 0) {
        fprintf(stderr, "scribble: region %s is empty\n", region);
        return -1;
    }
    return 0;
}

static void scribble_once(char *base)
{
    /* A range, weighted by length. */
    uint64_t total = 0;
    for (size_t i = 0; i < nranges; i++)
        total += ranges[i].end - ranges[i].start;
    uint64_t at = next() % total;
    size_t r = 0;
    while (at >= ranges[r].end - ranges[r].start) {
        at -= ranges[r].end - ranges[r].start;
        r++;
    }
    uint64_t off = ranges[r].start + at;
    uint64_t room = ranges[r].end - off;
    uint64_t len = 1 + next() % 16;
    if (len > room)
        len = room;
    uint64_t pick = next();
    for (uint64_t i = 0; i < len; i++) {
        unsigned char b;
        switch (pick % 8) {
        case 0:
            b = 0;
            break;
        case 1:
            b = 0xff;
            break;
        case 2:
            b = i == 0 ? (unsigned char)(2 + (pick >> 8) % 2) : 0; /* READY, REMOVED, ACTIVE, EXITED */
            break;
        default:
            b = (unsigned char)next();
        }
        __atomic_store_n((unsigned char *)base + off + i, b, __ATOMIC_RELAXED);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: scribble ARENA REGION SECONDS SEED [FAMILY]\n");
        return 2;
    }
    double seconds = atof(argv[3]);
    rng = strtoull(argv[4], NULL, 10) * 0x9e3779b97f4a7c15ull | 1;
    int fd = open(argv[1], O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size < SHM_PAGE) {
        perror(argv[1]);
        return 1;
    }
    char *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    struct shm_header h;
    memcpy(&h, base, sizeof h);
    if (h.magic != SHM_MAGIC || h.file_bytes != (uint64_t)st.st_size) {
        fprintf(stderr, "scribble: %s is not an arena of this layout\n", argv[1]);
        return 1;
    }
    int fam = -1;
    if (argc == 6 && (fam = find_family(base, &h, argv[5])) < 0) {
        fprintf(stderr, "scribble: no family %s\n", argv[5]);
        return 1;
    }
    if (plan(base, &h, argv[2], fam) < 0)
        return 2;
    unsigned long writes = 0;
    double end = now() + seconds;
    while (now() < end)
        for (int i = 0; i < 64; i++, writes++)
            scribble_once(base);
    if (defect != UINT64_MAX && defect < h.file_bytes) {
        if (defect_word)
            __atomic_store_n((uint32_t *)(base + defect), defect_word, __ATOMIC_RELAXED);
        else
            __atomic_store_n((unsigned char *)base + defect, (unsigned char)0xff, __ATOMIC_RELAXED);
    }
    printf("scribble: %lu writes over %s\n", writes, argv[2]);
    munmap(base, (size_t)st.st_size);
    close(fd);
    return 0;
}
