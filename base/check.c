/* SPDX-License-Identifier: MIT */
/*
 * base/check.c - owns the failure path of the always-on assertions
 * (base/check.h): one line on stderr, then abort().
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

_Noreturn void smx_check_fail(const char *file, int line, const char *func, const char *what)
{
    /* One fprintf: the line stays whole when threads fail together. */
    fprintf(stderr, "shmetrics: %s:%d: %s: cannot happen: %s\n", file, line, func, what);
    fflush(stderr);
    abort();
}
