/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_reader.c - the reader's checks that span records, on arena
 * files patched the way a damaged or hostile writer could leave them: two
 * families with one name, a name that another family exposes, a label name
 * twice in one family, and the label a type adds.  Each such family is
 * skipped and counted as damaged; the rest of the exposition stays whole.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common.h"

/* Replace the only occurrence of `from` in the file by `to` (same length). */
static void patch_string(const char *path, const char *from, const char *to)
{
    cr_assert_eq(strlen(from), strlen(to));
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert(p != MAP_FAILED);
    char *at = memmem(p, (size_t)st.st_size, from, strlen(from));
    cr_assert(at, "%s is in the arena", from);
    cr_assert_null(memmem(at + 1, (size_t)(p + st.st_size - at - 1), from, strlen(from)), "%s is there once", from);
    memcpy(at, to, strlen(to));
    munmap(p, (size_t)st.st_size);
    close(fd);
}

static shmetrics_registry_t *small_arena(const char *path)
{
    shmetrics_options_t o =
        {.path = path, .flags = SHMETRICS_OPEN_CREATE, .families = 8, .series = 16, .processes = 2, .shards = 1};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0, "%s", shmetrics_errmsg());
    return r;
}

static void counter(shmetrics_registry_t *r, const char *name, size_t nlabels, const char *const *labels, uint64_t n)
{
    shmetrics_spec_t spec = {.name = name, .help = "h", .label_names = labels, .nlabels = nlabels};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(r, &spec, &c), 0, "%s", shmetrics_errmsg());
    const char *values[2] = {"x", "y"};
    cr_assert_eq(shmetrics_counter_labelv(c, nlabels, values, &s), 0, "%s", shmetrics_errmsg());
    shmetrics_counter_add(s, n);
}

/* Collect read-only: the families' names in order, and the damage. */
static void read_back(const char *path, char *names, size_t cap, uint64_t *damaged)
{
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0, "%s", shmetrics_errmsg());
    names[0] = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        snprintf(names + strlen(names), cap - strlen(names), "%s%s", i ? " " : "", snap->families[i].name);
    *damaged = snap->damaged;
    char *text;
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, &text, NULL), 0);
    free(text);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, 0);
}

Test(reader, two_families_with_one_name_keep_the_first)
{
    const char *path = test_arena_path("dupname");
    shmetrics_registry_t *w = small_arena(path);
    counter(w, "first_q", 0, NULL, 1);
    counter(w, "other_q", 0, NULL, 2);
    counter(w, "third_q", 0, NULL, 3);
    shmetrics_shutdown(w, 0);
    patch_string(path, "other_q", "first_q");
    char names[256];
    uint64_t damaged;
    read_back(path, names, sizeof names, &damaged);
    cr_assert_str_eq(names, "first_q third_q");
    cr_assert_eq(damaged, 1);
    unlink(path);
}

Test(reader, a_name_another_family_exposes_is_refused)
{
    /* A counter jobs exposes jobs_total: a gauge of that name may not be. */
    const char *path = test_arena_path("exposed");
    shmetrics_registry_t *w = small_arena(path);
    counter(w, "jobs", 0, NULL, 1);
    shmetrics_spec_t spec = {.name = "jobs_tXtal", .help = "h"};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(w, &spec, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(s, 4), 0);
    shmetrics_shutdown(w, 0);
    patch_string(path, "jobs_tXtal", "jobs_total");
    char names[256];
    uint64_t damaged;
    read_back(path, names, sizeof names, &damaged);
    cr_assert_str_eq(names, "jobs");
    cr_assert_eq(damaged, 1);
    unlink(path);
}

Test(reader, a_label_name_twice_in_a_family_is_refused)
{
    const char *path = test_arena_path("duplabel");
    shmetrics_registry_t *w = small_arena(path);
    const char *labels[] = {"lab_one", "lab_two"};
    counter(w, "ok_q", 0, NULL, 1);
    counter(w, "twice_q", 2, labels, 2);
    shmetrics_shutdown(w, 0);
    patch_string(path, "lab_two", "lab_one");
    char names[256];
    uint64_t damaged;
    read_back(path, names, sizeof names, &damaged);
    cr_assert_str_eq(names, "ok_q");
    cr_assert_eq(damaged, 1, "the family; its series are skipped with it");
    unlink(path);
}

Test(reader, the_label_a_type_adds_is_refused)
{
    const char *path = test_arena_path("addedlabel");
    shmetrics_registry_t *w = small_arena(path);
    const char *labels[] = {"lx"};
    shmetrics_spec_t spec = {.name = "lat_q", .help = "h", .label_names = labels, .nlabels = 1};
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    cr_assert_eq(shmetrics_histogram_register(w, &spec, &h), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &s, "v", NULL), 0);
    shmetrics_histogram_observe(s, 1);
    counter(w, "ok_q", 0, NULL, 1);
    shmetrics_shutdown(w, 0);
    patch_string(path, "lx", "le");
    char names[256];
    uint64_t damaged;
    read_back(path, names, sizeof names, &damaged);
    cr_assert_str_eq(names, "ok_q");
    cr_assert_eq(damaged, 1);
    unlink(path);
}
