#include <arpa/inet.h>
#include <string.h>

#include "../../backend/egress_policy.h"
#include "cunit_main.h"

static char *rules[] = {
	"api.example.com", "*.githubusercontent.com", "registry.npmjs.org:443",
	"plain.example.org:80", "127.0.0.5:8080", "[::1]:9000", "10.1.2.3",
};
#define N (sizeof(rules) / sizeof(rules[0]))

static bool allowed(const char *host, int port, int dflt)
{
	struct bf_egress_verdict v;

	return bf_egress_match(rules, N, host, port, dflt, &v);
}

static void test_exact_and_default_ports(void)
{
	CU_ASSERT_TRUE(allowed("api.example.com", 443, 443));
	CU_ASSERT_TRUE(allowed("API.Example.COM", 443, 443));
	CU_ASSERT_FALSE(allowed("api.example.com", 80, 443));   /* rule means 443 for CONNECT */
	CU_ASSERT_TRUE(allowed("api.example.com", 80, 80));     /* and 80 for plain HTTP */
	CU_ASSERT_FALSE(allowed("api.example.com.evil.net", 443, 443));
	CU_ASSERT_FALSE(allowed("xapi.example.com", 443, 443));
	CU_ASSERT_TRUE(allowed("registry.npmjs.org", 443, 80));
	CU_ASSERT_FALSE(allowed("registry.npmjs.org", 80, 80));
	CU_ASSERT_TRUE(allowed("plain.example.org", 80, 443));
}

static void test_wildcards(void)
{
	CU_ASSERT_TRUE(allowed("raw.githubusercontent.com", 443, 443));
	CU_ASSERT_TRUE(allowed("a.b.githubusercontent.com", 443, 443));
	CU_ASSERT_FALSE(allowed("githubusercontent.com", 443, 443));
	CU_ASSERT_FALSE(allowed("evilgithubusercontent.com", 443, 443));
}

static void test_ip_literals(void)
{
	struct bf_egress_verdict v;

	CU_ASSERT_TRUE(allowed("127.0.0.5", 8080, 80));
	CU_ASSERT_FALSE(allowed("127.0.0.5", 8081, 80));
	CU_ASSERT_TRUE(allowed("::1", 9000, 443));
	CU_ASSERT_TRUE(allowed("0:0::1", 9000, 443));
	CU_ASSERT_TRUE(allowed("10.1.2.3", 443, 443));
	CU_ASSERT_FALSE(allowed("127.0.0.1", 8080, 80));
	CU_ASSERT_TRUE(bf_egress_match(rules, N, "127.0.0.5", 8080, 80, &v));
	CU_ASSERT_STRING_EQUAL(v.rule, "127.0.0.5:8080");
	CU_ASSERT_FALSE(bf_egress_match(rules, N, "1.2.3.4", 443, 443, &v));
	CU_ASSERT_STRING_EQUAL(v.reason, "no rule allows 1.2.3.4:443");
}

static const char *classify(int family, const char *text)
{
	struct sockaddr_storage ss = { 0 };

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
	else
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return bf_egress_internal_address((struct sockaddr *)&ss);
}

static void test_internal_addresses(void)
{
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "127.0.0.1"), "loopback");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "10.9.8.7"), "private");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "172.16.0.1"), "private");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "172.31.255.255"), "private");
	CU_ASSERT_PTR_NULL(classify(AF_INET, "172.32.0.1"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "192.168.1.1"), "private");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "169.254.169.254"), "link-local");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "224.0.0.1"), "multicast");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "0.0.0.0"), "unspecified");
	CU_ASSERT_PTR_NULL(classify(AF_INET, "93.184.216.34"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "::1"), "loopback");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "::"), "unspecified");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "fe80::1"), "link-local");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "fd00::1"), "private (ULA)");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "ff02::1"), "multicast");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "::ffff:127.0.0.1"), "loopback");
	CU_ASSERT_PTR_NULL(classify(AF_INET6, "2606:2800:220:1::1"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "255.255.255.255"), "reserved");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "240.1.2.3"), "reserved");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "198.18.0.1"), "benchmarking");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "198.19.255.1"), "benchmarking");
	CU_ASSERT_PTR_NULL(classify(AF_INET, "198.20.0.1"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "192.0.0.8"), "IETF protocol assignments");
	CU_ASSERT_PTR_NULL(classify(AF_INET, "192.0.1.1"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "64:ff9b::10.0.0.1"), "private");
	CU_ASSERT_PTR_NULL(classify(AF_INET6, "64:ff9b::93.184.216.34"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "2002:7f00:1::"), "loopback");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "::10.1.2.3"), "private");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "192.0.2.1"), "documentation (TEST-NET)");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "198.51.100.200"), "documentation (TEST-NET)");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET, "203.0.113.7"), "documentation (TEST-NET)");
	CU_ASSERT_PTR_NULL(classify(AF_INET, "203.0.114.7"));
	CU_ASSERT_PTR_NULL(classify(AF_INET, "198.51.101.1"));
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "2001:db8::1"), "documentation (2001:db8::/32)");
	CU_ASSERT_STRING_EQUAL(classify(AF_INET6, "::ffff:203.0.113.1"), "documentation (TEST-NET)");
	CU_ASSERT_PTR_NULL(classify(AF_INET6, "2001:db9::1"));
}

static void fill(int family, const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr);
	else
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr);
}

static void test_same_address(void)
{
	struct sockaddr_storage a, b;

	fill(AF_INET, "10.1.2.3", &a);
	fill(AF_INET, "10.1.2.3", &b);
	((struct sockaddr_in *)&b)->sin_port = htons(99);
	CU_ASSERT(bf_egress_same_address((struct sockaddr *)&a, (struct sockaddr *)&b));
	fill(AF_INET, "10.1.2.4", &b);
	CU_ASSERT(!bf_egress_same_address((struct sockaddr *)&a, (struct sockaddr *)&b));
	fill(AF_INET6, "::ffff:10.1.2.3", &b);
	CU_ASSERT(!bf_egress_same_address((struct sockaddr *)&a, (struct sockaddr *)&b));
	fill(AF_INET6, "2001:db8::5", &a);
	fill(AF_INET6, "2001:db8::5", &b);
	CU_ASSERT(bf_egress_same_address((struct sockaddr *)&a, (struct sockaddr *)&b));
}

static void test_rule_names_address(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct bf_egress_verdict v;

	inet_pton(AF_INET, "127.0.0.5", &a.sin_addr);
	CU_ASSERT_TRUE(bf_egress_rule_names_address(rules, N, (struct sockaddr *)&a, 8080, 80, &v));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	CU_ASSERT_FALSE(bf_egress_rule_names_address(rules, N, (struct sockaddr *)&a, 8080, 80, &v));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "exact names and default ports", test_exact_and_default_ports },
		{ "wildcards", test_wildcards },
		{ "IP literals", test_ip_literals },
		{ "internal addresses", test_internal_addresses },
		{ "rule names address", test_rule_names_address },
		{ "same address", test_same_address },
		{ NULL, NULL },
	};

	return run_unit_tests("egress_policy", tests);
}
