/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Descriptors as they are in shared memory, and as the API hands them out:
 * both directions side by side, so that a field added to one is added to
 * the other. */
#include <string.h>

#include "zcp-desc.h"

void
zcp_desc_from_frame (struct zcp_shm_desc *desc, const struct zcp_chunk *chunk,
    const struct zcp_frame *frame)
{
  memset (desc, 0, sizeof *desc);
  desc->kind = frame->kind == ZCP_FRAME_KIND_EOS ? ZCP_SHM_DESC_KIND_EOS :
      frame->kind == ZCP_FRAME_KIND_EVENT ? ZCP_SHM_DESC_KIND_EVENT :
      ZCP_SHM_DESC_KIND_BUFFER;
  desc->buffer_flags = frame->buffer_flags;
  if (chunk) {
    desc->pool_index = chunk->pool_index;
    desc->pool_generation = chunk->pool_generation;
    desc->chunk_index = chunk->chunk_index;
  }
  desc->caps_generation = frame->caps_generation;
  desc->offset = frame->offset;
  desc->size = frame->size;
  desc->pts = frame->pts;
  desc->dts = frame->dts;
  desc->segment_pts = frame->segment_pts;
  desc->segment_dts = frame->segment_dts;
  desc->duration = frame->duration;
  desc->media_offset = frame->media_offset;
  desc->media_offset_end = frame->media_offset_end;
  desc->sequence = frame->sequence;
  desc->event_number = frame->event_number;
  /* A buffer's meta_size, in the same place, is the publisher's to set. */
  if (frame->kind == ZCP_FRAME_KIND_EVENT)
    desc->event_sticky = frame->event_sticky;
  desc->has_video = frame->has_video;
  if (frame->has_video) {
    desc->video.format = frame->video.format;
    desc->video.width = frame->video.width;
    desc->video.height = frame->video.height;
    desc->video.n_planes = frame->video.n_planes;
    desc->video.flags = frame->video.flags;
    for (uint32_t p = 0; p < ZCP_MAX_PLANES; p++) {
      desc->video.offset[p] = frame->video.offset[p];
      desc->video.stride[p] = frame->video.stride[p];
    }
  }
}

void
zcp_desc_to_frame (struct zcp_frame *frame, const struct zcp_shm_desc *desc)
{
  memset (frame, 0, sizeof *frame);
  frame->kind = desc->kind == ZCP_SHM_DESC_KIND_EOS ? ZCP_FRAME_KIND_EOS :
      desc->kind == ZCP_SHM_DESC_KIND_EVENT ? ZCP_FRAME_KIND_EVENT :
      ZCP_FRAME_KIND_BUFFER;
  frame->offset = desc->offset;
  frame->size = desc->size;
  frame->pts = desc->pts;
  frame->dts = desc->dts;
  frame->segment_pts = desc->segment_pts;
  frame->segment_dts = desc->segment_dts;
  frame->duration = desc->duration;
  frame->media_offset = desc->media_offset;
  frame->media_offset_end = desc->media_offset_end;
  frame->sequence = desc->sequence;
  frame->event_number = desc->event_number;
  frame->event_sticky = frame->kind == ZCP_FRAME_KIND_EVENT ?
      desc->event_sticky : ZCP_STICKY_NONE;
  frame->buffer_flags = desc->buffer_flags;
  frame->caps_generation = desc->caps_generation;
  frame->has_video = desc->has_video != 0;
  if (frame->has_video) {
    frame->video.format = desc->video.format;
    frame->video.width = desc->video.width;
    frame->video.height = desc->video.height;
    frame->video.n_planes = desc->video.n_planes;
    frame->video.flags = desc->video.flags;
    for (uint32_t p = 0; p < ZCP_MAX_PLANES; p++) {
      frame->video.offset[p] = desc->video.offset[p];
      frame->video.stride[p] = desc->video.stride[p];
    }
  }
}
