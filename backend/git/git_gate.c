#include "git_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bsd/string.h>

#include "../cleanup.h"
#include "../copy_tree.h"
#include "../log_append.h"
#include "../sock_io.h"
#include "../spawn.h"
#include "git_refs.h"
#include "git_request.h"

#define REQUEST_WAIT_MS 30000   /* for the client's first packet */
#define OUTPUT_MAX 4096         /* of a git's stderr kept for a reason */

struct bf_git_gate {
	pthread_mutex_t lock;   /* one refresh or push at a time */
	char mirror[PATH_MAX], hooks[PATH_MAX], log[PATH_MAX], refs[PATH_MAX];
	char repo[PATH_MAX], git[PATH_MAX], fdpass[PATH_MAX];
	struct bf_spawn_ids as_id, as_writer;
	gid_t writer_groups[BF_MAX_GROUPS];
	char **push, **fetch;
	size_t n_push, n_fetch;
	bool force, head_set;
	int timeout;
};

static const char *const base_env[] = {
	"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
	/* The writer's repository may belong to another user of the writer's
	 * group: git reads it as the writer, which is what the writer asked. */
	"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
};
#define N_BASE_ENV (sizeof(base_env) / sizeof(base_env[0]))

/* base_env plus up to 3 more, NULL-terminated. */
static void make_env(const char *env[N_BASE_ENV + 4], const char *a, const char *b, const char *c)
{
	size_t n = N_BASE_ENV;

	memcpy(env, base_env, sizeof(base_env));
	if (a)
		env[n++] = a;
	if (b)
		env[n++] = b;
	if (c)
		env[n++] = c;
	env[n] = NULL;
}

/* Runs git as `ids` with fds 0, 1, 2 and 3 as given (-1: /dev/null, or
 * no fd 3) and waits. Returns the wait status, or -errno. */
static int run_git(const struct bf_git_gate *g, const struct bf_spawn_ids *ids,
		   const char *const *argv, const char *const *env, int fd0, int fd1, int fd3,
		   int err_fd)
{
	int fds[4] = { fd0, fd1, err_fd, fd3 };
	pid_t pid = bf_spawn_as(g->git, (char *const *)argv, (char *const *)env, fds, ids);

	return pid < 0 ? (int)pid : bf_wait_child(pid);
}

/* The start of what a memory file holds, one line, for a reason. */
static void first_line(int fd, char *out, size_t len)
{
	ssize_t n = pread(fd, out, len - 1, 0);
	char *nl;

	out[n > 0 ? n : 0] = '\0';
	/* git's own "fatal: " adds nothing to a reason. */
	if (strncmp(out, "fatal: ", 7) == 0)
		memmove(out, out + 7, strlen(out + 7) + 1);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	if (!out[0])
		strlcpy(out, "git failed", len);
}

static int new_memfd(void)
{
	return memfd_create("git", MFD_CLOEXEC);
}

static void log_line(const struct bf_git_gate *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_line(const struct bf_git_gate *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A guest that pushes without end fills 2 MiB, no more. */
	if (bf_log_append(g->log, BF_LOG_APPEND_MAX, msg) < 0)
		return;
}

/* Receives the two ends of the mirror's fetch (its upload-pack's stdin
 * and stdout) from bottlefs-git-fdpass. */
static int receive_fds(int sock, int timeout_ms, int fds[2])
{
	char byte, ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct pollfd p = { sock, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
		if (c && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		return -EPROTO;
	}
	memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
	return 0;
}

/* The mirror's HEAD follows the host's, once per start, so that a clone
 * checks out the branch the host has checked out. */
static void follow_head(struct bf_git_gate *g)
{
	const char *env[N_BASE_ENV + 4];
	const char *read_argv[] = { "git", "-C", g->repo, "symbolic-ref", "-q", "HEAD", NULL };
	cleanup_close int out = new_memfd();
	char ref[256];
	int status;

	make_env(env, NULL, NULL, NULL);
	if (out < 0)
		return;
	status = run_git(g, &g->as_writer, read_argv, env, -1, out, -1, -1);
	if (status != 0)
		return;
	first_line(out, ref, sizeof(ref));
	if (strncmp(ref, "refs/heads/", 11) != 0 ||
	    !bf_git_patterns_match(g->fetch, g->n_fetch, ref) ||
	    bf_git_patterns_match(g->push, g->n_push, ref))
		return;
	{
		const char *set_argv[] = { "git", "-C", g->mirror, "symbolic-ref", "HEAD", ref, NULL };

		if (run_git(g, &g->as_id, set_argv, env, -1, -1, -1, -1) == 0)
			g->head_set = true;
	}
}

/* Brings the host's branches into the mirror (under g->lock): the mirror's
 * fetch runs as the bottle's id, and its upload-pack is a git run as the
 * writer on the host repository, joined by the fds fdpass sends. */
static int refresh(struct bf_git_gate *g, struct bf_error *err)
{
	const char *env[N_BASE_ENV + 4];
	const char **argv;
	char (*specs)[2 * BF_GIT_PATTERN_MAX + 40];
	char upload[PATH_MAX + 32], reason[OUTPUT_MAX];
	cleanup_close int fetch_err = new_memfd();
	cleanup_close int upload_err = new_memfd();
	int sp[2], pipe_ends[2], status, upload_status = 0, r;
	pid_t fetch_pid, upload_pid = -1;
	size_t n = 0, i;

	if (fetch_err < 0 || upload_err < 0)
		return bf_error_set(err, errno, "memfd: %s", strerror(errno));
	argv = calloc(16 + g->n_fetch + g->n_push, sizeof(*argv));
	specs = calloc(g->n_fetch + g->n_push, sizeof(*specs));
	if (!argv || !specs) {
		free(argv);
		free(specs);
		return bf_error_set(err, ENOMEM, "out of memory");
	}
	snprintf(upload, sizeof(upload), "--upload-pack=%s", g->fdpass);
	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = g->mirror;
	argv[n++] = "fetch";
	argv[n++] = "--quiet";
	argv[n++] = "--prune";
	argv[n++] = "--no-tags";
	argv[n++] = "--no-write-fetch-head";
	argv[n++] = upload;
	argv[n++] = g->mirror;  /* a path git accepts; fdpass ignores it */
	for (i = 0; i < g->n_fetch; i++) {
		char ref[BF_GIT_PATTERN_MAX + 16];

		bf_git_pattern_ref(g->fetch[i], ref, sizeof(ref));
		snprintf(specs[i], sizeof(specs[i]), "+%s:%s", ref, ref);
		argv[n++] = specs[i];
	}
	/* The agent's refs are never the host's: not fetched, not pruned. */
	for (i = 0; i < g->n_push; i++) {
		char ref[BF_GIT_PATTERN_MAX + 16];

		bf_git_pattern_ref(g->push[i], ref, sizeof(ref));
		snprintf(specs[g->n_fetch + i], sizeof(specs[0]), "^%s", ref);
		argv[n++] = specs[g->n_fetch + i];
	}
	argv[n] = NULL;
	make_env(env, NULL, NULL, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		r = bf_error_set(err, errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	{
		int fds[4] = { -1, -1, fetch_err, sp[1] };

		fetch_pid = bf_spawn_as(g->git, (char *const *)argv, (char *const *)env, fds, &g->as_id);
	}
	close(sp[1]);
	if (fetch_pid < 0) {
		close(sp[0]);
		r = bf_error_set(err, (int)-fetch_pid, "cannot run git: %s", strerror((int)-fetch_pid));
		goto out;
	}
	r = receive_fds(sp[0], g->timeout * 1000, pipe_ends);
	close(sp[0]);
	if (r == 0) {
		char timeout_opt[32];
		const char *up_argv[] = { "git", "upload-pack", timeout_opt, g->repo, NULL };
		int fds[4] = { pipe_ends[0], pipe_ends[1], upload_err, -1 };

		snprintf(timeout_opt, sizeof(timeout_opt), "--timeout=%d", g->timeout);
		upload_pid = bf_spawn_as(g->git, (char *const *)up_argv, (char *const *)env, fds,
					 &g->as_writer);
		close(pipe_ends[0]);
		close(pipe_ends[1]);
	} else if (r == -ETIMEDOUT) {
		kill(fetch_pid, SIGKILL);
	}
	if (upload_pid > 0)
		upload_status = bf_wait_child(upload_pid);
	status = bf_wait_child(fetch_pid);
	if (status == 0 && upload_pid > 0) {
		r = 0;
		if (!g->head_set)
			follow_head(g);
	} else {
		/* The host side's reason first: it is what a user can fix. */
		first_line(upload_status != 0 ? upload_err : fetch_err, reason, sizeof(reason));
		r = bf_error_set(err, EIO, "cannot read %s: %s", g->repo, reason);
	}
out:
	free(argv);
	free(specs);
	return r;
}

/* NAME/git/refs: the agent's refs in the mirror, "SHA REF" a line,
 * rewritten whole after each push. 0, or -errno. */
static int update_refs_file(const struct bf_git_gate *g)
{
	const char *env[N_BASE_ENV + 4];
	const char *argv[] = { "git", "-C", g->mirror, "for-each-ref",
			       "--format=%(objectname) %(refname)", NULL };
	cleanup_close int out = new_memfd();
	cleanup_fclose FILE *in = NULL;
	cleanup_fclose FILE *f = NULL;
	char tmp[PATH_MAX + 8], line[512];
	int status;

	make_env(env, NULL, NULL, NULL);
	if (out < 0)
		return -errno;
	status = run_git(g, &g->as_id, argv, env, -1, out, -1, -1);
	if (status != 0)
		return status < 0 ? status : -EIO;
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->refs);
	in = fdopen(dup(out), "r");
	f = fopen(tmp, "we");
	if (!in || !f)
		return -errno;
	rewind(in);
	while (fgets(line, sizeof(line), in)) {
		char *ref = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (ref && bf_git_patterns_match(g->push, g->n_push, ref + 1))
			fprintf(f, "%s\n", line);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || rename(tmp, g->refs) != 0)
		return -errno;
	return 0;
}

/* The update hook's verdicts, "ok|refused REF OLD NEW [REASON]", as
 * log lines. */
static void log_verdicts(const struct bf_git_gate *g, int fd)
{
	cleanup_fclose FILE *in = fdopen(dup(fd), "r");
	char line[1024];

	if (!in)
		return;
	rewind(in);
	while (fgets(line, sizeof(line), in)) {
		char verdict[16], ref[300], old[72], new[72];
		int reason_at = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%15s %299s %71s %71s %n", verdict, ref, old, new, &reason_at) < 4)
			continue;
		if (strcmp(verdict, "ok") == 0)
			log_line(g, "push %s %.12s..%.12s", ref, old, new);
		else
			log_line(g, "refused %s %.12s..%.12s: %s", ref, old, new,
				 reason_at ? line + reason_at : "");
	}
}

static void refuse(int fd, const char *msg)
{
	char pkt[600];
	size_t n = bf_git_pkt_error(pkt, sizeof(pkt), msg);

	if (bf_send_all(fd, pkt, n) == 0)
		bf_linger_before_close(fd);
}

/* Copies receive-pack's answer from `from` to the guest's socket: its ref
 * advertisement whole (the guest's git answers it), then the rest but for
 * its last 4 bytes (the flush packet that ends the report), left in
 * tail[]: the guest's git push cannot return before they are sent. Reads
 * to the end even once the guest has gone, so that receive-pack never
 * blocks on it. Returns how many bytes tail[] holds. */
static size_t relay_all_but_tail(int from, int to, char tail[4])
{
	struct bf_git_flush_scan adv = { 0 };
	char buf[4 + 4096];   /* the answer is small; the thread's stack is too */
	size_t held = 0;
	bool guest_gone = false;

	for (;;) {
		ssize_t n = read(from, buf + held, sizeof(buf) - held);
		size_t have, send_n, adv_end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have = held + (size_t)n;
		/* adv_end: how much of the new bytes is advertisement (0 once
		 * it is over, when bytes are held). */
		adv_end = bf_git_flush_scan(&adv, buf + held, (size_t)n);
		send_n = !adv.done ? have : have > 4 ? have - 4 : 0;
		if (send_n < held + adv_end)
			send_n = held + adv_end;
		if (!guest_gone && send_n && bf_send_all(to, buf, send_n) < 0)
			guest_gone = true;
		held = have - send_n;
		memmove(buf, buf + send_n, held);
	}
	memcpy(tail, buf, held);
	return held;
}

static void push(struct bf_git_gate *g, int fd)
{
	const char *env[N_BASE_ENV + 4];
	char hooks_opt[PATH_MAX + 32], push_env[BF_GIT_PATTERN_MAX * 33 + 32], tail[4];
	/* A push's pack is at most 1 GiB: a guest cannot fill the host's
	 * disk in one go. */
	const char *argv[] = { "git", "-c", hooks_opt, "-c", "receive.fsckObjects=true",
			       "-c", "receive.advertisePushOptions=false",
			       "-c", "receive.maxInputSize=1073741824", "receive-pack", g->mirror, NULL };
	cleanup_close int verdicts = new_memfd();
	cleanup_close int answer = -1;
	int answer_pipe[2], fds[4], status, r;
	size_t i, n_tail;
	pid_t pid;

	if (verdicts < 0 || pipe2(answer_pipe, O_CLOEXEC) < 0) {
		log_line(g, "push refused: %s", strerror(errno));
		refuse(fd, "bottlefs git-gate: out of resources for a push");
		return;
	}
	answer = answer_pipe[0];
	snprintf(hooks_opt, sizeof(hooks_opt), "core.hooksPath=%s", g->hooks);
	strlcpy(push_env, "BOTTLEFS_GIT_PUSH=", sizeof(push_env));
	for (i = 0; i < g->n_push; i++) {
		if (i)
			strlcat(push_env, " ", sizeof(push_env));
		strlcat(push_env, g->push[i], sizeof(push_env));
	}
	make_env(env, push_env, g->force ? "BOTTLEFS_GIT_FORCE=1" : "BOTTLEFS_GIT_FORCE=0",
		 "BOTTLEFS_GIT_VERDICTS=3");
	fds[0] = fd;
	fds[1] = answer_pipe[1];
	fds[2] = -1;
	fds[3] = verdicts;
	pthread_mutex_lock(&g->lock);
	pid = bf_spawn_as(g->git, (char *const *)argv, (char *const *)env, fds, &g->as_id);
	close(answer_pipe[1]);
	if (pid < 0) {
		pthread_mutex_unlock(&g->lock);
		log_line(g, "push refused: cannot run git receive-pack: %s", strerror((int)-pid));
		refuse(fd, "bottlefs git-gate: cannot run git receive-pack");
		return;
	}
	/* git/log and git/refs say what the push did before the guest's git
	 * is told it is done. */
	n_tail = relay_all_but_tail(answer, fd, tail);
	status = bf_wait_child(pid);
	log_verdicts(g, verdicts);
	r = update_refs_file(g);
	pthread_mutex_unlock(&g->lock);
	if (r < 0)
		log_line(g, "git/refs not updated: %s", strerror(-r));
	if (status != 0 && lseek(verdicts, 0, SEEK_END) == 0)
		log_line(g, "push failed before any ref was offered (git status %d)", status);
	if (n_tail)
		bf_send_all(fd, tail, n_tail);
}

static void fetch(struct bf_git_gate *g, int fd, int version)
{
	struct bf_error err = { 0 };
	const char *env[N_BASE_ENV + 4];
	char timeout_opt[32];
	const char *argv[] = { "git", "upload-pack", "--strict", timeout_opt, g->mirror, NULL };
	int r;

	pthread_mutex_lock(&g->lock);
	r = refresh(g, &err);
	pthread_mutex_unlock(&g->lock);
	if (r < 0) {
		log_line(g, "fetch refused: %s", err.msg);
		refuse(fd, err.msg);
		return;
	}
	snprintf(timeout_opt, sizeof(timeout_opt), "--timeout=%d", g->timeout);
	make_env(env, version == 2 ? "GIT_PROTOCOL=version=2" : NULL, NULL, NULL);
	run_git(g, &g->as_id, argv, env, fd, fd, -1, -1);
}

/* Reads and checks the client's first packet; 0, or -1 once the client
 * has been refused or has gone. Not inlined: its packet buffer is off
 * the stack before the push or fetch runs on the proxy's small stack. */
static __attribute__((noinline)) int read_request(int fd, struct bf_git_request *req)
{
	struct bf_error err = { 0 };
	char buf[BF_GIT_PKT_MAX];
	int len;

	if (bf_recv_all(fd, buf, 4, REQUEST_WAIT_MS) < 0)
		return -1;
	len = bf_git_pkt_len(buf);
	if (len < 0) {
		refuse(fd, "bottlefs git-gate: not a git:// request");
		return -1;
	}
	if (bf_recv_all(fd, buf + 4, (size_t)len - 4, REQUEST_WAIT_MS) < 0)
		return -1;
	if (bf_git_request_parse(buf, (size_t)len, req, &err) < 0) {
		char msg[sizeof(err.msg) + 32];

		snprintf(msg, sizeof(msg), "bottlefs git-gate: %s", err.msg);
		refuse(fd, msg);
		return -1;
	}
	if (strcmp(req->path, "/repo.git") != 0 && strcmp(req->path, "/repo") != 0 &&
	    strcmp(req->path, "/repo.git/") != 0) {
		refuse(fd, "bottlefs git-gate: no such repository (this gate serves /repo.git)");
		return -1;
	}
	return 0;
}

void bf_git_gate_serve(struct bf_git_gate *g, int fd)
{
	struct bf_git_request req;

	if (read_request(fd, &req) < 0)
		return;
	if (req.service == BF_GIT_RECEIVE_PACK)
		push(g, fd);
	else
		fetch(g, fd, req.version);
}

void bf_git_gate_unavailable(int fd)
{
	refuse(fd, "bottlefs git-gate: not available (the reason is in the mount's errors file)");
}

static int make_mirror(struct bf_git_gate *g, struct bf_error *err)
{
	const char *env[N_BASE_ENV + 4];
	const char *argv[] = { "git", "init", "--bare", "--quiet", g->mirror, NULL };
	cleanup_close int errs = new_memfd();
	char head[PATH_MAX + 8];
	struct stat st;

	snprintf(head, sizeof(head), "%s/HEAD", g->mirror);
	if (lstat(head, &st) == 0)
		return 0;
	if (errs < 0)
		return bf_error_set(err, errno, "memfd: %s", strerror(errno));
	if ((mkdir(g->mirror, 0700) < 0 && errno != EEXIST) ||
	    lchown(g->mirror, g->as_id.uid, g->as_id.gid) < 0)
		return bf_error_set(err, errno, "cannot make %s: %s", g->mirror, strerror(errno));
	make_env(env, NULL, NULL, NULL);
	if (run_git(g, &g->as_id, argv, env, -1, -1, -1, errs) != 0) {
		char reason[OUTPUT_MAX];

		first_line(errs, reason, sizeof(reason));
		return bf_error_set(err, EIO, "git init %s: %s", g->mirror, reason);
	}
	return 0;
}

static int copy_patterns(char *const *v, size_t n, char ***out)
{
	*out = calloc(n + 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!((*out)[i] = strdup(v[i])))
			return -ENOMEM;
	return 0;
}

static void free_patterns(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int bf_git_gate_open(const struct bf_git_gate_config *cfg, struct bf_git_gate **out,
		     struct bf_error *err)
{
	struct bf_git_gate *g = calloc(1, sizeof(*g));
	char hook[PATH_MAX], link_path[PATH_MAX + 8];
	int r;

	*out = NULL;
	if (!g)
		return bf_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&g->lock, NULL);
	snprintf(g->mirror, sizeof(g->mirror), "%s/mirror.git", cfg->dir);
	snprintf(g->hooks, sizeof(g->hooks), "%s/hooks", cfg->dir);
	snprintf(g->log, sizeof(g->log), "%s/log", cfg->dir);
	snprintf(g->refs, sizeof(g->refs), "%s/refs", cfg->dir);
	strlcpy(g->repo, cfg->repo, sizeof(g->repo));
	g->as_id = (struct bf_spawn_ids){ cfg->id, (gid_t)cfg->id, NULL, 0 };
	memcpy(g->writer_groups, cfg->writer.groups, cfg->writer.n_groups * sizeof(gid_t));
	g->as_writer = (struct bf_spawn_ids){ cfg->writer.uid, cfg->writer.gid, g->writer_groups,
					      cfg->writer.n_groups };
	g->n_push = cfg->n_push;
	g->n_fetch = cfg->n_fetch;
	g->force = cfg->force;
	g->timeout = cfg->timeout > 0 ? cfg->timeout : 300;
	if (copy_patterns(cfg->push, cfg->n_push, &g->push) < 0 ||
	    copy_patterns(cfg->fetch, cfg->n_fetch, &g->fetch) < 0) {
		r = bf_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (bf_find_program("git", g->git, sizeof(g->git)) < 0) {
		r = bf_error_set(err, ENOENT, "git is not installed on the host (Debian: apt-get install git)");
		goto fail;
	}
	if (bf_libexec_path("bottlefs-git-fdpass", g->fdpass, sizeof(g->fdpass)) < 0 ||
	    bf_libexec_path("bottlefs-git-hook", hook, sizeof(hook)) < 0) {
		r = bf_error_set(err, ENOENT, "bottlefs-git-fdpass or bottlefs-git-hook is not installed");
		goto fail;
	}
	if ((mkdir(cfg->dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(g->hooks, 0755) < 0 && errno != EEXIST)) {
		r = bf_error_set(err, errno, "cannot make %s: %s", cfg->dir, strerror(errno));
		goto fail;
	}
	/* The hook is ours wherever bottlefs runs from: linked afresh. */
	snprintf(link_path, sizeof(link_path), "%s/update", g->hooks);
	unlink(link_path);
	if (symlink(hook, link_path) < 0) {
		r = bf_error_set(err, errno, "cannot link %s: %s", link_path, strerror(errno));
		goto fail;
	}
	r = make_mirror(g, err);
	if (r < 0)
		goto fail;
	*out = g;
	return 0;
fail:
	bf_git_gate_free(g);
	return r;
}

void bf_git_gate_free(struct bf_git_gate *g)
{
	if (!g)
		return;
	free_patterns(g->push);
	free_patterns(g->fetch);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int bf_git_gate_remove(const char *dir, struct bf_error *err)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : bf_error_set(err, errno, "%s: %s", dir, strerror(errno));
	return bf_remove_tree(dir, err);
}
