/*
 * mxc policies: parser, validator and normalizer.
 *
 * A policy is one JSON object, a superset of Microsoft Execution Containers' (MXC)
 * SandboxPolicy schema 0.8 plus mxc's own "session" object (docs/POLICY.md is the
 * reference). Parsing is strict: unknown keys, wrong types, bad values and duplicate keys are
 * refused with the JSON path of the problem ("network.egress.allow[1].ports[0].endPort: must
 * be >= port (443)"); what is omitted is denied. The parsed struct below is the *effective*
 * policy: every default is filled in, MXC aliases and legacy fields are mapped, paths and
 * CIDRs are normalized, and the implicit clipboard rules are materialized.
 */
#ifndef MXC_POLICIES_POLICY_H
#define MXC_POLICIES_POLICY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

#define MXC_POLICY_VERSION   "mxc/1"
#define MXC_POLICY_MAX_BYTES (1024 * 1024) /* a policy file larger than this is refused */

/* Bounds on counts and lengths; anything larger is refused with its path. */
#define MXC_POLICY_MAX_PATHS	      256 /* per filesystem list */
#define MXC_POLICY_MAX_NET_RULES      256 /* per egress list */
#define MXC_POLICY_MAX_PEERS	      256 /* "to" entries per rule */
#define MXC_POLICY_MAX_EXCEPT	      64  /* "except" entries per peer */
#define MXC_POLICY_MAX_PORTS	      64  /* "ports" entries per rule */
#define MXC_POLICY_MAX_TRANSFER_RULES 64  /* per clipboard / handoff list */
#define MXC_POLICY_MAX_MIME	      64  /* MIME types per rule */
#define MXC_POLICY_MAX_DENY_PATTERNS  32  /* per clipboard rule */
#define MXC_POLICY_MAX_PATTERN_LEN    256 /* bytes per deny pattern */
#define MXC_POLICY_MAX_PRINCIPALS     256 /* per principal list */
#define MXC_POLICY_MAX_TIMEOUT_MS     (1ull << 53)
#define MXC_POLICY_MAX_COMMAND_LINE   131072 /* bytes, the kernel's MAX_ARG_STRLEN */
#define MXC_POLICY_MAX_ENV	      1024   /* process.env entries */
#define MXC_POLICY_MAX_ENV_LEN	      32768  /* bytes per process.env entry */

/* Display bounds and defaults (session.display). */
#define MXC_POLICY_DISPLAY_MIN_WIDTH  320
#define MXC_POLICY_DISPLAY_MAX_WIDTH  7680
#define MXC_POLICY_DISPLAY_MIN_HEIGHT 200
#define MXC_POLICY_DISPLAY_MAX_HEIGHT 4320
#define MXC_POLICY_DEFAULT_WIDTH      1280
#define MXC_POLICY_DEFAULT_HEIGHT     800
#define MXC_POLICY_DEFAULT_DEPTH      24

/* Resource limits (session.limits): bounds and the defaults applied when omitted. */
#define MXC_POLICY_MIN_MEMORY_BYTES	(16ull << 20)
#define MXC_POLICY_MAX_MEMORY_BYTES	(1ull << 53)
#define MXC_POLICY_DEFAULT_MEMORY_BYTES 0ull /* 0 = no memory limit */
#define MXC_POLICY_MAX_TASKS		4194304ull
#define MXC_POLICY_DEFAULT_TASKS	1024ull
#define MXC_POLICY_MIN_TMP_BYTES	(1ull << 20)
#define MXC_POLICY_MAX_TMP_BYTES	(1ull << 53)
#define MXC_POLICY_DEFAULT_TMP_BYTES	(512ull << 20)

/* Transfer rules (session.clipboard / session.handoff). */
#define MXC_POLICY_CLIPBOARD_MAX_BYTES	   (64ull << 20)
#define MXC_POLICY_HANDOFF_MAX_BYTES	   (16ull << 30)
#define MXC_POLICY_CLIPBOARD_DEFAULT_BYTES (10ull << 20)  /* implicit rule; omitted maxBytes */
#define MXC_POLICY_HANDOFF_DEFAULT_BYTES   (100ull << 20) /* omitted maxBytes */

/*
 * A direction across the agent/human boundary. The values are bits, so that a clipboard
 * mode (below) can be tested with `mode & direction`.
 */
enum mxc_policy_direction {
	MXC_POLICY_AGENT_TO_HUMAN = 1 << 0,
	MXC_POLICY_HUMAN_TO_AGENT = 1 << 1,
};

/* ui.clipboard: which directions the clipboard may carry at all. */
enum mxc_policy_clipboard_mode {
	MXC_POLICY_CLIPBOARD_NONE = 0,
	MXC_POLICY_CLIPBOARD_WRITE = MXC_POLICY_AGENT_TO_HUMAN, /* the agent may copy out */
	MXC_POLICY_CLIPBOARD_READ = MXC_POLICY_HUMAN_TO_AGENT,	/* the human may paste in */
	MXC_POLICY_CLIPBOARD_ALL = MXC_POLICY_AGENT_TO_HUMAN | MXC_POLICY_HUMAN_TO_AGENT,
};

enum mxc_policy_action {
	MXC_POLICY_DENY = 0,
	MXC_POLICY_ASK,
	MXC_POLICY_ALLOW,
};

enum mxc_policy_display_backend {
	MXC_POLICY_DISPLAY_XVFB = 0,
	MXC_POLICY_DISPLAY_WLROOTS,
};

enum mxc_policy_protocol {
	MXC_POLICY_PROTO_ANY = 0,
	MXC_POLICY_PROTO_TCP,
	MXC_POLICY_PROTO_UDP,
	MXC_POLICY_PROTO_ICMP,
};

struct mxc_policy_ui {
	bool allow_windows;			  /* false: no display at all */
	enum mxc_policy_clipboard_mode clipboard; /* directions the clipboard may carry */
	bool allow_input_injection;		  /* synthesized keys/pointer into the display */
};

/* Absolute, normalized paths, sorted (strcmp); never NULL, possibly empty. */
struct mxc_policy_fs {
	char **readwrite;
	char **readonly;
	char **denied;
};

/* An IPv4 or IPv6 network; host bits are always clear. */
struct mxc_policy_cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes, the rest are 0 */
	uint8_t prefix;	  /* 0..32 or 0..128 */
};

/* A destination: cidr minus every except (each strictly inside cidr). */
struct mxc_policy_peer {
	struct mxc_policy_cidr cidr;
	struct mxc_policy_cidr *except;
	size_t n_except;
};

struct mxc_policy_port {
	enum mxc_policy_protocol protocol;
	uint16_t port;	   /* 0: every port (always 0 for icmp) */
	uint16_t end_port; /* inclusive; == port for a single port, 0 when port is 0 */
};

struct mxc_policy_net_rule {
	struct mxc_policy_peer *to; /* n_to == 0: every destination, both families */
	size_t n_to;
	struct mxc_policy_port *ports; /* n_ports == 0: every protocol and port */
	size_t n_ports;
};

struct mxc_policy_network {
	/* Outbound: a packet matching any deny rule is dropped; else one matching an allow rule
	 * passes; else egress_default decides. */
	enum mxc_policy_action egress_default; /* MXC_POLICY_DENY or MXC_POLICY_ALLOW */
	struct mxc_policy_net_rule *allow;
	size_t n_allow;
	struct mxc_policy_net_rule *deny;
	size_t n_deny;
	/* Inbound connections from the LAN, and to/from the host's loopback. */
	enum mxc_policy_action ingress_default; /* DENY or ALLOW */
	enum mxc_policy_action host_loopback;	/* DENY or ALLOW */
};

struct mxc_policy_display {
	enum mxc_policy_display_backend backend;
	uint32_t width, height, depth; /* depth is 16 or 24 */
};

/* Effective limits: omitted values hold the MXC_POLICY_DEFAULT_* constants. */
struct mxc_policy_limits {
	uint64_t memory_bytes; /* 0 = no limit */
	uint64_t tasks;
	uint64_t tmp_bytes;
};

/*
 * A clipboard or handoff rule. For a transfer in `direction` whose MIME type matches one of
 * `mime`, the first such rule decides: a transfer larger than max_bytes is denied, one whose
 * text matches a deny pattern is denied, otherwise `action` applies. No matching rule: deny.
 */
struct mxc_policy_transfer_rule {
	enum mxc_policy_direction direction;
	char **mime; /* lowercase "type/subtype", a wildcard subtype or both; sorted */
	uint64_t max_bytes;
	enum mxc_policy_action action;
	char **deny_patterns; /* POSIX EREs, clipboard agent-to-human only; never NULL */
	bool implicit;	      /* added by the parser (ui.clipboard without a rule) */
};

struct mxc_policy_inspect {
	char **principals; /* inspectors besides the session owner and admins; never NULL */
	bool view;	   /* live view of the screen */
	bool shell;	   /* a shell in the session */
	bool control;	   /* input into the session's display */
};

/* MXC's "process": what a one-shot run (`mxc run CONFIG.json`) executes. */
struct mxc_policy_process {
	char *command_line;  /* NULL if omitted; run by the shell */
	char *cwd;	     /* absolute, normalized; NULL if omitted */
	char **env;	     /* "KEY=VALUE"; NULL if omitted (backend default), else verbatim */
	uint64_t timeout_ms; /* process.timeout; 0 = none */
};

struct mxc_policy {
	char *version;	     /* as written: "mxc/1" or the MXC version */
	uint64_t timeout_ms; /* effective: min(timeoutMs, process.timeout) of those set; 0 = none */
	struct mxc_policy_ui ui;
	struct mxc_policy_fs fs;
	struct mxc_policy_network network;
	struct mxc_policy_display display; /* defaults filled in; unused without ui.allow_windows */
	struct mxc_policy_limits limits;
	struct mxc_policy_transfer_rule *clipboard; /* explicit rules, then implicit ones */
	size_t n_clipboard;
	struct mxc_policy_transfer_rule *handoff; /* n_handoff == 0: no handoff */
	size_t n_handoff;
	struct mxc_policy_inspect inspect;
	char **users;			    /* who may start sessions with it; never NULL */
	struct mxc_policy_process *process; /* NULL unless the policy has one */
	char **warnings; /* NULL-terminated: fields that were accepted but ignored */
};

/*
 * Parses and validates text[0..len). On success *ret is the effective policy (free with
 * mxc_policy_free). Errors: -EFBIG (larger than MXC_POLICY_MAX_BYTES), -EINVAL (invalid
 * JSON or an invalid value), -EOPNOTSUPP (valid MXC that mxc cannot honour), -ENOMEM;
 * err->msg names the JSON path and the reason.
 */
int mxc_policy_parse(const char *text, size_t len, struct mxc_policy **ret, struct mxc_error *err);
/* Reads a policy file (at most MXC_POLICY_MAX_BYTES) and parses it. */
int mxc_policy_load_file(const char *path, struct mxc_policy **ret, struct mxc_error *err);
void mxc_policy_free(struct mxc_policy *p); /* accepts NULL */

/*
 * The effective, normalized policy as JSON: version "mxc/1", every default explicit (null
 * means "no limit" for timeoutMs and memoryBytes), lists sorted where order has no meaning.
 * Parses back to an equal policy. NULL on allocation failure. The caller puts the object.
 */
struct json_object *mxc_policy_to_json(const struct mxc_policy *p);
/* sha256 (lowercase hex) of the compact serialisation of mxc_policy_to_json(p). */
int mxc_policy_digest(const struct mxc_policy *p, char hex[static 65]);
/* Whether a and b have the same effective meaning (warnings, version spelling and the
 * `implicit` flags are not compared). */
bool mxc_policy_equal(const struct mxc_policy *a, const struct mxc_policy *b);

/*
 * The built-in policy for agents without one: a display (xvfb 1280x800x24) with input
 * injection, no clipboard, no network, no extra paths, no users (admins only). Same
 * meaning as policies/default.json.
 */
const char *mxc_policy_default_text(void);

/*
 * Whether user (a user name) or one of groups (the user's group names, NULL-terminated,
 * may be NULL) is named in principals ("alice", "group:devs"). False for NULL principals.
 */
bool mxc_policy_principal_match(char *const *principals, const char *user, char *const *groups);
/* Whether s is a valid principal ("name" or "group:name"). */
bool mxc_policy_principal_valid(const char *s);

/*
 * The first rule of rules[0..n) for direction whose MIME list matches mime (exactly, by a
 * wildcard subtype or by the all-types wildcard; case-insensitive; parameters after ';' are
 * ignored), or NULL: no rule, deny.
 */
const struct mxc_policy_transfer_rule *
mxc_policy_transfer_match(const struct mxc_policy_transfer_rule *rules, size_t n,
			  enum mxc_policy_direction direction, const char *mime);
/*
 * Compiles a deny pattern exactly as the validator did: POSIX extended syntax with byte
 * semantics (the C locale, whatever the caller's), after the same complexity checks, into a
 * form that mxc_policy_pattern_search() finds anywhere in a text in one pass. The caller
 * regfree()s *ret on success.
 */
int mxc_policy_compile_pattern(const char *pattern, regex_t *ret, struct mxc_error *err);
/*
 * Whether re (from mxc_policy_compile_pattern) matches anywhere in text[0..len), which may
 * contain NUL bytes (no match spans one) and need not be NUL-terminated. Returns 1 for a
 * match, 0 for none, a negative errno on failure -- which a caller must treat as a match
 * (deny). Works on a private copy of the text (len + 1 bytes).
 *
 * Time is linear in len for ordinary patterns, but glibc caches automaton states in re as it
 * goes (across calls, until regfree), and a hostile text against some patterns (a counted
 * repetition after an ambiguous prefix, "a[ab]{20}c") makes both time and memory grow steeply.
 * With text from an agent, call this in a child process with CPU-time and address-space
 * limits, and treat its failure as a match. -EFBIG for a text over 2 GiB.
 */
int mxc_policy_pattern_search(const regex_t *re, const char *text, size_t len);

/* Names as they appear in JSON ("allow", "agent-to-human", "tcp", "xvfb", "all", ...). */
const char *mxc_policy_action_to_string(enum mxc_policy_action a);
const char *mxc_policy_direction_to_string(enum mxc_policy_direction d);
const char *mxc_policy_clipboard_mode_to_string(enum mxc_policy_clipboard_mode m);
const char *mxc_policy_protocol_to_string(enum mxc_policy_protocol p);
const char *mxc_policy_display_backend_to_string(enum mxc_policy_display_backend b);
/* "192.0.2.0/24", "2001:db8::/32"; buf of at least MXC_POLICY_CIDR_STRLEN bytes. */
#define MXC_POLICY_CIDR_STRLEN 64
const char *mxc_policy_cidr_to_string(const struct mxc_policy_cidr *c, char *buf, size_t size);

#endif
