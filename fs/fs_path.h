/* What a path in the mounted tree names (after lxcfs: route by path at
 * lookup, then by a kind stored in the file handle). */
#ifndef BOTTLEFS_FS_PATH_H
#define BOTTLEFS_FS_PATH_H

#include <sys/types.h>

#include "../backend/manifest.h"
#include "../backend/registry.h"

enum fs_node {
	NODE_NONE,
	NODE_ROOT,
	NODE_NEW_DIR,
	NODE_NEW_FILE,          /* new/NAME; exists only while being written */
	NODE_ERRORS,
	NODE_BACKENDS,
	NODE_CLEANUP,           /* orphans: read the plan, write "run" */
	NODE_BOTTLE_DIR,
	NODE_BOTTLE_FILE,
	NODE_EXEC_DIR,          /* NAME/exec */
	NODE_EXEC_RUN,          /* NAME/exec/run: the one-shot form */
	NODE_SESSION_DIR,       /* NAME/exec/S */
	NODE_SESSION_FILE,      /* NAME/exec/S/FILE */
	NODE_WORKSPACE,         /* NAME/workspace or NAME/git/mirror.git, and below */
	NODE_GIT_DIR,           /* NAME/git */
	NODE_CHECK_DIR,         /* NAME/check */
	NODE_CHECK_FILE,        /* NAME/check/HOST:PORT */
	NODE_PENDING_DIR,       /* NAME/pending */
	NODE_PENDING_FILE,      /* NAME/pending/HOST:PORT */
	NODE_REQUESTS_LOG,      /* requests.log */
	NODE_REQUESTS_DIR,      /* NAME/requests */
	NODE_REQUEST_DIR,       /* NAME/requests/N */
	NODE_REQUEST_QUESTION,  /* NAME/requests/N/question */
	NODE_REQUEST_ANSWER,    /* NAME/requests/N/answer */
};

/* Which read-only view a NODE_WORKSPACE path is in. */
enum fs_view {
	VIEW_WORKSPACE,         /* NAME/workspace: a copy workspace */
	VIEW_GIT_MIRROR,        /* NAME/git/mirror.git: git-gate's mirror */
};

enum fs_session_file {
	SESSION_CMD,
	SESSION_STDIN,
	SESSION_STDOUT,
	SESSION_STDERR,
	SESSION_STATUS,
	SESSION_WAIT,
	SESSION_CTL,
};

struct fs_session_file_def {
	const char *name;
	enum fs_session_file file;
	mode_t mode;
};

/* The files of a session directory; NULL-terminated. */
extern const struct fs_session_file_def fs_session_files[];

struct fs_path {
	enum fs_node node;
	char name[BF_NAME_MAX + 1];    /* bottle (or new/) name */
	enum bf_file file;             /* for NODE_BOTTLE_FILE */
	mode_t mode;                   /* permission bits of a file */
	char session[64];              /* for NODE_SESSION_* */
	enum fs_session_file session_file;
	enum fs_view view;             /* NODE_WORKSPACE */
	char key[300];                 /* NODE_CHECK_FILE, NODE_PENDING_FILE,
					* NODE_REQUEST_*: HOST:PORT or N */
	const char *workspace_rel;     /* NODE_WORKSPACE: the rest of the path
					* (into the parsed string), "" for the
					* directory itself */
};

struct fs_bottle_file {
	const char *name;
	enum bf_file file;
	mode_t mode;
};

/* The files of a bottle directory, in `ls` order; NULL-terminated. */
extern const struct fs_bottle_file fs_bottle_files[];

/* Classifies a path syntactically; whether a bottle exists is checked by
 * the caller. A component too long for a name yields NODE_NONE. */
void fs_path_parse(const char *path, struct fs_path *out);

#endif
