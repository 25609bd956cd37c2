/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "zcp-layout.h"
#include "zcp.h"

/* Fills @desc from @frame and, for a buffer, from the chunk it travels in
 * (@chunk may be NULL for an event). */
void zcp_desc_from_frame (struct zcp_shm_desc *desc,
    const struct zcp_chunk *chunk, const struct zcp_frame *frame);

/* Fills @frame from @desc, field by field; checking the values is the
 * caller's job. */
void zcp_desc_to_frame (struct zcp_frame *frame,
    const struct zcp_shm_desc *desc);
