/*
 * The effective policy back to JSON (normalized: version "mxc/1", every default explicit),
 * its digest, and comparison of two effective policies.
 */
#include <stdlib.h>

#include "digest.h"
#include "json.h"
#include "parse-internal.h"

/* Builder that remembers any allocation failure, so that callers check once at the end. */
struct builder {
	bool oom;
};

static struct json_object *chk(struct builder *b, struct json_object *o)
{
	if (!o)
		b->oom = true;
	return o;
}

static void add(struct builder *b, struct json_object *obj, const char *key,
		struct json_object *val)
{
	if (!obj || !val) {
		b->oom = true;
		json_object_put(val);
		return;
	}
	if (json_object_object_add(obj, key, val) < 0) {
		b->oom = true;
		json_object_put(val);
	}
}

static void add_null(struct builder *b, struct json_object *obj, const char *key)
{
	if (!obj || json_object_object_add(obj, key, NULL) < 0)
		b->oom = true;
}

static void push(struct builder *b, struct json_object *arr, struct json_object *val)
{
	if (!arr || !val || json_object_array_add(arr, val) < 0) {
		b->oom = true;
		json_object_put(val);
	}
}

static struct json_object *str(struct builder *b, const char *s)
{
	return chk(b, json_object_new_string(s));
}

static struct json_object *num(struct builder *b, uint64_t v)
{
	return chk(b, json_object_new_int64((int64_t)v));
}

static struct json_object *boolean(struct builder *b, bool v)
{
	return chk(b, json_object_new_boolean(v));
}

static struct json_object *strv(struct builder *b, char *const *v)
{
	struct json_object *a = chk(b, json_object_new_array());
	for (size_t i = 0; a && v && v[i]; i++)
		push(b, a, str(b, v[i]));
	return a;
}

static struct json_object *cidr(struct builder *b, const struct mxc_policy_cidr *c)
{
	char buf[MXC_POLICY_CIDR_STRLEN];
	return str(b, mxc_policy_cidr_to_string(c, buf, sizeof(buf)));
}

static struct json_object *net_rules(struct builder *b, const struct mxc_policy_net_rule *rules,
				     size_t n)
{
	struct json_object *arr = chk(b, json_object_new_array());
	for (size_t i = 0; i < n; i++) {
		const struct mxc_policy_net_rule *rule = &rules[i];
		struct json_object *o = chk(b, json_object_new_object());
		if (rule->n_to > 0) {
			struct json_object *to = chk(b, json_object_new_array());
			for (size_t t = 0; t < rule->n_to; t++) {
				struct json_object *peer = chk(b, json_object_new_object());
				add(b, peer, "cidr", cidr(b, &rule->to[t].cidr));
				struct json_object *ex = chk(b, json_object_new_array());
				for (size_t e = 0; e < rule->to[t].n_except; e++)
					push(b, ex, cidr(b, &rule->to[t].except[e]));
				add(b, peer, "except", ex);
				push(b, to, peer);
			}
			add(b, o, "to", to);
		}
		if (rule->n_ports > 0) {
			struct json_object *ports = chk(b, json_object_new_array());
			for (size_t k = 0; k < rule->n_ports; k++) {
				const struct mxc_policy_port *pt = &rule->ports[k];
				struct json_object *po = chk(b, json_object_new_object());
				add(b, po, "protocol",
				    str(b, mxc_policy_protocol_to_string(pt->protocol)));
				if (pt->port > 0) {
					add(b, po, "port", num(b, pt->port));
					add(b, po, "endPort", num(b, pt->end_port));
				}
				push(b, ports, po);
			}
			add(b, o, "ports", ports);
		}
		push(b, arr, o);
	}
	return arr;
}

static struct json_object *transfer_rules(struct builder *b,
					  const struct mxc_policy_transfer_rule *rules, size_t n,
					  bool clipboard)
{
	struct json_object *arr = chk(b, json_object_new_array());
	for (size_t i = 0; i < n; i++) {
		const struct mxc_policy_transfer_rule *r = &rules[i];
		struct json_object *o = chk(b, json_object_new_object());
		add(b, o, "direction", str(b, mxc_policy_direction_to_string(r->direction)));
		add(b, o, "mime", strv(b, r->mime));
		add(b, o, "maxBytes", num(b, r->max_bytes));
		add(b, o, "action", str(b, mxc_policy_action_to_string(r->action)));
		if (clipboard && r->direction == MXC_POLICY_AGENT_TO_HUMAN)
			add(b, o, "denyPatterns", strv(b, r->deny_patterns));
		push(b, arr, o);
	}
	return arr;
}

struct json_object *mxc_policy_to_json(const struct mxc_policy *p)
{
	if (!p)
		return NULL;
	struct builder bb = {false}, *b = &bb;
	struct json_object *root = chk(b, json_object_new_object());

	add(b, root, "version", str(b, MXC_POLICY_VERSION));
	if (p->timeout_ms > 0)
		add(b, root, "timeoutMs", num(b, p->timeout_ms));
	else
		add_null(b, root, "timeoutMs");

	struct json_object *fs = chk(b, json_object_new_object());
	add(b, fs, "readwritePaths", strv(b, p->fs.readwrite));
	add(b, fs, "readonlyPaths", strv(b, p->fs.readonly));
	add(b, fs, "deniedPaths", strv(b, p->fs.denied));
	add(b, root, "filesystem", fs);

	const struct mxc_policy_network *n = &p->network;
	struct json_object *net = chk(b, json_object_new_object());
	struct json_object *eg = chk(b, json_object_new_object());
	add(b, eg, "default", str(b, mxc_policy_action_to_string(n->egress_default)));
	add(b, eg, "allow", net_rules(b, n->allow, n->n_allow));
	add(b, eg, "deny", net_rules(b, n->deny, n->n_deny));
	add(b, net, "egress", eg);
	struct json_object *in = chk(b, json_object_new_object());
	add(b, in, "default", str(b, mxc_policy_action_to_string(n->ingress_default)));
	add(b, in, "hostLoopback", str(b, mxc_policy_action_to_string(n->host_loopback)));
	add(b, net, "ingress", in);
	add(b, root, "network", net);

	struct json_object *ui = chk(b, json_object_new_object());
	add(b, ui, "allowWindows", boolean(b, p->ui.allow_windows));
	add(b, ui, "clipboard", str(b, mxc_policy_clipboard_mode_to_string(p->ui.clipboard)));
	add(b, ui, "allowInputInjection", boolean(b, p->ui.allow_input_injection));
	add(b, root, "ui", ui);

	if (p->process) {
		const struct mxc_policy_process *pr = p->process;
		struct json_object *po = chk(b, json_object_new_object());
		if (pr->command_line)
			add(b, po, "commandLine", str(b, pr->command_line));
		if (pr->cwd)
			add(b, po, "cwd", str(b, pr->cwd));
		if (pr->env)
			add(b, po, "env", strv(b, pr->env));
		add(b, po, "timeout", num(b, pr->timeout_ms));
		add(b, root, "process", po);
	}

	struct json_object *session = chk(b, json_object_new_object());
	if (p->ui.allow_windows) {
		struct json_object *d = chk(b, json_object_new_object());
		add(b, d, "backend",
		    str(b, mxc_policy_display_backend_to_string(p->display.backend)));
		add(b, d, "width", num(b, p->display.width));
		add(b, d, "height", num(b, p->display.height));
		add(b, d, "depth", num(b, p->display.depth));
		add(b, session, "display", d);
	}
	struct json_object *lim = chk(b, json_object_new_object());
	if (p->limits.memory_bytes > 0)
		add(b, lim, "memoryBytes", num(b, p->limits.memory_bytes));
	else
		add_null(b, lim, "memoryBytes");
	add(b, lim, "tasks", num(b, p->limits.tasks));
	add(b, lim, "tmpBytes", num(b, p->limits.tmp_bytes));
	add(b, session, "limits", lim);
	add(b, session, "clipboard", transfer_rules(b, p->clipboard, p->n_clipboard, true));
	add(b, session, "handoff", transfer_rules(b, p->handoff, p->n_handoff, false));
	struct json_object *insp = chk(b, json_object_new_object());
	add(b, insp, "principals", strv(b, p->inspect.principals));
	add(b, insp, "view", boolean(b, p->inspect.view));
	add(b, insp, "shell", boolean(b, p->inspect.shell));
	add(b, insp, "control", boolean(b, p->inspect.control));
	add(b, session, "inspect", insp);
	add(b, session, "users", strv(b, p->users));
	add(b, root, "session", session);

	if (b->oom) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

int mxc_policy_digest(const struct mxc_policy *p, char hex[static 65])
{
	struct json_object *o = mxc_policy_to_json(p);
	if (!o)
		return -ENOMEM;
	size_t len;
	const char *s = mxc_json_str(o, &len);
	int r = s ? mxc_sha256_hex(s, len, hex) : -ENOMEM;
	json_object_put(o);
	return r;
}

static bool strv_equal(char *const *a, char *const *b)
{
	size_t n = mxc_strv_length(a);
	if (n != mxc_strv_length(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool opt_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool cidr_equal(const struct mxc_policy_cidr *a, const struct mxc_policy_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static bool rules_equal(const struct mxc_policy_net_rule *a, size_t na,
			const struct mxc_policy_net_rule *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		if (a[i].n_to != b[i].n_to || a[i].n_ports != b[i].n_ports)
			return false;
		for (size_t t = 0; t < a[i].n_to; t++) {
			const struct mxc_policy_peer *pa = &a[i].to[t], *pb = &b[i].to[t];
			if (!cidr_equal(&pa->cidr, &pb->cidr) || pa->n_except != pb->n_except)
				return false;
			for (size_t e = 0; e < pa->n_except; e++)
				if (!cidr_equal(&pa->except[e], &pb->except[e]))
					return false;
		}
		for (size_t k = 0; k < a[i].n_ports; k++) {
			const struct mxc_policy_port *x = &a[i].ports[k], *y = &b[i].ports[k];
			if (x->protocol != y->protocol || x->port != y->port ||
			    x->end_port != y->end_port)
				return false;
		}
	}
	return true;
}

static bool transfers_equal(const struct mxc_policy_transfer_rule *a, size_t na,
			    const struct mxc_policy_transfer_rule *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].direction != b[i].direction || a[i].max_bytes != b[i].max_bytes ||
		    a[i].action != b[i].action || !strv_equal(a[i].mime, b[i].mime) ||
		    !strv_equal(a[i].deny_patterns, b[i].deny_patterns))
			return false;
	return true;
}

bool mxc_policy_equal(const struct mxc_policy *a, const struct mxc_policy *b)
{
	if (!a || !b)
		return a == b;
	const struct mxc_policy_network *na = &a->network, *nb = &b->network;
	if (a->timeout_ms != b->timeout_ms || a->ui.allow_windows != b->ui.allow_windows ||
	    a->ui.clipboard != b->ui.clipboard ||
	    a->ui.allow_input_injection != b->ui.allow_input_injection)
		return false;
	if (!strv_equal(a->fs.readwrite, b->fs.readwrite) ||
	    !strv_equal(a->fs.readonly, b->fs.readonly) || !strv_equal(a->fs.denied, b->fs.denied))
		return false;
	if (na->egress_default != nb->egress_default ||
	    na->ingress_default != nb->ingress_default || na->host_loopback != nb->host_loopback ||
	    !rules_equal(na->allow, na->n_allow, nb->allow, nb->n_allow) ||
	    !rules_equal(na->deny, na->n_deny, nb->deny, nb->n_deny))
		return false;
	/* The display only exists with windows; its (default) settings mean nothing without. */
	if (a->ui.allow_windows &&
	    (a->display.backend != b->display.backend || a->display.width != b->display.width ||
	     a->display.height != b->display.height || a->display.depth != b->display.depth))
		return false;
	if (a->limits.memory_bytes != b->limits.memory_bytes ||
	    a->limits.tasks != b->limits.tasks || a->limits.tmp_bytes != b->limits.tmp_bytes)
		return false;
	if (!transfers_equal(a->clipboard, a->n_clipboard, b->clipboard, b->n_clipboard) ||
	    !transfers_equal(a->handoff, a->n_handoff, b->handoff, b->n_handoff))
		return false;
	if (!strv_equal(a->inspect.principals, b->inspect.principals) ||
	    a->inspect.view != b->inspect.view || a->inspect.shell != b->inspect.shell ||
	    a->inspect.control != b->inspect.control || !strv_equal(a->users, b->users))
		return false;
	if (!a->process || !b->process)
		return !a->process && !b->process;
	const struct mxc_policy_process *pa = a->process, *pb = b->process;
	return opt_str_equal(pa->command_line, pb->command_line) &&
	       opt_str_equal(pa->cwd, pb->cwd) && (!pa->env) == (!pb->env) &&
	       strv_equal(pa->env, pb->env) && pa->timeout_ms == pb->timeout_ms;
}

const char *mxc_policy_action_to_string(enum mxc_policy_action a)
{
	switch (a) {
	case MXC_POLICY_ALLOW:
		return "allow";
	case MXC_POLICY_ASK:
		return "ask";
	case MXC_POLICY_DENY:
		return "deny";
	}
	return "deny";
}

const char *mxc_policy_direction_to_string(enum mxc_policy_direction d)
{
	return d == MXC_POLICY_HUMAN_TO_AGENT ? "human-to-agent" : "agent-to-human";
}

const char *mxc_policy_clipboard_mode_to_string(enum mxc_policy_clipboard_mode m)
{
	switch (m) {
	case MXC_POLICY_CLIPBOARD_READ:
		return "read";
	case MXC_POLICY_CLIPBOARD_WRITE:
		return "write";
	case MXC_POLICY_CLIPBOARD_ALL:
		return "all";
	case MXC_POLICY_CLIPBOARD_NONE:
		break;
	}
	return "none";
}

const char *mxc_policy_protocol_to_string(enum mxc_policy_protocol p)
{
	switch (p) {
	case MXC_POLICY_PROTO_TCP:
		return "tcp";
	case MXC_POLICY_PROTO_UDP:
		return "udp";
	case MXC_POLICY_PROTO_ICMP:
		return "icmp";
	case MXC_POLICY_PROTO_ANY:
		break;
	}
	return "any";
}

const char *mxc_policy_display_backend_to_string(enum mxc_policy_display_backend b)
{
	return b == MXC_POLICY_DISPLAY_WLROOTS ? "wlroots" : "xvfb";
}
