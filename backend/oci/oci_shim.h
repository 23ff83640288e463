/* The per-bottle shim: a small process in a session of its own, that
 * runs `runc run --detach`, becomes the guest's parent (child subreaper),
 * records its exit status in a file and reaps what the guest leaves. It is
 * why unmounting or a crash of the daemon neither kills a bottle nor loses
 * its exit status. The daemon runs it as its own binary under this name. */
#ifndef BOTTLEFS_OCI_SHIM_H
#define BOTTLEFS_OCI_SHIM_H

#define BF_OCI_SHIM_NAME "bottlefs-oci-shim"

/* argv: NAME RUNTIME RUNTIME_ROOT BUNDLE CONTAINER_ID PID_FILE EXIT_FILE
 * WORKSPACE LOG_MAX (bytes of BUNDLE/log before it rotates), WORKSPACE being "-" or OWNER_UID:OWNER_GID:HOST_UID:HOST_GID:PATH
 * for an idmapped bind workspace (attached at BUNDLE/workspace in the
 * shim's own mount namespace).
 * fd 0 is /dev/null, fds 1 and 2 the bottle's log, fd 3 a pipe on which
 * one line is reported: "running GUEST_PID SHIM_PID" or "failed STATUS". */
int bf_oci_shim_main(int argc, char **argv);

#endif
