/* Egress allow rules: `host`, `*.suffix`, an IPv4 literal or a bracketed
 * IPv6 literal, each with an optional `:port`. */
#ifndef BOTTLEFS_ALLOWLIST_H
#define BOTTLEFS_ALLOWLIST_H

#include "error.h"

/* Returns 0 if `rule` is well-formed, else -EINVAL with err saying why. */
int bf_allow_rule_check(const char *rule, struct bf_error *err);

#endif
