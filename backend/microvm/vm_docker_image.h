/* A local docker image as a microvm bottle's root: its engine id (the
 * cache key: content-addressed) and its filesystem, exported. */
#ifndef BOTTLEFS_VM_DOCKER_IMAGE_H
#define BOTTLEFS_VM_DOCKER_IMAGE_H

#include <stddef.h>

#include "../error.h"

/* The engine's id of image REF ("sha256:..."); -ENOENT when the engine
 * has no such image, -ECONNREFUSED when there is no engine. */
int bf_vm_docker_image_id(const char *ref, char *id, size_t len, struct bf_error *err);

/* REF's filesystem as a tar written to `fd`: a container is made of it
 * (never started, no network) and removed again. */
int bf_vm_docker_export(const char *ref, int fd, struct bf_error *err);

#endif
