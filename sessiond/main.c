/* mxc-sessiond: parses flags and runs the server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mxc-sessiond [OPTIONS]\n"
		"\n"
		"The mxc session daemon: agent accounts, isolated agent desktops, the broker and\n"
		"the audit log. Runs as root.\n"
		"\n"
		"Options:\n"
		"  --socket PATH        main socket (default %s)\n"
		"  --state-dir DIR      database and agent homes (default %s)\n"
		"  --runtime-dir DIR    runtime state of sessions (default %s)\n"
		"  --config-dir DIR     configuration, policies/AGENT.json (default %s)\n"
		"  --libexec-dir DIR    where mxc-init and mxc-session-helper are (default %s)\n"
		"  --uid-range MIN-MAX  agent uid/gid range (default %d-%d)\n"
		"  --start-timeout MS   time a session may take to start (default 30000)\n"
		"  --log-target TARGET  stderr or syslog (default stderr)\n"
		"  --log-level LEVEL    err, warning, notice, info or debug (default info)\n"
		"  -h, --help           show this help\n"
		"  --version            show the version\n",
		MXC_SOCKET_PATH, MXC_STATE_DIR, MXC_RUNTIME_DIR, MXC_CONFIGDIR, MXC_LIBEXECDIR,
		MXC_UID_MIN, MXC_UID_MAX);
}

static int parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *dash = strchr(buf, '-');
	uint64_t a, b;
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (mxc_parse_u64(buf, UINT32_MAX, &a) < 0 || mxc_parse_u64(dash + 1, UINT32_MAX, &b) < 0 ||
	    a > b)
		return -EINVAL;
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_SOCKET = 256,
		OPT_STATE,
		OPT_RUNTIME,
		OPT_CONFIG,
		OPT_LIBEXEC,
		OPT_RANGE,
		OPT_START_TIMEOUT,
		OPT_LOG_TARGET,
		OPT_LOG_LEVEL,
		OPT_VERSION,
	};
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
		{ "config-dir", required_argument, NULL, OPT_CONFIG },
		{ "libexec-dir", required_argument, NULL, OPT_LIBEXEC },
		{ "uid-range", required_argument, NULL, OPT_RANGE },
		{ "start-timeout", required_argument, NULL, OPT_START_TIMEOUT },
		{ "log-target", required_argument, NULL, OPT_LOG_TARGET },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct mxc_config cfg = {
		.socket_path = MXC_SOCKET_PATH,
		.state_dir = MXC_STATE_DIR,
		.runtime_dir = MXC_RUNTIME_DIR,
		.config_dir = MXC_CONFIGDIR,
		.libexec_dir = MXC_LIBEXECDIR,
		.id_min = MXC_UID_MIN,
		.id_max = MXC_UID_MAX,
		.start_timeout_ms = 30000,
		.stop_grace_ms = 3000,
		.helper_timeout_ms = 10000,
	};
	enum mxc_log_target target = MXC_LOG_STDERR;
	int level = LOG_INFO, c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			cfg.socket_path = optarg;
			break;
		case OPT_STATE:
			cfg.state_dir = optarg;
			break;
		case OPT_RUNTIME:
			cfg.runtime_dir = optarg;
			break;
		case OPT_CONFIG:
			cfg.config_dir = optarg;
			break;
		case OPT_LIBEXEC:
			cfg.libexec_dir = optarg;
			break;
		case OPT_RANGE:
			if (parse_range(optarg, &cfg.id_min, &cfg.id_max) < 0) {
				fprintf(stderr, "mxc-sessiond: invalid --uid-range '%s' (MIN-MAX)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_START_TIMEOUT:
			if (mxc_parse_u64(optarg, 3600000, &v) < 0 || v == 0) {
				fprintf(stderr, "mxc-sessiond: invalid --start-timeout '%s'\n", optarg);
				return 2;
			}
			cfg.start_timeout_ms = v;
			break;
		case OPT_LOG_TARGET:
			if (mxc_streq(optarg, "syslog"))
				target = MXC_LOG_SYSLOG;
			else if (!mxc_streq(optarg, "stderr")) {
				fprintf(stderr, "mxc-sessiond: invalid --log-target '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_LOG_LEVEL:
			level = mxc_log_level_from_string(optarg);
			if (level < 0) {
				fprintf(stderr, "mxc-sessiond: invalid --log-level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("mxc-sessiond %s\n", MXC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mxc-sessiond: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	for (const char **p = (const char *[]){ cfg.socket_path, cfg.state_dir, cfg.runtime_dir,
						cfg.config_dir, cfg.libexec_dir, NULL };
	     *p; p++) {
		if ((*p)[0] != '/') {
			fprintf(stderr, "mxc-sessiond: '%s' must be an absolute path\n", *p);
			return 2;
		}
	}

	mxc_log_setup("mxc-sessiond", target, level);
	signal(SIGPIPE, SIG_IGN);
	struct mxc_server srv;
	struct mxc_error err = { 0 };
	int r = mxc_server_init(&srv, &cfg, &err);
	if (r < 0) {
		log_error("%s", err.msg);
		mxc_server_finish(&srv);
		return 1;
	}
	r = mxc_server_run(&srv);
	mxc_server_finish(&srv);
	if (r < 0) {
		log_error("event loop failed: %s", strerror(-r));
		return 1;
	}
	log_notice("stopped");
	return 0;
}
