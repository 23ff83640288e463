#include "egress_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bsd/string.h>

/* Splits "host", "host:port", "[v6]" or "[v6]:port"; port 0 = none. */
static bool split_rule(const char *rule, char *host, size_t len, int *port)
{
	const char *colon;

	*port = 0;
	if (rule[0] == '[') {
		const char *close = strchr(rule, ']');

		if (!close || (size_t)(close - rule - 1) >= len)
			return false;
		memcpy(host, rule + 1, (size_t)(close - rule - 1));
		host[close - rule - 1] = '\0';
		if (close[1] == ':')
			*port = atoi(close + 2);
		return true;
	}
	colon = strchr(rule, ':');
	if (colon && strchr(colon + 1, ':'))
		colon = NULL;   /* a bare IPv6 address */
	if (strlcpy(host, rule, len) >= len)
		return false;
	if (colon) {
		host[colon - rule] = '\0';
		*port = atoi(colon + 1);
	}
	return true;
}

static bool host_matches(const char *pattern, const char *host)
{
	size_t hl = strlen(host), sl;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, host) == 0;
	/* "*.example.com" is any name below example.com, not example.com. */
	sl = strlen(pattern + 1);
	return hl > sl && strcasecmp(host + hl - sl, pattern + 1) == 0;
}

/* Canonical text of an IP literal, so "::1" and "0::1" compare equal. */
static bool canonical_ip(const char *text, char *out, size_t len)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, text, buf) == 1)
		return inet_ntop(AF_INET, buf, out, (socklen_t)len) != NULL;
	if (inet_pton(AF_INET6, text, buf) == 1)
		return inet_ntop(AF_INET6, buf, out, (socklen_t)len) != NULL;
	return false;
}

bool bf_egress_match(char *const *rules, size_t n, const char *host, int port, int dflt_port,
		     struct bf_egress_verdict *v)
{
	char want_ip[INET6_ADDRSTRLEN];
	bool host_is_ip = canonical_ip(host, want_ip, sizeof(want_ip));
	size_t i;

	for (i = 0; i < n; i++) {
		char rhost[300];
		int rport;
		bool same;

		if (!split_rule(rules[i], rhost, sizeof(rhost), &rport))
			continue;
		if ((rport ? rport : dflt_port) != port)
			continue;
		if (host_is_ip) {
			char rip[INET6_ADDRSTRLEN];

			same = canonical_ip(rhost, rip, sizeof(rip)) && strcmp(rip, want_ip) == 0;
		} else {
			same = host_matches(rhost, host);
		}
		if (same) {
			v->allow = true;
			strlcpy(v->rule, rules[i], sizeof(v->rule));
			return true;
		}
	}
	v->allow = false;
	snprintf(v->reason, sizeof(v->reason), "no rule allows %s:%d", host, port);
	return false;
}

static const char *classify_v4(uint32_t a)
{
	if ((a >> 24) == 127)
		return "loopback";
	if ((a >> 24) == 10 || (a >> 20) == (172 << 4 | 1) || (a >> 16) == (192 << 8 | 168))
		return "private";
	if ((a >> 16) == (169 << 8 | 254))
		return "link-local";
	if ((a >> 28) == 14)
		return "multicast";
	if ((a >> 24) == 0)
		return "unspecified";
	if ((a >> 22) == (100 << 2 | 1))
		return "shared (CGNAT)";
	if ((a >> 8) == (192u << 16))
		return "IETF protocol assignments";
	if ((a >> 8) == (192u << 16 | 2) || (a >> 8) == (198u << 16 | 51 << 8 | 100) ||
	    (a >> 8) == (203u << 16 | 113))
		return "documentation (TEST-NET)";
	if ((a >> 17) == (198u << 7 | 18 >> 1))
		return "benchmarking";
	if ((a >> 28) == 15)
		return "reserved";     /* 240/4, with 255.255.255.255 */
	return NULL;
}

static const char *classify_v6(const struct in6_addr *a)
{
	uint32_t v4;

	if (IN6_IS_ADDR_LOOPBACK(a))
		return "loopback";
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return "unspecified";
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return "link-local";
	if (IN6_IS_ADDR_MULTICAST(a))
		return "multicast";
	if ((a->s6_addr[0] & 0xFE) == 0xFC)
		return "private (ULA)";
	if (a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x01 && a->s6_addr[2] == 0x0d &&
	    a->s6_addr[3] == 0xb8)
		return "documentation (2001:db8::/32)";
	/* Forms that carry an IPv4 address: it decides. v4-mapped, NAT64
	 * (64:ff9b::/96), and the deprecated v4-compatible ::a.b.c.d. */
	if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a) ||
	    (a->s6_addr[0] == 0 && a->s6_addr[1] == 0x64 && a->s6_addr[2] == 0xff &&
	     a->s6_addr[3] == 0x9b && !memcmp(a->s6_addr + 4, "\0\0\0\0\0\0\0\0", 8))) {
		memcpy(&v4, a->s6_addr + 12, 4);
		return classify_v4(ntohl(v4));
	}
	if (a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x02) {   /* 6to4: 2002:a.b.c.d::/48 */
		memcpy(&v4, a->s6_addr + 2, 4);
		return classify_v4(ntohl(v4));
	}
	return NULL;
}

bool bf_egress_same_address(const struct sockaddr *a, const struct sockaddr *b)
{
	sa_family_t fa, fb;

	memcpy(&fa, &a->sa_family, sizeof(fa));
	memcpy(&fb, &b->sa_family, sizeof(fb));
	if (fa != fb)
		return false;
	if (fa == AF_INET) {
		struct sockaddr_in x, y;

		memcpy(&x, a, sizeof(x));
		memcpy(&y, b, sizeof(y));
		return x.sin_addr.s_addr == y.sin_addr.s_addr;
	}
	if (fa == AF_INET6) {
		struct sockaddr_in6 x, y;

		memcpy(&x, a, sizeof(x));
		memcpy(&y, b, sizeof(y));
		return memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
	}
	return false;
}

/* Family first, then the address copied out: a sockaddr is read only
 * through the struct its family names. */
const char *bf_egress_internal_address(const struct sockaddr *sa)
{
	sa_family_t family;

	memcpy(&family, &sa->sa_family, sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		return classify_v4(ntohl(in.sin_addr.s_addr));
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		return classify_v6(&in6.sin6_addr);
	}
	return "not an internet address";
}

bool bf_egress_rule_names_address(char *const *rules, size_t n, const struct sockaddr *sa,
				  int port, int dflt_port, struct bf_egress_verdict *v)
{
	char text[INET6_ADDRSTRLEN];
	sa_family_t family;
	const char *ok;

	memcpy(&family, &sa->sa_family, sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		ok = inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
	} else if (family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		ok = inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
	} else {
		ok = NULL;
	}
	return ok && bf_egress_match(rules, n, text, port, dflt_port, v);
}
