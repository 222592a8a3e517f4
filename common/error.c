#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static int vset(struct mxc_error *err, int code, bool with_errno, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(-code));
	return code;
}

int mxc_error_set(struct mxc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int mxc_error_errno(struct mxc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, true, fmt, ap);
	va_end(ap);
	return code;
}

int mxc_error_prefix(struct mxc_error *err, const char *fmt, ...)
{
	if (!err)
		return 0;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

void mxc_error_clear(struct mxc_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
