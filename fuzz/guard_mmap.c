/* SPDX-License-Identifier: MIT */
/*
 * fuzz/guard_mmap.c - owns the guard regions around every shared file
 * mapping the fuzzed library makes, so that a read outside the arena is a
 * crash the fuzzer reports instead of a silent read of a neighbouring
 * mapping.
 *
 * The fuzz_arena executable is linked with -Wl,--wrap=mmap,--wrap=munmap:
 * the library's mmap of an arena file lands here, which reserves the
 * arena's size plus GUARD_BEFORE and GUARD_AFTER bytes of inaccessible
 * address space (PROT_NONE, no memory behind it) and maps the file in the
 * middle.  GUARD_AFTER covers every 32-bit offset past the end.  munmap of
 * such a mapping releases the whole reservation.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#define GUARD_BEFORE (UINT64_C(1) << 24)
#define GUARD_AFTER (UINT64_C(1) << 33)
#define MAX_GUARDED 16

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

static struct {
    char *file; /* where the file is mapped; NULL when the entry is free */
    char *reservation;
    size_t total;
} guarded[MAX_GUARDED];

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (addr || fd < 0 || !(flags & MAP_SHARED))
        return __real_mmap(addr, len, prot, flags, fd, off);
    size_t total = (size_t)GUARD_BEFORE + len + (size_t)GUARD_AFTER;
    char *r = __real_mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return __real_mmap(addr, len, prot, flags, fd, off);
    void *p = __real_mmap(r + GUARD_BEFORE, len, prot, flags | MAP_FIXED, fd, off);
    if (p == MAP_FAILED) {
        __real_munmap(r, total);
        return MAP_FAILED;
    }
    for (int i = 0; i < MAX_GUARDED; i++)
        if (!guarded[i].file) {
            guarded[i].file = p;
            guarded[i].reservation = r;
            guarded[i].total = total;
            return p;
        }
    return p; /* untracked: its reservation stays until the process exits */
}

int __wrap_munmap(void *addr, size_t len)
{
    for (int i = 0; i < MAX_GUARDED; i++)
        if (guarded[i].file && guarded[i].file == addr) {
            guarded[i].file = NULL;
            return __real_munmap(guarded[i].reservation, guarded[i].total);
        }
    return __real_munmap(addr, len);
}
