/* A listening socket inside another process's network namespace. */
#ifndef BOTTLEFS_NETNS_LISTEN_H
#define BOTTLEFS_NETNS_LISTEN_H

#include <sys/types.h>

#include "error.h"

/* Binds 127.0.0.1:port in the network namespace of `pid` and listens.
 * The socket stays in that namespace; the daemon serves it from here.
 * Returns the fd or -errno. */
int bf_netns_listen(pid_t pid, int port, struct bf_error *err);

#endif
