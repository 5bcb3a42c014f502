/* SPDX-License-Identifier: MIT */
/*
 * base/names.c - owns the byte table of the legacy name set (base/names.h).
 */
#include "names.h"

const unsigned char smx_name_class[256] = {
    ['0' ... '9'] = NC_LATER, ['A' ... 'Z'] = NC_ANY, ['a' ... 'z'] = NC_ANY, ['_'] = NC_ANY, [':'] = NC_COLON,
};
