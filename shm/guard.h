/* SPDX-License-Identifier: MIT */
/*
 * shm/guard.h - guarded sections for readers of an arena that may be
 * truncated under them (shm/guard.c).
 *
 *     sigjmp_buf jb;
 *     if (sigsetjmp(jb, 1)) { ...the arena shrank: clean up, -EFAULT... }
 *     shm_guard_enter(&jb);
 *     ...read the arena...
 *     shm_guard_leave();
 *
 * Between enter and leave, only read arena memory and call functions that
 * may be abandoned midway (no lock held, nothing half-linked).
 */
#ifndef SHM_GUARD_H
#define SHM_GUARD_H

#include <setjmp.h>

void shm_guard_enter(sigjmp_buf *jb);
void shm_guard_leave(void);

#endif
