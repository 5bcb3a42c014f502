/* SPDX-License-Identifier: MIT */
/*
 * src/expose/pbwire.c - owns the protobuf wire format of the encoders
 * (src/expose/pbwire.h): varints, tags, scalar and string fields, and the
 * length prefix of nested and delimited messages.
 */
#include <string.h>

#include "pbwire.h"

static size_t varint_into(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

void smx_pb_varint(struct smx_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    smx_buf_put(b, (const char *)tmp, varint_into(tmp, v));
}

void smx_pb_tag(struct smx_buf *b, uint32_t field, unsigned wire)
{
    smx_pb_varint(b, (uint64_t)field << 3 | wire);
}

void smx_pb_uint64(struct smx_buf *b, uint32_t field, uint64_t v)
{
    smx_pb_tag(b, field, SMX_PB_VARINT);
    smx_pb_varint(b, v);
}

void smx_pb_zigzag(struct smx_buf *b, int64_t v)
{
    smx_pb_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void smx_pb_sint64(struct smx_buf *b, uint32_t field, int64_t v)
{
    smx_pb_tag(b, field, SMX_PB_VARINT);
    smx_pb_zigzag(b, v);
}

void smx_pb_double(struct smx_buf *b, uint32_t field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    smx_pb_tag(b, field, SMX_PB_FIXED64);
    smx_buf_put(b, (const char *)le, sizeof le);
}

void smx_pb_string(struct smx_buf *b, uint32_t field, const char *a, const char *suffix)
{
    size_t na = strlen(a), ns = suffix ? strlen(suffix) : 0;
    smx_pb_tag(b, field, SMX_PB_LEN);
    smx_pb_varint(b, na + ns);
    smx_buf_put(b, a, na);
    if (ns)
        smx_buf_put(b, suffix, ns);
}

size_t smx_pb_begin(struct smx_buf *b, uint32_t field)
{
    if (field)
        smx_pb_tag(b, field, SMX_PB_LEN);
    smx_buf_putc(b, 0); /* the length's first byte */
    return b->len;
}

void smx_pb_end(struct smx_buf *b, size_t mark)
{
    if (b->oom)
        return;
    size_t len = b->len - mark;
    uint8_t tmp[10];
    size_t n = varint_into(tmp, len);
    if (n > 1) {
        /* Grow by the extra length bytes, then move the body after them. */
        smx_buf_put(b, (const char *)tmp, n - 1);
        if (b->oom)
            return;
        memmove(b->data + mark + n - 1, b->data + mark, len);
    }
    memcpy(b->data + mark - 1, tmp, n);
}
