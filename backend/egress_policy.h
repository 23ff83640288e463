/* The egress decision: which destinations the allowlist lets a guest
 * reach. Pure functions, so every rule of the policy is unit-tested. */
#ifndef BOTTLEFS_EGRESS_POLICY_H
#define BOTTLEFS_EGRESS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A rule that matched, or why nothing did. */
struct bf_egress_verdict {
	bool allow;
	char rule[300];     /* the matching rule, when allowed */
	char reason[300];   /* why not, when denied */
};

/* Does any rule name this host (name or IP literal, as the client wrote
 * it) and port? `dflt_port` is the port a rule without one stands for
 * (443 for CONNECT, 80 for plain HTTP). */
bool bf_egress_match(char *const *rules, size_t n, const char *host, int port, int dflt_port,
		     struct bf_egress_verdict *v);

/* Addresses a name may not resolve to unless a rule names the address
 * itself: loopback, private (RFC 1918, ULA), link-local, multicast,
 * unspecified, and the like. Returns a short label ("loopback", ...) or
 * NULL for a public address. */
const char *bf_egress_internal_address(const struct sockaddr *sa);

/* The same IPv4 or IPv6 address (ports aside). */
bool bf_egress_same_address(const struct sockaddr *a, const struct sockaddr *b);

/* Whether a rule names exactly this address (with this port). */
bool bf_egress_rule_names_address(char *const *rules, size_t n, const struct sockaddr *sa,
				  int port, int dflt_port, struct bf_egress_verdict *v);

#endif
