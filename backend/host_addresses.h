/* Whether an address is one of this host's own (any interface, up or
 * not), answered from a copy of the host's address list that is fetched
 * again only when the kernel says an address changed. */
#ifndef BOTTLEFS_HOST_ADDRESSES_H
#define BOTTLEFS_HOST_ADDRESSES_H

#include <stdbool.h>
#include <sys/socket.h>

/* True for an address of this host, and when the list cannot be read
 * (unknown counts as the host's: the caller refuses). Thread-safe; the
 * list is the one of the network namespace of the first caller. */
bool bf_host_address(const struct sockaddr *sa);

#endif
