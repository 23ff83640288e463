/* git-gate's pure parts: the git:// request packet and [git] ref patterns. */
#include <errno.h>
#include <string.h>

#include "../../backend/git/git_refs.h"
#include "../../backend/git/git_request.h"
#include "cunit_main.h"

static int parse(const char *pkt, size_t len, struct bf_git_request *r)
{
	struct bf_error err = { 0 };

	return bf_git_request_parse(pkt, len, r, &err);
}

#define PKT(s) (s), (sizeof(s) - 1)

static void test_request(void)
{
	struct bf_git_request r;

	CU_ASSERT_EQUAL(parse(PKT("0032git-upload-pack /repo.git\0host=127.0.0.1:9418\0"), &r), 0);
	CU_ASSERT_EQUAL(r.service, BF_GIT_UPLOAD_PACK);
	CU_ASSERT_STRING_EQUAL(r.path, "/repo.git");
	CU_ASSERT_EQUAL(r.version, 0);
	/* Protocol v2 asks in an extra parameter after a second NUL. */
	CU_ASSERT_EQUAL(parse(PKT("0035git-upload-pack /repo.git\0host=h:9418\0\0version=2\0"), &r), 0);
	CU_ASSERT_EQUAL(r.version, 2);
	CU_ASSERT_EQUAL(parse(PKT("0026git-receive-pack /repo.git\0host=h\0"), &r), 0);
	CU_ASSERT_EQUAL(r.service, BF_GIT_RECEIVE_PACK);
	/* An old client: no host, a newline. */
	CU_ASSERT_EQUAL(parse(PKT("001egit-upload-pack /repo.git\n"), &r), 0);
	CU_ASSERT_STRING_EQUAL(r.path, "/repo.git");
	/* Refused: another service, a bad length, a relative or spaced path,
	 * an unterminated host, garbage after the host. */
	CU_ASSERT_EQUAL(parse(PKT("0021git-upload-archive /r\0host=h\0"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("0099git-upload-pack /repo.git\0host=h\0"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("001dgit-upload-pack repo.git\0"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("001dgit-upload-pack /a b.git\0"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("0021git-upload-pack /r.git\0host=h"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("0023git-upload-pack /r.git\0host=h\0x"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("0021git-upload-pack /r.git\0port=1"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("0000"), &r), -EINVAL);
	CU_ASSERT_EQUAL(parse(PKT("00"), &r), -EINVAL);
}

static void test_pkt(void)
{
	char out[64];
	size_t n;

	CU_ASSERT_EQUAL(bf_git_pkt_len("0032"), 0x32);
	CU_ASSERT_EQUAL(bf_git_pkt_len("fff0"), 65520);
	CU_ASSERT_EQUAL(bf_git_pkt_len("fff1"), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pkt_len("0003"), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pkt_len("00g4"), -EINVAL);
	n = bf_git_pkt_error(out, sizeof(out), "no such repository");
	CU_ASSERT_EQUAL(n, 27);
	CU_ASSERT_EQUAL(memcmp(out, "001bERR no such repository\n", 27), 0);
	/* Cut to fit, length and newline still right. */
	n = bf_git_pkt_error(out, 16, "a much longer message than fits");
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(memcmp(out, "0010ERR a much \n", 16), 0);
}

/* Feeds `stream` to a fresh scanner in pieces of `piece` bytes; returns
 * how many bytes it took up to and including the first flush. */
static size_t flush_end(const char *stream, size_t len, size_t piece)
{
	struct bf_git_flush_scan s = { 0 };
	size_t at = 0, total = 0;

	while (at < len) {
		size_t n = len - at < piece ? len - at : piece;

		total += bf_git_flush_scan(&s, stream + at, n);
		at += n;
	}
	return total;
}

static void test_flush_scan(void)
{
	/* An advertisement, its flush, then a report: only the first part. */
	static const char adv[] = "003f0000000000000000000000000000000000000000 capabilities^{}\0x\n"
				  "0000"
				  "0019unpack ok\n0000";
	/* A flush inside a packet's payload is payload. */
	static const char inside[] = "000a000000" "0004" "0000" "more";
	/* Protocol v2's delimiters are headers alone. */
	static const char delim[] = "0001" "0002" "0005x" "0000" "0000";

	for (size_t piece = 1; piece <= 70; piece++) {
		CU_ASSERT_EQUAL(flush_end(adv, sizeof(adv) - 1, piece), 0x3f + 4);
		CU_ASSERT_EQUAL(flush_end(inside, sizeof(inside) - 1, piece), 10 + 4 + 4);
		CU_ASSERT_EQUAL(flush_end(delim, sizeof(delim) - 1, piece), 17);
	}
	/* Not yet seen: all of it; not pkt-lines: up to the bad header. */
	CU_ASSERT_EQUAL(flush_end("0008abcd0006", 12, 5), 12);
	CU_ASSERT_EQUAL(flush_end("0005xzz!!0000", 13, 3), 9);
}

static void test_patterns(void)
{
	struct bf_error err = { 0 };
	char full[64];

	CU_ASSERT_EQUAL(bf_git_pattern_check("bottle/*", &err), 0);
	CU_ASSERT_EQUAL(bf_git_pattern_check("main", &err), 0);
	CU_ASSERT_EQUAL(bf_git_pattern_check("refs/tags/v*", &err), 0);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a/*/b", &err), 0);
	CU_ASSERT_EQUAL(bf_git_pattern_check("*", &err), 0);
	CU_ASSERT_EQUAL(bf_git_pattern_check("", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a/**", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("*/*", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a..b", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("/main", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("main/", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a//b", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("x.lock", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("-x", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a b", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a@{1}", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("refs/*", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_check("a/.b", &err), -EINVAL);
	CU_ASSERT_EQUAL(bf_git_pattern_ref("bottle/*", full, sizeof(full)), 0);
	CU_ASSERT_STRING_EQUAL(full, "refs/heads/bottle/*");
	CU_ASSERT_EQUAL(bf_git_pattern_ref("refs/tags/v1", full, sizeof(full)), 0);
	CU_ASSERT_STRING_EQUAL(full, "refs/tags/v1");
	CU_ASSERT_EQUAL(bf_git_pattern_ref("bottle/*", full, 8), -ENAMETOOLONG);

	CU_ASSERT_TRUE(bf_git_pattern_match("bottle/*", "refs/heads/bottle/x"));
	CU_ASSERT_TRUE(bf_git_pattern_match("bottle/*", "refs/heads/bottle/x/y"));
	CU_ASSERT_FALSE(bf_git_pattern_match("bottle/*", "refs/heads/bottle/"));
	CU_ASSERT_FALSE(bf_git_pattern_match("bottle/*", "refs/heads/bottlex"));
	CU_ASSERT_FALSE(bf_git_pattern_match("bottle/*", "refs/tags/bottle/x"));
	CU_ASSERT_TRUE(bf_git_pattern_match("main", "refs/heads/main"));
	CU_ASSERT_FALSE(bf_git_pattern_match("main", "refs/heads/main2"));
	CU_ASSERT_TRUE(bf_git_pattern_match("a/*/b", "refs/heads/a/x/y/b"));
	CU_ASSERT_FALSE(bf_git_pattern_match("a/*/b", "refs/heads/a/b"));
	CU_ASSERT_TRUE(bf_git_pattern_match("refs/tags/v*", "refs/tags/v1.0"));
	CU_ASSERT_FALSE(bf_git_pattern_match("refs/tags/v*", "refs/heads/v1.0"));
	{
		char *pats[] = { "main", "release/*" };

		CU_ASSERT_TRUE(bf_git_patterns_match(pats, 2, "refs/heads/release/1"));
		CU_ASSERT_FALSE(bf_git_patterns_match(pats, 2, "refs/heads/dev"));
		CU_ASSERT_FALSE(bf_git_patterns_match(pats, 0, "refs/heads/main"));
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "request", test_request },
		{ "pkt", test_pkt },
		{ "flush_scan", test_flush_scan },
		{ "patterns", test_patterns },
		{ NULL, NULL },
	};

	return run_unit_tests("git", tests);
}
