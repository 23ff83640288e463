/* The pool of kept origin connections: a connection is given back only
 * for the destination it was made to, only while the origin has not
 * closed it, it is not too old and the rules have not changed since, at
 * most 8 are kept (the oldest goes), and none is left open at the end. Unix socket pairs stand
 * in for TCP connections: the pool sees only descriptors. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../backend/upstream_pool.h"
#include "cunit_main.h"

/* One end for the pool, the other (the "origin") in *peer. */
static int connection(int *peer)
{
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	*peer = sv[1];
	return sv[0];
}

/* Whether the pool closed its end: the origin then reads end-of-file,
 * or a reset if the pool left bytes unread. */
static int closed_by_pool(int peer)
{
	char byte;
	ssize_t n = recv(peer, &byte, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_by_destination(void)
{
	struct bf_upstream_pool p;
	char resolved[46] = "";
	int peer, fd;

	bf_upstream_pool_init(&p);
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "a.example", 80, resolved, sizeof(resolved)), -1);
	fd = connection(&peer);
	bf_upstream_pool_put(&p, fd, "a.example", 80, "192.0.2.1", 0);
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "a.example", 8080, resolved, sizeof(resolved)), -1);
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "b.example", 80, resolved, sizeof(resolved)), -1);
	/* names ignore case, as the rules do */
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "A.Example", 80, resolved, sizeof(resolved)), fd);
	CU_ASSERT_STRING_EQUAL(resolved, "192.0.2.1");
	/* taken: not given twice */
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "a.example", 80, resolved, sizeof(resolved)), -1);
	CU_ASSERT_FALSE(closed_by_pool(peer));
	close(fd);
	close(peer);
	bf_upstream_pool_destroy(&p);
}

/* A connection the origin closed, or one on which it sent what nobody
 * asked for, is closed and never given. */
static void test_not_closed_ones(void)
{
	struct bf_upstream_pool p;
	char resolved[46];
	int closing_peer, talking_peer, good_peer, closing, talking, good;

	bf_upstream_pool_init(&p);
	good = connection(&good_peer);
	closing = connection(&closing_peer);
	talking = connection(&talking_peer);
	bf_upstream_pool_put(&p, good, "h", 80, "x", 0);
	bf_upstream_pool_put(&p, closing, "h", 80, "x", 0);
	bf_upstream_pool_put(&p, talking, "h", 80, "x", 0);
	close(closing_peer);
	CU_ASSERT_EQUAL(send(talking_peer, "HTTP/1.1 200", 12, 0), 12);
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)), good);
	CU_ASSERT_TRUE(closed_by_pool(talking_peer));
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)), -1);
	close(good);
	close(good_peer);
	close(talking_peer);
	bf_upstream_pool_destroy(&p);
}

static void test_at_most_eight_and_not_old(void)
{
	struct bf_upstream_pool p;
	char resolved[46];
	int peers[BF_UPSTREAM_POOL_MAX + 1], fds[BF_UPSTREAM_POOL_MAX + 1], i;

	bf_upstream_pool_init(&p);
	for (i = 0; i <= BF_UPSTREAM_POOL_MAX; i++) {
		fds[i] = connection(&peers[i]);
		bf_upstream_pool_put(&p, fds[i], "h", 80, "x", 0);
	}
	/* the ninth put closed the first, the oldest */
	CU_ASSERT_TRUE(closed_by_pool(peers[0]));
	CU_ASSERT_FALSE(closed_by_pool(peers[1]));
	CU_ASSERT_EQUAL(p.n, BF_UPSTREAM_POOL_MAX);
	/* the newest is given first */
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)),
			fds[BF_UPSTREAM_POOL_MAX]);
	close(fds[BF_UPSTREAM_POOL_MAX]);
	/* past idle_seconds: pruned, all closed */
	p.idle_seconds = 0;
	bf_upstream_pool_prune(&p);
	CU_ASSERT_EQUAL(p.n, 0);
	for (i = 1; i < BF_UPSTREAM_POOL_MAX; i++)
		CU_ASSERT_TRUE(closed_by_pool(peers[i]));
	for (i = 0; i <= BF_UPSTREAM_POOL_MAX; i++)
		close(peers[i]);
	bf_upstream_pool_destroy(&p);
}

/* The rules changed: no kept connection is given again, and a pruning
 * (or the next take) closes them; one taken before the change is not
 * kept when it comes back. A closed pool (the proxy stops) keeps none. */
static void test_forget_and_close(void)
{
	struct bf_upstream_pool p;
	char resolved[46];
	int peer1, peer2, peer3, fd1, fd2;
	unsigned before;

	bf_upstream_pool_init(&p);
	before = bf_upstream_pool_generation(&p);
	bf_upstream_pool_put(&p, connection(&peer1), "h", 80, "x", before);
	fd2 = connection(&peer2);
	bf_upstream_pool_put(&p, fd2, "h", 80, "x", before);
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)), fd2);
	bf_upstream_pool_forget(&p, false);
	CU_ASSERT_NOT_EQUAL(bf_upstream_pool_generation(&p), before);
	CU_ASSERT_FALSE(closed_by_pool(peer1));         /* no I/O where the rules change */
	bf_upstream_pool_put(&p, fd2, "h", 80, "x", before);
	CU_ASSERT_TRUE(closed_by_pool(peer2));          /* taken under the old rules */
	bf_upstream_pool_prune(&p);
	CU_ASSERT_TRUE(closed_by_pool(peer1));
	CU_ASSERT_EQUAL(p.n, 0);
	/* the new generation's connections are kept as before */
	fd1 = connection(&peer3);
	bf_upstream_pool_put(&p, fd1, "h", 80, "x", bf_upstream_pool_generation(&p));
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)), fd1);
	bf_upstream_pool_forget(&p, true);
	bf_upstream_pool_put(&p, fd1, "h", 80, "x", bf_upstream_pool_generation(&p));
	CU_ASSERT_TRUE(closed_by_pool(peer3));
	CU_ASSERT_EQUAL(bf_upstream_pool_take(&p, "h", 80, resolved, sizeof(resolved)), -1);
	close(peer1);
	close(peer2);
	close(peer3);
	bf_upstream_pool_destroy(&p);
}

/* What is still kept at the end is closed with the pool. */
static void test_destroy_closes(void)
{
	struct bf_upstream_pool p;
	int peer;

	bf_upstream_pool_init(&p);
	bf_upstream_pool_put(&p, connection(&peer), "h", 80, "x", 0);
	CU_ASSERT_FALSE(closed_by_pool(peer));
	bf_upstream_pool_destroy(&p);
	CU_ASSERT_TRUE(closed_by_pool(peer));
	close(peer);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "by destination", test_by_destination },
		{ "not the origin's closed ones", test_not_closed_ones },
		{ "at most eight, and not old", test_at_most_eight_and_not_old },
		{ "forget and close", test_forget_and_close },
		{ "destroy closes", test_destroy_closes },
		{ NULL, NULL },
	};

	return run_unit_tests("upstream_pool", tests);
}
