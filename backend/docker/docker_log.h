/* The helper that copies a container's output into the bottle's log
 * (run as bottlefs under this name; docker_log.c). */
#ifndef BOTTLEFS_DOCKER_LOG_H
#define BOTTLEFS_DOCKER_LOG_H

#define BF_DOCKER_LOG_NAME "bottlefs-docker-log"

/* argv: NAME SOCKET CONTAINER_ID LOG LOG_MAX SINCE (a Unix time, 0 for
 * all). Returns when the container's output ends. */
int bf_docker_log_main(int argc, char **argv);

#endif
