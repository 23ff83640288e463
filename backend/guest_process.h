/* For backends whose guest is a process of this host (oci, docker):
 * a guest pid proven to be the one that was started, signals through a
 * pidfd, commands run by joining the guest's namespaces (nsexec.h),
 * sidecar listeners inside its network namespace, and what the exec
 * sessions of a daemon that crashed left behind. */
#ifndef BOTTLEFS_GUEST_PROCESS_H
#define BOTTLEFS_GUEST_PROCESS_H

#include <sys/types.h>

#include "backends.h"
#include "bottle.h"
#include "error.h"

/* The guest's PID 1, bind-mounted at /BF_GUEST_INIT_NAME: its comm. */
#define BF_GUEST_INIT_NAME ".bottlefs-init"

/* 0 if run->pid is the guest recorded at start (its start time, its user
 * namespace, and a child of `parent` unless that is 0); -ESRCH with
 * `err` saying why not. */
int bf_guest_process_verify(const struct bf_run *run, pid_t parent, struct bf_error *err);
/* A pidfd of the guest, verified after opening (the pidfd pins it). */
int bf_guest_process_pidfd(const struct bf_run *run, pid_t parent, struct bf_error *err);
int bf_guest_process_signal(const struct bf_run *run, pid_t parent, int sig, struct bf_error *err);
/* Joins the guest's namespaces and cgroups (nsexec.h): the command gets
 * what the guest's init has, the same user, capabilities and syscall
 * filter. */
int bf_guest_process_exec(const struct bf_exec_request *req, struct bf_exec_session *s,
			  const char *cmd, struct bf_error *err);
/* The guest has loopback only: a sidecar listens inside its netns. */
int bf_guest_process_sidecar_listen(const struct bf_run *run, int port, struct bf_error *err);
int bf_guest_process_kill_strays(const struct bf_run *run, pid_t parent);

#endif
