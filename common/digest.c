#include <openssl/evp.h>

#include "digest.h"

int mxc_sha256_init(struct mxc_sha256 *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -EIO;
	}
	s->ctx = ctx;
	return 0;
}

void mxc_sha256_update(struct mxc_sha256 *s, const void *data, size_t len)
{
	EVP_DigestUpdate(s->ctx, data, len);
}

void mxc_sha256_final_hex(struct mxc_sha256 *s, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	EVP_DigestFinal_ex(s->ctx, md, &len);
	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[MXC_SHA256_HEX_LEN] = '\0';
	mxc_sha256_finish(s);
}

void mxc_sha256_finish(struct mxc_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int mxc_sha256_hex(const void *data, size_t len, char hex[static MXC_SHA256_HEX_LEN + 1])
{
	struct mxc_sha256 s;
	int r = mxc_sha256_init(&s);
	if (r < 0)
		return r;
	mxc_sha256_update(&s, data, len);
	mxc_sha256_final_hex(&s, hex);
	return 0;
}
