#include "exit_file.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bsd/string.h>

void bf_exit_file_write(const char *path, int wait_status)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	if (WIFSIGNALED(wait_status))
		fprintf(f, "killed %d\n", WTERMSIG(wait_status));
	else
		fprintf(f, "exited %d\n", WEXITSTATUS(wait_status));
	if (fflush(f) == 0)
		fsync(fileno(f));
	fclose(f);
	rename(tmp, path);
}

void bf_exit_file_read(const char *path, struct bf_run *run)
{
	char line[64] = "";
	FILE *f = fopen(path, "re");
	int v = 0;

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	run->exit_code = -1;
	run->exit_signal = 0;
	if (sscanf(line, "exited %d", &v) == 1)
		run->exit_code = v;
	else if (sscanf(line, "killed %d", &v) == 1)
		run->exit_signal = v;
	else
		strlcpy(run->reason, "the guest's exit status was not recorded", sizeof(run->reason));
}
