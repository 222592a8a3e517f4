/* Levelled logging to stderr or syslog. Only a program's top level logs. */
#ifndef MXC_COMMON_LOG_H
#define MXC_COMMON_LOG_H

#include <syslog.h>

#include "util.h"

enum mxc_log_target {
	MXC_LOG_STDERR,
	MXC_LOG_SYSLOG,
};

void mxc_log_setup(const char *ident, enum mxc_log_target target, int max_level);
/* "err", "warning", "notice", "info", "debug" -> LOG_*; -EINVAL otherwise. */
int mxc_log_level_from_string(const char *s);
void mxc_logf(int level, const char *fmt, ...) MXC_PRINTF(2, 3);

#define log_error(...) mxc_logf(LOG_ERR, __VA_ARGS__)
#define log_warning(...) mxc_logf(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) mxc_logf(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) mxc_logf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) mxc_logf(LOG_DEBUG, __VA_ARGS__)

#endif
