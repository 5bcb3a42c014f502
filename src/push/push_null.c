/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_null.c - owns the null push backend: metrics switched off.  A
 * push with it reads nothing and sends nothing (src/push/push.c does not even
 * collect the arena for it); the pusher's loop still runs and counts its
 * attempts, so a program switches backends without changing its code.
 */
#include "push.h"

static int null_open(struct shmetrics_pusher *p)
{
    (void)p;
    return 0;
}

static int null_push(struct shmetrics_pusher *p, struct smx_push_ctx *c)
{
    (void)p;
    (void)c;
    return 0;
}

static void null_close(struct shmetrics_pusher *p)
{
    (void)p;
}

const struct smx_backend smx_backend_null = {"null", null_open, null_push, NULL, null_close};
