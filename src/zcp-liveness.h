/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * Liveness tokens: an open-file-description lock on one byte of the control
 * segment's file.  The kernel drops it when the process dies, whatever its pid
 * namespace, with no pid-reuse race; anyone can test it.
 */

/* Takes the token at @byte of @fd.  -EAGAIN if another holder has it. */
int zcp_liveness_acquire (int fd, uint32_t byte);

void zcp_liveness_release (int fd, uint32_t byte);

/* 1 if a file description other than @fd's holds the token at @byte, 0 if
 * nobody does, a negative errno if the kernel would not say. */
int zcp_liveness_probe (int fd, uint32_t byte);
