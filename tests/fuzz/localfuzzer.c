/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replays fuzzer inputs (files, or directories of them) through
 * LLVMFuzzerTestOneInput, so that a corpus runs as a normal test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static int replayed;

static void
replay_file (const char *path)
{
  FILE *file = fopen (path, "rb");
  uint8_t *data;
  long size;

  if (!file) {
    perror (path);
    exit (1);
  }
  fseek (file, 0, SEEK_END);
  size = ftell (file);
  rewind (file);
  data = malloc (size > 0 ? size : 1);
  if (fread (data, 1, size, file) != (size_t) size) {
    perror (path);
    exit (1);
  }
  fclose (file);
  LLVMFuzzerTestOneInput (data, size);
  free (data);
  replayed++;
}

static void
replay (const char *path)
{
  struct stat st;
  struct dirent *entry;
  DIR *dir;

  if (stat (path, &st) != 0) {
    perror (path);
    exit (1);
  }
  if (!S_ISDIR (st.st_mode)) {
    replay_file (path);
    return;
  }
  dir = opendir (path);
  if (!dir) {
    perror (path);
    exit (1);
  }
  while ((entry = readdir (dir))) {
    char child[4096];

    if (entry->d_name[0] == '.')
      continue;
    snprintf (child, sizeof child, "%s/%s", path, entry->d_name);
    replay (child);
  }
  closedir (dir);
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    replay (argv[i]);
  printf ("replayed %d inputs\n", replayed);
  return replayed > 0 ? 0 : 1;
}
