/* The docker backend's part of a run record (bf_run.priv). */
#ifndef BOTTLEFS_DOCKER_RUN_H
#define BOTTLEFS_DOCKER_RUN_H

#include "../bottle.h"

struct docker_run {
	char container_id[80];  /* the engine's id (64 hex) */
	char name[96];          /* bottlefs-IDENTITY */
	char version[64];       /* the engine's, at start */
	pid_t log_pid;          /* the helper that copies the output to log */
	unsigned long long log_start;
};

_Static_assert(sizeof(struct docker_run) <= BF_RUN_PRIVATE_SIZE, "docker_run fits bf_run.priv");

static inline struct docker_run *docker_run(struct bf_run *run)
{
	return (struct docker_run *)run->priv.bytes;
}

static inline const struct docker_run *docker_run_const(const struct bf_run *run)
{
	return (const struct docker_run *)run->priv.bytes;
}

int bf_docker_run_save(const struct bf_run *run, struct json_object *obj);
const char *bf_docker_run_load(struct json_object *obj, struct bf_run *run);
void bf_docker_run_render(const struct bf_run *run, struct bf_buf *out);
void bf_docker_run_describe(const struct bf_run *run, char *out, size_t len);

#endif
