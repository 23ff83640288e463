/* The syscall filter every guest process runs under: the guest's init
 * and every exec session load the same policy, built from one table
 * (seccomp_policy.c) with libseccomp. An allowlist modelled on Docker's
 * default profile, stricter where a guest must never reach the host's
 * kernel state: keyrings, io_uring, new namespaces, mounts, bpf, socket
 * families other than unix, inet, inet6 and netlink-route, and setuid or
 * setgid mode bits (which a bind workspace would carry to the host). */
#ifndef BOTTLEFS_SECCOMP_POLICY_H
#define BOTTLEFS_SECCOMP_POLICY_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* A compiled filter, ready for prctl(PR_SET_SECCOMP) after a fork. */
struct bf_seccomp_prog {
	struct sock_fprog prog;
};

/* True if `name` is a syscall this architecture knows (for the manifest's
 * [seccomp] allow list). */
bool bf_seccomp_known(const char *name);

/* Builds the filter, with the calls named in `relax` allowed whatever
 * their arguments. 0, or -errno with err set. */
int bf_seccomp_build(char *const *relax, size_t n_relax, struct bf_seccomp_prog *out,
		     struct bf_error *err);
void bf_seccomp_free(struct bf_seccomp_prog *p);

/* Loads the filter into the calling thread; async-signal-safe (one
 * prctl), for the child of a fork in a threaded daemon. Needs
 * no_new_privs (or CAP_SYS_ADMIN). 0 or -errno. */
int bf_seccomp_apply(const struct bf_seccomp_prog *p);

/* Builds and loads in one go (the guest's init). 0 or -errno. */
int bf_seccomp_load(char *const *relax, size_t n_relax, struct bf_error *err);

/* The policy as TOML lines for plan.toml: default action, what is denied
 * with which errno, what is allowed only with some arguments. */
void bf_seccomp_render(char *const *relax, size_t n_relax, struct bf_buf *out);

#endif
