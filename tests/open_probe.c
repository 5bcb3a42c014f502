/* SPDX-License-Identifier: MIT */
/*
 * tests/open_probe.c - what shmetrics_open returns for one arena, for the
 * table of open failures (tests/open_errors.sh): opens PATH as asked,
 * prints the return code and the message, and closes it again.
 *
 * usage: open_probe PATH ro|rw|create|excl [foreign] [families=N] [file_mode=OCTAL]
 *
 * Prints "0" after a successful open, else "-ENAME MESSAGE" (the errno's
 * name, then shmetrics_errmsg()) on one line; exits 0 either way, 2 for
 * wrong usage.
 */
#define _GNU_SOURCE
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: open_probe PATH ro|rw|create|excl [foreign] [families=N] [file_mode=OCTAL]\n");
        return 2;
    }
    shmetrics_options_t o = {.path = argv[1]};
    const char *how = argv[2];
    if (strcmp(how, "ro") == 0)
        o.flags = SHMETRICS_OPEN_READONLY;
    else if (strcmp(how, "rw") == 0)
        o.flags = 0;
    else if (strcmp(how, "create") == 0)
        o.flags = SHMETRICS_OPEN_CREATE;
    else if (strcmp(how, "excl") == 0)
        o.flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL;
    else {
        fprintf(stderr, "open_probe: unknown way to open '%s'\n", how);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "foreign") == 0)
            o.flags |= SHMETRICS_OPEN_ALLOW_FOREIGN;
        else if (strncmp(argv[i], "families=", 9) == 0)
            o.families = (uint32_t)strtoul(argv[i] + 9, NULL, 10);
        else if (strncmp(argv[i], "file_mode=", 10) == 0)
            o.file_mode = (unsigned)strtoul(argv[i] + 10, NULL, 8);
        else {
            fprintf(stderr, "open_probe: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    shmetrics_registry_t *reg;
    int rc = shmetrics_open(&o, &reg);
    if (rc == 0) {
        printf("0\n");
        shmetrics_shutdown(reg, 0);
    } else {
        const char *name = strerrorname_np(-rc);
        printf("-%s %s\n", name ? name : "E?", shmetrics_errmsg());
    }
    return 0;
}
