/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_arena.c - owns fuzzing the read side on arbitrary arena bytes:
 * attach read-only, validate, collect, and encode in all four formats.
 *
 * The input is the arena file, written to /dev/shm.  Real arenas are mostly
 * zeros at the end, so when the input is shorter than the size its header
 * claims (bytes 16..23, at most 64 MiB), the file is extended with zeros to
 * that size: seeds stay small and still attach.  Bytes 160..167 of the
 * header are reserved and unread by the library; the harness takes them as
 * the CLOCK_MONOTONIC time to collect at (summary windows), so a run is
 * deterministic.  Every mapping of the file has inaccessible guard regions
 * around it (guard_mmap.c): reading outside the arena crashes.
 *
 * Must hold for every input: no crash, no sanitizer report, no hang; an
 * attach either fails with a message or yields snapshots whose strings
 * follow the exposition rules (fuzz_util.h), and every encoding is UTF-8.
 *
 * When bit 0 of header byte 168 (reserved too) is set, a worker then
 * attaches read-write to the same bytes and registers and writes one metric
 * of each type: writers must not crash on a damaged arena either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "shmetrics.h"

#define MAX_EXTEND (UINT64_C(64) << 20)
#define DEFAULT_NOW (UINT64_C(1000) * 1000000000u)

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/dev/shm/shmetrics-fuzz-arena-%d", (int)getpid());
    return 0;
}

static void write_arena(const uint8_t *data, size_t size)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            perror("writing the arena");
            abort();
        }
        off += (size_t)n;
    }
    uint64_t claimed = 0;
    if (size >= 24)
        memcpy(&claimed, data + 16, sizeof claimed);
    if (claimed > size && claimed <= MAX_EXTEND && ftruncate(fd, (off_t)claimed) < 0) {
        perror("extending the arena");
        abort();
    }
    close(fd);
}

static void read_everything(shmetrics_registry_t *reg, uint64_t now)
{
    shmetrics_snapshot_t *snap;
    int rc = shmetrics_collect_at(reg, now, &snap);
    if (rc < 0) {
        if (!*shmetrics_errmsg())
            fz_die("collect failed without a message", "", 0);
        return;
    }
    fz_check_snapshot(snap);
    for (int fmt = 0; fmt <= SHMETRICS_FORMAT_PROTOBUF; fmt++) {
        char *out;
        size_t len;
        if (shmetrics_format(snap, (shmetrics_format_t)fmt, &out, &len) == 0) {
            if (fmt == SHMETRICS_FORMAT_PROTOBUF)
                fz_check_protobuf(out, len);
            else
                fz_check_exposition(out, len);
            free(out);
        }
    }
    shmetrics_snapshot_free(snap);

    shmetrics_arena_info_t in;
    shmetrics_arena_info(reg, &in);
    if (in.families_used > in.families_cap || in.series_used > in.series_cap || in.heap_used > in.heap_bytes)
        fz_die("arena info reports more used than there is", "", 0);
    shmetrics_process_t procs[8];
    size_t n = 0;
    shmetrics_processes(reg, procs, 8, &n);
    shmetrics_arena_replaced(reg);
}

/* A worker on the same bytes: attach read-write (which reclaims the slots
 * of dead processes), register one metric of each type, write, read back.
 * Any error is fine; a crash or a hang is not. */
static void write_everything(uint64_t now)
{
    shmetrics_options_t o = {.path = path};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        return;
    const char *k[] = {"k"};
    shmetrics_spec_t cs = {.name = "fz_c_total", .help = "c", .label_names = k, .nlabels = 1};
    shmetrics_spec_t gs = {.name = "fz_g", .help = "g", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_spec_t hs = {.name = "fz_h", .help = "h"};
    shmetrics_spec_t ss = {.name = "fz_s", .help = "s"};
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *sm;
    shmetrics_counter_series_t *c1;
    shmetrics_gauge_series_t *g1;
    shmetrics_histogram_series_t *h1;
    shmetrics_summary_series_t *s1;
    if (shmetrics_counter_register(reg, &cs, &c) == 0 && shmetrics_counter_labels(c, &c1, "v", NULL) == 0)
        shmetrics_counter_add(c1, 1);
    if (shmetrics_gauge_register(reg, &gs, &g) == 0 && shmetrics_gauge_labels(g, &g1, NULL) == 0)
        shmetrics_gauge_set(g1, 2);
    if (shmetrics_histogram_register(reg, &hs, &h) == 0 && shmetrics_histogram_labels(h, &h1, NULL) == 0)
        shmetrics_histogram_observe(h1, 0.5);
    if (shmetrics_summary_register(reg, &ss, &sm) == 0 && shmetrics_summary_labels(sm, &s1, NULL) == 0)
        shmetrics_summary_observe_at(s1, 3, now);
    read_everything(reg, now);
    shmetrics_shutdown(reg, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_arena(data, size);
    uint64_t now = 0;
    if (size >= 168)
        memcpy(&now, data + 160, sizeof now);
    if (now == 0)
        now = DEFAULT_NOW;

    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_READONLY};
    shmetrics_registry_t *reg;
    int rc = shmetrics_open(&o, &reg);
    if (rc == 0) {
        read_everything(reg, now);
        shmetrics_shutdown(reg, 0);
        if (size > 168 && (data[168] & 1))
            write_everything(now);
    } else {
        const char *msg = shmetrics_errmsg();
        if (!*msg || strcmp(msg, "no error") == 0)
            fz_die("attach failed without a message", "", 0);
        if (rc != -EBADMSG && rc != -EPROTO && rc != -EIO && rc != -ENOMEM)
            fz_die("attach failed with an unexpected code", msg, strlen(msg));
    }
    unlink(path);
    return 0;
}
