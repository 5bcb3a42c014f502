/* SPDX-License-Identifier: MIT */
/*
 * shm/guard.c - owns reading an arena that may shrink under the reader.
 *
 * A file truncated after it was mapped turns every access past its new end
 * into SIGBUS.  Readers (collect, status) run inside a guarded section: a
 * SIGBUS raised by this thread while its section is open jumps back to the
 * section's start, which returns -EFAULT ("the arena file was truncated")
 * instead of killing the process.  A SIGBUS outside any guarded section is
 * not ours: the handler calls the previous handler, or, when that was the
 * default action, puts it back and returns, so the fault repeats and is
 * handled as it would have been without us.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "guard.h"

static _Thread_local sigjmp_buf *volatile guard_jmp;
static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    sigjmp_buf *jb = guard_jmp;
    if (jb) {
        guard_jmp = NULL;
        siglongjmp(*jb, 1);
    }
    /* Not ours: hand it to the previous handler, or, if that is the
     * default, let the fault repeat under it (and stay installed for the
     * guarded sections that may follow, should the process survive). */
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction)
            previous.sa_sigaction(sig, si, uc);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        sigaction(sig, &previous, NULL);
    }
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous);
}

void shm_guard_enter(sigjmp_buf *jb)
{
    pthread_once(&install_once, install);
    guard_jmp = jb;
}

void shm_guard_leave(void)
{
    guard_jmp = NULL;
}
