/* NAME/check/HOST:PORT (a dry run of the live allowlist) and
 * NAME/pending/ (with [network] ask: the destinations the allowlist
 * refused, waiting for a person; `allow` adds the rule and lets the
 * waiting connection through, `deny` or rm refuses it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>

#include "allowlist.h"
#include "ctl_msg.h"
#include "egress_policy.h"
#include "http_head.h"
#include "registry_internal.h"
#include "waitq.h"

/* HOST:PORT as an allow rule writes it ([v6]:PORT); the port is
 * required. */
static int hostport_parse(const char *key, char *host, size_t host_len, int *port)
{
	struct bf_error err = { 0 };

	if (bf_allow_rule_check(key, &err) < 0 ||
	    !bf_http_parse_authority(key, strlen(key), host, host_len, port, 0) || *port == 0)
		return -EINVAL;
	return 0;
}

/* An IP literal is checked as the proxy would after resolving it: an
 * internal address needs a rule naming it. Names are not resolved here
 * (a lookup could hold the reader): their addresses are checked at
 * connect. */
static void literal_check(char *const *rules, size_t n, const char *host, int port,
			  struct bf_egress_verdict *v)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct bf_egress_verdict named = { 0 };
	const char *internal;

	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	} else {
		return;
	}
	internal = bf_egress_internal_address((struct sockaddr *)&ss);
	if (internal && !bf_egress_rule_names_address(rules, n, (struct sockaddr *)&ss, port, port, &named)) {
		v->allow = false;
		snprintf(v->reason, sizeof(v->reason), "%s is %s and no rule names it", host, internal);
	}
}

int bf_registry_check(struct bf_registry *reg, const char *name, const char *key,
		      struct bf_buf *out)
{
	struct bf_egress_verdict v = { 0 };
	struct bf_bottle *b;
	char host[256];
	int port;

	if (hostport_parse(key, host, sizeof(host), &port) < 0)
		return -ENOENT;
	pthread_mutex_lock(&reg->lock);
	b = bf_registry_find_locked(reg, name);
	if (!b) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOENT;
	}
	{
		char *const *rules;
		size_t n;

		bf_registry_rules_of_locked(b, &rules, &n);
		if (bf_egress_match(rules, n, host, port, port, &v))
			literal_check(rules, n, host, port, &v);
	}
	pthread_mutex_unlock(&reg->lock);
	if (v.allow)
		bf_buf_printf(out, "allow rule=%s\n", v.rule);
	else
		bf_buf_printf(out, "deny reason=%s\n", v.reason);
	return bf_buf_finish(out);
}

static const struct bf_ctl_cmd pending_cmds[] = { { "allow", 0, 0 }, { "deny", 0, 0 } };

int bf_registry_pending_render(struct bf_registry *reg, const char *name, const char *key,
			       struct bf_buf *out)
{
	int r = bf_registry_queue_text(reg, name, BF_QUEUE_APPROVALS, key, out);

	return r < 0 ? r : bf_buf_finish(out);
}

static int pending_decide(struct bf_registry *reg, const char *name, const char *key,
			  const char *msg, size_t len, struct bf_error *err)
{
	struct bf_waitq *q = bf_registry_queue_ref(reg, name, BF_QUEUE_APPROVALS);
	struct bf_ctl_msg m;
	int r;

	if (!q)
		return bf_error_set(err, ENOENT, "nothing waits for %s", key);
	if (msg) {
		r = bf_ctl_parse(msg, len, pending_cmds, 2, "allow, deny", &m, err);
		if (r < 0)
			goto out;
	} else {
		m.cmd = 1;      /* rm */
	}
	if (!bf_waitq_has(q, key)) {
		r = bf_error_set(err, ENOENT, "nothing waits for %s", key);
		goto out;
	}
	if (m.cmd == 0) {
		/* The rule first, so that the connection let go finds it. */
		struct bf_buf text = { 0 };

		pthread_mutex_lock(&reg->lock);
		{
			struct bf_bottle *b = bf_registry_find_locked(reg, name);

			r = b ? bf_registry_render_allow_locked(b, &text) : -ENOENT;
		}
		pthread_mutex_unlock(&reg->lock);
		if (r == 0) {
			bf_buf_printf(&text, "%s\n", key);
			r = bf_buf_finish(&text);
		}
		if (r == 0)
			r = bf_registry_allow_set(reg, name, text.data, text.len, err);
		bf_buf_free(&text);
		if (r < 0)
			goto out;
	}
	r = bf_waitq_decide(q, key, m.cmd == 0, NULL, 0);
	if (r < 0)
		bf_error_set(err, -r, "nothing waits for %s", key);
	else
		bf_registry_log_event(reg, name, "pending %s: %s", key, m.cmd == 0 ? "allowed" : "denied");
out:
	bf_waitq_unref(q);
	return r;
}

int bf_registry_pending_decide(struct bf_registry *reg, const char *name, const char *key,
			       const char *msg, size_t len, struct bf_error *err)
{
	int r = pending_decide(reg, name, key, msg, len, err);

	if (r < 0)
		bf_registry_report(reg, name, "pending/%s: %s", key, err->msg);
	return r;
}
