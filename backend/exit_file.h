/* A shim's record of how its guest ended ("exited N" or "killed SIG" in
 * RUN_DIR/exit), written by the shim and read by the backend's collect. */
#ifndef BOTTLEFS_EXIT_FILE_H
#define BOTTLEFS_EXIT_FILE_H

#include "bottle.h"

/* Written aside, synced and renamed into place. */
void bf_exit_file_write(const char *path, int wait_status);
/* Sets run->exit_code or run->exit_signal from the record, or -1 and a
 * reason when there is none. */
void bf_exit_file_read(const char *path, struct bf_run *run);

#endif
