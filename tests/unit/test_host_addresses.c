/* The host address list is cached; a change of the host's addresses must
 * show at once. Runs in a network namespace of its own (needs root). */
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../backend/host_addresses.h"
#include "cunit_main.h"

static bool is_host(const char *ip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return bf_host_address((struct sockaddr *)&sa);
}

/* Exits with the number of checks that failed. */
static int checks_in_new_netns(void)
{
	int failed = 0;

	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET) (needs root)");
		return 100;
	}
	failed += is_host("192.0.2.7");                 /* not yet */
	failed += is_host("127.0.0.1");                 /* lo is down: none */
	failed += system("ip link set lo up") != 0;
	failed += !is_host("127.0.0.1");                /* seen at once */
	failed += system("ip addr add 192.0.2.7/32 dev lo") != 0;
	failed += !is_host("192.0.2.7");
	failed += is_host("192.0.2.8");
	failed += system("ip addr del 192.0.2.7/32 dev lo") != 0;
	failed += is_host("192.0.2.7");                 /* gone at once */
	failed += !is_host("127.0.0.1");
	return failed;
}

static void test_changes_seen_at_once(void)
{
	int status = 0;
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(checks_in_new_netns());
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "address changes are seen at once", test_changes_seen_at_once },
		{ NULL, NULL },
	};

	return run_unit_tests("host_addresses", tests);
}
