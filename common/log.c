#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum mxc_log_target log_target = MXC_LOG_STDERR;
static int log_max = LOG_INFO;
static const char *log_ident = "mxc";

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void mxc_log_setup(const char *ident, enum mxc_log_target target, int max_level)
{
	log_ident = ident;
	log_target = target;
	log_max = max_level;
	if (target == MXC_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int mxc_log_level_from_string(const char *s)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (mxc_streq(s, level_names[i]))
			return i;
	return -EINVAL;
}

void mxc_logf(int level, const char *fmt, ...)
{
	if (level > log_max)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	if (log_target == MXC_LOG_SYSLOG) {
		vsyslog(level, fmt, ap);
	} else {
		char line[2048];
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "%s[%ld]: <%s> %s\n", log_ident, (long)getpid(),
			level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?", line);
	}
	va_end(ap);
	errno = saved;
}
