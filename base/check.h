/* SPDX-License-Identifier: MIT */
/*
 * base/check.h - owns the always-on assertion tier for conditions that
 * cannot happen (an invariant of the code, not of its input): a failure
 * prints the file, line, function and the condition to stderr and aborts.
 * Compiled in every build type, NDEBUG or not.  Bad input (arguments, arena
 * bytes another process wrote, system call failures that can happen) is an
 * error code, never one of these.
 */
#ifndef SMX_BASE_CHECK_H
#define SMX_BASE_CHECK_H

/* Print "file:line: function: cannot happen: what" and abort. */
_Noreturn void smx_check_fail(const char *file, int line, const char *func, const char *what) __attribute__((cold));

/* Assert that `cond` holds. */
#define SMX_CHECK(cond)                                          \
    do {                                                         \
        if (__builtin_expect(!(cond), 0))                        \
            smx_check_fail(__FILE__, __LINE__, __func__, #cond); \
    } while (0)
/* Assert that `expr` is zero (a call that cannot fail returning 0). */
#define SMX_CHECK_ZERO(expr)                                             \
    do {                                                                 \
        if (__builtin_expect((expr) != 0, 0))                            \
            smx_check_fail(__FILE__, __LINE__, __func__, #expr " == 0"); \
    } while (0)
/* Assert that `ptr` is not NULL. */
#define SMX_CHECK_NOTNULL(ptr)                                             \
    do {                                                                   \
        if (__builtin_expect((ptr) == NULL, 0))                            \
            smx_check_fail(__FILE__, __LINE__, __func__, #ptr " != NULL"); \
    } while (0)
/* Code that is never reached. */
#define SMX_UNREACHABLE() smx_check_fail(__FILE__, __LINE__, __func__, "reached unreachable code")

#endif
