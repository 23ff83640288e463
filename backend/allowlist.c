#include "allowlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>

static int check_port(const char *rule, const char *port, struct bf_error *err)
{
	char *end;
	long v;

	if (!*port || !isdigit((unsigned char)*port))
		return bf_error_set(err, EINVAL, "rule \"%s\": port must be a number", rule);
	errno = 0;
	v = strtol(port, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return bf_error_set(err, EINVAL, "rule \"%s\": port must be 1-65535", rule);
	return 0;
}

/* RFC 1123 host names; a leading "*." makes a suffix wildcard. */
static int check_host(const char *rule, const char *host, struct bf_error *err)
{
	const char *label = host;
	size_t n = strlen(host);

	if (strncmp(host, "*.", 2) == 0) {
		label = host + 2;
		n -= 2;
	}
	if (n == 0 || n > 253)
		return bf_error_set(err, EINVAL, "rule \"%s\": host must be 1-253 characters", rule);
	while (*label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);
		size_t i;

		if (len == 0 || len > 63)
			return bf_error_set(err, EINVAL, "rule \"%s\": empty or over-long label", rule);
		if (label[0] == '-' || label[len - 1] == '-')
			return bf_error_set(err, EINVAL, "rule \"%s\": a label may not start or end with '-'", rule);
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)label[i]) && label[i] != '-')
				return bf_error_set(err, EINVAL,
						    "rule \"%s\": '%c' is not allowed in a host name (use host, *.suffix, IP, [IPv6], with optional :port)",
						    rule, label[i]);
		label += len;
		if (*label == '.')
			label++;
	}
	return 0;
}

int bf_allow_rule_check(const char *rule, struct bf_error *err)
{
	char host[300];
	const char *colon;
	struct in6_addr a6;

	if (strlen(rule) >= sizeof(host))
		return bf_error_set(err, EINVAL, "rule is too long");
	if (rule[0] == '[') {
		const char *close = strchr(rule, ']');

		if (!close)
			return bf_error_set(err, EINVAL, "rule \"%s\": missing ']'", rule);
		memcpy(host, rule + 1, (size_t)(close - rule - 1));
		host[close - rule - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return bf_error_set(err, EINVAL, "rule \"%s\": not an IPv6 address", rule);
		if (close[1] == '\0')
			return 0;
		if (close[1] != ':')
			return bf_error_set(err, EINVAL, "rule \"%s\": expected ':port' after ']'", rule);
		return check_port(rule, close + 2, err);
	}
	if (inet_pton(AF_INET6, rule, &a6) == 1)
		return 0;
	strlcpy(host, rule, sizeof(host));
	colon = strchr(rule, ':');
	if (colon) {
		int r = check_port(rule, colon + 1, err);

		if (r < 0)
			return r;
		host[colon - rule] = '\0';
	}
	/* Digits and dots only: an IPv4 address, and a valid one. */
	if (host[strspn(host, "0123456789.")] == '\0') {
		struct in_addr a4;

		if (inet_pton(AF_INET, host, &a4) != 1)
			return bf_error_set(err, EINVAL, "rule \"%s\": not an IPv4 address", rule);
		return 0;
	}
	return check_host(rule, host, err);
}
