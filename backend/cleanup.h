/* Scope-bound cleanup helpers (after crun's utils.h). */
#ifndef BOTTLEFS_CLEANUP_H
#define BOTTLEFS_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void bf_freep(void *p)
{
	free(*(void **)p);
}

static inline void bf_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void bf_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void bf_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define cleanup_free __attribute__((cleanup(bf_freep)))
#define cleanup_close __attribute__((cleanup(bf_closep)))
#define cleanup_fclose __attribute__((cleanup(bf_fclosep)))
#define cleanup_closedir __attribute__((cleanup(bf_closedirp)))

#endif
