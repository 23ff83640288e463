/* Labels on every container bottlefs makes: which bottle of which mount
 * it is, so that re-attach and cleanup never take another's. */
#ifndef BOTTLEFS_DOCKER_LABELS_H
#define BOTTLEFS_DOCKER_LABELS_H

#define BF_DOCKER_LABEL_NAME "org.bottlefs.name"
#define BF_DOCKER_LABEL_STATE "org.bottlefs.state-dir"
#define BF_DOCKER_LABEL_IDENTITY "org.bottlefs.identity"

#endif
