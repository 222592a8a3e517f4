/* Small macros shared by every module. */
#ifndef MXC_COMMON_UTIL_H
#define MXC_COMMON_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define MXC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MXC_UNUSED __attribute__((unused))
#define MXC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline bool mxc_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Closes fd if it is valid and returns -1, so callers can write fd = mxc_close(fd). */
static inline int mxc_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

/* Frees a NULL-terminated string vector. */
void mxc_strv_free(char **v);
/* Number of entries in a NULL-terminated string vector (0 for NULL). */
size_t mxc_strv_length(char *const *v);
/* Deep copy; NULL on allocation failure. */
char **mxc_strv_copy(char *const *v);

/* Nanoseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
uint64_t mxc_now_mono_ns(void);
uint64_t mxc_now_real_ns(void);
/* Formats a CLOCK_REALTIME nanosecond time as RFC 3339 UTC with milliseconds. */
void mxc_format_time(uint64_t real_ns, char buf[static 32]);

/* Parses an unsigned decimal without sign, spaces or trailing text; -EINVAL or -ERANGE. */
int mxc_parse_u64(const char *s, uint64_t max, uint64_t *ret);

/* Writes all of buf, retrying on EINTR and short writes. */
int mxc_write_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or end of file; returns bytes read or -errno. */
ssize_t mxc_read_full(int fd, void *buf, size_t len);

/*
 * Length (1 to 4) of the valid UTF-8 sequence that starts s[0..len), with its code point in
 * *ret_cp; 0 if the bytes there are not valid UTF-8: a stray continuation byte, an overlong
 * form, a surrogate, a code point above U+10FFFF or a sequence cut short (by len or a NUL).
 */
size_t mxc_utf8_decode(const uint8_t *s, size_t len, uint32_t *ret_cp);

#endif
