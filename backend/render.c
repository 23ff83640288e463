/* The generated files of a bottle directory. Every string that came from a
 * manifest goes through a quoting function so parsers read back its exact
 * bytes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bottle.h"
#include "guest_caps.h"
#include "idmap.h"
#include "quote.h"
#include "seccomp_policy.h"

static void toml_str(struct bf_buf *out, const char *key, const char *value)
{
	bf_buf_printf(out, "%s = ", key);
	bf_quote_toml(out, value, strlen(value));
	bf_buf_putc(out, '\n');
}

static void toml_str_array(struct bf_buf *out, const char *key, char *const *v, size_t n)
{
	size_t i;

	bf_buf_printf(out, "%s = [", key);
	for (i = 0; i < n; i++) {
		bf_buf_puts(out, i ? ",\n  " : "\n  ");
		bf_quote_toml(out, v[i], strlen(v[i]));
	}
	bf_buf_puts(out, n ? ",\n]\n" : "]\n");
}

static void format_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int bf_render_plan(const struct bf_bottle *b, struct bf_buf *out)
{
	const struct bf_manifest *m = &b->manifest;
	char created[32];

	format_time(b->meta.created_at, created, sizeof(created));
	bf_buf_puts(out, "# bottlefs plan: exactly what will be launched (generated; edit the manifest)\n");
	toml_str(out, "name", b->name);
	toml_str(out, "identity", b->meta.identity);
	toml_str(out, "backend", b->backend->name);
	toml_str(out, "agent", m->agent);
	toml_str(out, "image", m->image);
	if (m->kernel)
		toml_str(out, "kernel", m->kernel);
	toml_str(out, "user", m->user);
	toml_str_array(out, "command", m->command, m->command_len);
	toml_str(out, "workdir", m->workdir);
	toml_str(out, "created_at", created);
	toml_str_array(out, "env", b->env, b->env_len);

	bf_buf_puts(out, "\n[workspace]\n");
	toml_str(out, "mode", bf_workspace_mode_name(m->workspace_mode));
	if (m->workspace_path)
		toml_str(out, "path", m->workspace_path);

	bf_buf_puts(out, "\n[network]\n");
	toml_str_array(out, "allow", m->allow, m->allow_len);
	toml_str(out, "subnet", b->subnet.cidr);
	toml_str(out, "gateway", b->subnet.gateway);
	toml_str(out, "proxy", b->subnet.proxy);
	toml_str(out, "guest_sidecar_host", b->backend->guest_sidecar_host(b->subnet.proxy));
	bf_buf_printf(out, "egress_proxy_port = %d\n", BF_PORT_EGRESS);
	bf_buf_printf(out, "idle_timeout = %lld\n", m->idle_timeout);
	bf_buf_printf(out, "max_connections = %lld\n", m->max_connections);
	bf_buf_printf(out, "ask = %s\n", m->ask ? "true" : "false");
	if (m->git_gate)
		bf_buf_printf(out, "git_gate_port = %d\n", BF_PORT_GIT_GATE);
	if (m->supervise)
		bf_buf_printf(out, "supervise_port = %d\n", BF_PORT_SUPERVISE);

	if (m->git_gate) {
		bf_buf_puts(out, "\n[git]\n");
		toml_str(out, "repo", m->git_repo);
		toml_str_array(out, "push", m->git_push, m->git_push_len);
		toml_str_array(out, "fetch", m->git_fetch, m->git_fetch_len);
		bf_buf_printf(out, "force = %s\n", m->git_force ? "true" : "false");
	}

	/* As they apply, defaults included; no cpus key: no CPU quota. */
	bf_buf_puts(out, "\n[limits]\n");
	if (m->cpus)
		bf_buf_printf(out, "cpus = %lld\n", m->cpus);
	bf_buf_printf(out, "memory = %lld\n", m->memory);
	bf_buf_printf(out, "pids = %lld\n", m->pids);
	bf_buf_printf(out, "tmp = %lld\n", m->tmp);
	bf_buf_printf(out, "disk = %lld\n", m->disk);
	bf_buf_printf(out, "stop_timeout = %lld\n", b->stop_timeout);

	/* What the guest runs as, whatever the backend: bottlefs(8). */
	bf_buf_puts(out, "\n[confinement]\n");
	bf_buf_printf(out, "uid_map = \"0 %llu %u\"\n", b->meta.id_base, BF_IDS_PER_BOTTLE);
	bf_buf_printf(out, "gid_map = \"0 %llu %u\"\n", b->meta.id_base, BF_IDS_PER_BOTTLE);
	bf_buf_puts(out, "no_new_privileges = true\n");
	bf_buf_puts(out, "init = \"bottlefs-init\"\n");
	bf_buf_puts(out, "root_capabilities = [");
	for (size_t i = 0; i < bf_guest_root_caps_len; i++)
		bf_buf_printf(out, "%s\"%s\"", i ? ", " : "", bf_guest_root_caps[i].name);
	bf_buf_puts(out, "]\n");
	bf_buf_puts(out, "user_capabilities = []\n");

	bf_buf_puts(out, "\n[seccomp]\n");
	bf_seccomp_render(m->seccomp_allow, m->seccomp_allow_len, out);

	for (size_t i = 0; i < m->mounts_len; i++) {
		bf_buf_puts(out, "\n[[mount]]\n");
		toml_str(out, "source", m->mounts[i].source);
		toml_str(out, "target", m->mounts[i].target);
		toml_str(out, "mode", m->mounts[i].rw ? "rw" : "ro");
	}
	return bf_buf_finish(out);
}

int bf_render_env(const struct bf_bottle *b, struct bf_buf *out)
{
	size_t i;

	for (i = 0; i < b->env_len; i++) {
		bf_quote_env(out, b->env[i], strlen(b->env[i]));
		bf_buf_putc(out, '\n');
	}
	return bf_buf_finish(out);
}

static void yaml_port_forward(struct bf_buf *out, int port)
{
	bf_buf_printf(out, "  - gateway_port: %d\n", port);
	bf_buf_puts(out, "    host: \"127.0.0.1\"\n");
	bf_buf_printf(out, "    host_port: %d\n", port);
}

int bf_render_network(const struct bf_bottle *b, struct bf_buf *out)
{
	const struct bf_manifest *m = &b->manifest;
	size_t i;

	bf_buf_puts(out, "# bottlefs network policy (generated)\n");
	bf_buf_puts(out, "bottle: ");
	bf_quote_yaml(out, b->name, strlen(b->name));
	bf_buf_printf(out, "\nsubnet: \"%s\"\n", b->subnet.cidr);
	bf_buf_printf(out, "gateway: \"%s\"\n", b->subnet.gateway);
	bf_buf_puts(out, "dns:\n  - zone: \".\"\n    records:\n");
	bf_buf_printf(out, "      - name: \"proxy.internal\"\n        ip: \"%s\"\n", b->subnet.proxy);
	bf_buf_puts(out, "port_forwards:\n");
	yaml_port_forward(out, BF_PORT_EGRESS);
	if (m->git_gate)
		yaml_port_forward(out, BF_PORT_GIT_GATE);
	if (m->supervise)
		yaml_port_forward(out, BF_PORT_SUPERVISE);
	bf_buf_puts(out, m->allow_len ? "allow:\n" : "allow: []\n");
	for (i = 0; i < m->allow_len; i++) {
		bf_buf_puts(out, "  - ");
		bf_quote_yaml(out, m->allow[i], strlen(m->allow[i]));
		bf_buf_putc(out, '\n');
	}
	return bf_buf_finish(out);
}

/* `key: value` lines; values are escaped like the env file so that each
 * stays on one line whatever the manifest held. */
static void status_line(struct bf_buf *out, const char *key, const char *value)
{
	bf_buf_printf(out, "%s: ", key);
	bf_quote_env(out, value, strlen(value));
	bf_buf_putc(out, '\n');
}

/* What the backend reported, once the bottle has been started. */
static void render_run(const struct bf_bottle *b, struct bf_buf *out)
{
	const struct bf_run *run = &b->meta.run;
	char when[32];

	if (!run->launched) {
		if (run->reason[0])
			status_line(out, "reason", run->reason);
		return;
	}
	if (b->backend->run_render)
		b->backend->run_render(run, out);
	if (b->meta.state == BF_STATE_RUNNING || b->meta.state == BF_STATE_STOPPING)
		bf_buf_printf(out, "pid: %d\n", (int)run->pid);
	if (b->backend->own_kernel)
		bf_buf_printf(out, "guest_user: %u (the VM's own)\n", (unsigned)run->guest_uid);
	else
		bf_buf_printf(out, "guest_user: %u (host %llu)\n", (unsigned)run->guest_uid,
			      run->id_offset + run->guest_uid);
	if (run->workspace_idmapped)
		bf_buf_printf(out, "workspace_idmap: host %u:%u is guest %u:%u\n",
			      (unsigned)run->workspace_uid, (unsigned)run->workspace_gid,
			      (unsigned)run->guest_uid, (unsigned)run->guest_gid);
	if (run->started_at) {
		format_time(run->started_at, when, sizeof(when));
		status_line(out, "started_at", when);
	}
	if (run->stopped_at) {
		format_time(run->stopped_at, when, sizeof(when));
		status_line(out, "stopped_at", when);
		if (run->exit_signal)
			bf_buf_printf(out, "exit: killed %d\n", run->exit_signal);
		else if (run->exit_code >= 0)
			bf_buf_printf(out, "exit: exited %d\n", run->exit_code);
	}
	if (run->reason[0])
		status_line(out, "reason", run->reason);
}

int bf_render_status(const struct bf_bottle *b, struct bf_buf *out)
{
	const struct bf_manifest *m = &b->manifest;
	char created[32];

	format_time(b->meta.created_at, created, sizeof(created));
	status_line(out, "state", bf_state_name(b->meta.state));
	status_line(out, "name", b->name);
	status_line(out, "identity", b->meta.identity);
	status_line(out, "agent", m->agent);
	status_line(out, "backend", b->backend->name);
	status_line(out, "workspace", m->workspace_path ? m->workspace_path : "");
	status_line(out, "copy_mode", bf_workspace_mode_name(m->workspace_mode));
	status_line(out, "subnet", b->subnet.cidr);
	status_line(out, "created_at", created);
	bf_buf_printf(out, "owner_uid: %u\n", (unsigned)b->meta.owner);
	/* Guest ids 0..65535 are these host ids: never a host account. The
	 * map of a launched guest is the one it got (a docker engine's own,
	 * or none); before that, the bottle's planned one. */
	if (b->backend->own_kernel) {
		status_line(out, "uid_map", "none (a VM: its ids are its kernel's own, no host's)");
		status_line(out, "gid_map", "none (a VM: its ids are its kernel's own, no host's)");
	} else if (!b->meta.run.launched) {
		bf_buf_printf(out, "uid_map: 0 %llu %u\n", b->meta.id_base, BF_IDS_PER_BOTTLE);
		bf_buf_printf(out, "gid_map: 0 %llu %u\n", b->meta.id_base, BF_IDS_PER_BOTTLE);
	} else if (b->meta.run.id_count) {
		bf_buf_printf(out, "uid_map: 0 %llu %u\n", b->meta.run.id_offset, b->meta.run.id_count);
		bf_buf_printf(out, "gid_map: 0 %llu %u\n", b->meta.run.gid_offset, b->meta.run.id_count);
	} else {
		status_line(out, "uid_map", "none (guest ids are host ids)");
		status_line(out, "gid_map", "none (guest ids are host ids)");
	}
	render_run(b, out);
	return bf_buf_finish(out);
}
