/* SHA-256 helpers (OpenSSL). */
#ifndef MXC_COMMON_DIGEST_H
#define MXC_COMMON_DIGEST_H

#include "util.h"

#define MXC_SHA256_HEX_LEN 64

struct mxc_sha256 {
	void *ctx;
};

int mxc_sha256_init(struct mxc_sha256 *s);
void mxc_sha256_update(struct mxc_sha256 *s, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL; frees the context. */
void mxc_sha256_final_hex(struct mxc_sha256 *s, char hex[static MXC_SHA256_HEX_LEN + 1]);
void mxc_sha256_finish(struct mxc_sha256 *s);
/* One-shot digest of a buffer. */
int mxc_sha256_hex(const void *data, size_t len, char hex[static MXC_SHA256_HEX_LEN + 1]);

#endif
