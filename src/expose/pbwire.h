/* SPDX-License-Identifier: MIT */
/*
 * src/expose/pbwire.h - the protobuf wire format, written straight into a
 * struct smx_buf: varints, tags, fields of the scalar types the exposition
 * uses, and length-delimited messages whose length is filled in when they
 * end.  No schema, no allocation beyond the buffer's.
 */
#ifndef SMX_PBWIRE_H
#define SMX_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Wire types. */
#define SMX_PB_VARINT 0u
#define SMX_PB_FIXED64 1u
#define SMX_PB_LEN 2u

void smx_pb_varint(struct smx_buf *b, uint64_t v);
void smx_pb_tag(struct smx_buf *b, uint32_t field, unsigned wire);
/* A field: tag and value (uint64, enum and bool are varints; double is
 * 8 bytes little-endian; sint64 is zigzag-encoded). */
void smx_pb_uint64(struct smx_buf *b, uint32_t field, uint64_t v);
void smx_pb_sint64(struct smx_buf *b, uint32_t field, int64_t v);
void smx_pb_double(struct smx_buf *b, uint32_t field, double v);
/* A zigzag-encoded value alone, without a tag: a member of a packed
 * repeated sint64 field (between smx_pb_begin and smx_pb_end). */
void smx_pb_zigzag(struct smx_buf *b, int64_t v);
/* A string field made of `a` followed by `suffix` (NULL or "" for none):
 * a counter family is named like its samples, name plus _total. */
void smx_pb_string(struct smx_buf *b, uint32_t field, const char *a, const char *suffix);

/* A nested message: smx_pb_begin writes the field's tag (none for field 0,
 * a message of a delimited stream) and room for its length, and returns
 * the mark to give smx_pb_end once the message's fields are written; the
 * length goes in then (the body moves when it needs more than one byte). */
size_t smx_pb_begin(struct smx_buf *b, uint32_t field);
void smx_pb_end(struct smx_buf *b, size_t mark);

#endif
