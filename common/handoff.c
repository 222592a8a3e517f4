/*
 * Handed-off documents: the rules for their names, their MIME types, and the writer. Names,
 * contents and the directory written into (the agent's ~/Inbox) all come from the other side
 * of the boundary and are hostile.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "digest.h"
#include "handoff.h"

/* Bytes of a name quoted in a message; each takes up to 4 bytes escaped, then "...". */
#define QUOTE_MAX  64
#define QUOTE_SIZE (QUOTE_MAX * 4 + 4)
/* Highest number tried in "stem (N).ext" before giving up. */
#define MAX_COPIES 1000
/* Bytes copied per read. */
#define COPY_CHUNK (128u * 1024u)
/* Random characters in the hidden temporary name, and tries before giving up. */
#define TMP_RANDOM 6
#define TMP_TRIES  100
/* Where a PDF's header may start, as PDF readers accept junk before it. */
#define PDF_HEADER_WITHIN 1024

static const char octet_stream[] = "application/octet-stream";

static bool tmpfile_enabled = true;

/*
 * Writes s for a message, between quotes the caller supplies: printable ASCII as is, every
 * other byte (and the quote and backslash) as \xNN, so that a hostile name can neither break
 * the message nor show a control or bidirectional character to whoever reads it. Longer
 * names are cut after QUOTE_MAX bytes and end in "...".
 */
static void quote(const char *s, char out[static QUOTE_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		uint8_t b = (uint8_t)s[i];
		if (b >= 0x20 && b < 0x7f && b != '\'' && b != '\\') {
			out[o++] = (char)b;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[b >> 4];
		out[o++] = hex[b & 15];
	}
	if (s[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Why a name may not contain the code point cp, or NULL if it may. */
static const char *refused_char(uint32_t cp)
{
	if (cp == '/')
		return "it contains '/'";
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return "it contains a control character";
	if (cp == 0x2028 || cp == 0x2029)
		return "it contains a line or paragraph separator";
	/* Marks, embeddings, overrides and isolates can all make a name display reordered. */
	if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return "it contains a bidirectional formatting character";
	return NULL;
}

int mxc_handoff_name_check(const char *name, struct mxc_error *err)
{
	char q[QUOTE_SIZE];
	const char *why = NULL;
	size_t len, n;
	uint32_t cp = 0;

	if (!name)
		return mxc_error_set(err, -EINVAL, "invalid file name: none given");
	len = strnlen(name, MXC_HANDOFF_NAME_MAX + 1);
	if (len == 0)
		why = "it is empty";
	else if (len > MXC_HANDOFF_NAME_MAX)
		why = "it is longer than 255 bytes";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "it is '.' or '..'";
	else if (name[0] == '.')
		why = "it starts with '.' (hidden files are not accepted)";
	else if (name[0] == '-')
		why = "it starts with '-' (it could be read as an option)";
	if (why) {
		quote(name, q);
		return mxc_error_set(err, -EINVAL, "invalid file name '%s': %s", q, why);
	}
	for (size_t i = 0; i < len; i += n) {
		n = mxc_utf8_decode((const uint8_t *)name + i, len - i, &cp);
		if (n == 0) {
			quote(name, q);
			return mxc_error_set(
			    err, -EINVAL,
			    "invalid file name '%s': it is not valid UTF-8 (byte %zu)", q, i);
		}
		why = refused_char(cp);
		if (why) {
			quote(name, q);
			return mxc_error_set(err, -EINVAL,
					     "invalid file name '%s': %s (U+%04X at byte %zu)", q,
					     why, (unsigned)cp, i);
		}
	}
	return 0;
}

/*
 * Appends the clean form of s[0..n) to out, which holds *len bytes and has room for cap: each
 * allowed character as is, each refused character and each byte that is not valid UTF-8 as
 * '_'. Stops before the first character that does not fit, so out never ends inside a
 * character. Returns whether all of s fit.
 */
static bool clean_span(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp = 0;
		size_t k = mxc_utf8_decode((const uint8_t *)s + i, n - i, &cp);
		const char *src = s + i;
		size_t w = k;

		if (k == 0 || refused_char(cp)) {
			src = "_";
			w = 1;
			k = k ? k : 1;
		}
		if (cap - *len < w)
			return false;
		memcpy(out + *len, src, w);
		*len += w;
		i += k;
	}
	return true;
}

int mxc_handoff_name_sanitize(const char *in, char *out, size_t out_size)
{
	char buf[MXC_HANDOFF_NAME_MAX + 1];
	const char *c;
	size_t n, len = 0;

	if (!in)
		in = "";
	n = strlen(in);
	while (n > 0 && in[n - 1] == '/')
		n--;
	c = memrchr(in, '/', n);
	c = c ? c + 1 : in;
	n -= (size_t)(c - in);

	if (!clean_span(c, n, buf, MXC_HANDOFF_NAME_MAX, &len)) {
		/*
		 * Too long: shorten the stem and keep a short extension, so the name still says
		 * what kind of file it is. '.' never occurs inside a multibyte character, so the
		 * last '.' byte is a character of its own and both halves clean as the whole does.
		 */
		char ext[MXC_HANDOFF_EXT_MAX + 1];
		size_t ext_len = 0;
		const char *dot = n > 1 ? memrchr(c + 1, '.', n - 1) : NULL;

		len = 0;
		if (dot && clean_span(dot, n - (size_t)(dot - c), ext, sizeof(ext), &ext_len)) {
			clean_span(c, (size_t)(dot - c), buf, MXC_HANDOFF_NAME_MAX - ext_len, &len);
			memcpy(buf + len, ext, ext_len);
			len += ext_len;
		} else {
			clean_span(c, n, buf, MXC_HANDOFF_NAME_MAX, &len);
		}
	}
	if (len == 0) {
		memcpy(buf, "file", 4);
		len = 4;
	}
	if (buf[0] == '.' || buf[0] == '-')
		buf[0] = '_';
	buf[len] = '\0';
	if (out_size < len + 1)
		return -ENOSPC;
	memcpy(out, buf, len + 1);
	return 0;
}

static const struct {
	const char *ext;
	const char *mime;
} mime_table[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"avi", "video/x-msvideo"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"c", "text/plain"},
    {"cc", "text/plain"},
    {"cfg", "text/plain"},
    {"conf", "text/plain"},
    {"cpp", "text/plain"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"diff", "text/x-diff"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"go", "text/plain"},
    {"gz", "application/gzip"},
    {"h", "text/plain"},
    {"hpp", "text/plain"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ics", "text/calendar"},
    {"ini", "text/plain"},
    {"java", "text/plain"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"log", "text/plain"},
    {"m4a", "audio/mp4"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"odg", "application/vnd.oasis.opendocument.graphics"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"patch", "text/x-patch"},
    {"pdf", "application/pdf"},
    {"pl", "text/plain"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"py", "text/plain"},
    {"rb", "text/plain"},
    {"rs", "text/plain"},
    {"rst", "text/plain"},
    {"rtf", "application/rtf"},
    {"sh", "text/plain"},
    {"sql", "text/plain"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tex", "text/plain"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "text/plain"},
    {"ts", "text/plain"},
    {"tsv", "text/tab-separated-values"},
    {"txt", "text/plain"},
    {"vcf", "text/vcard"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "text/plain"},
    {"yml", "text/plain"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

const char *mxc_handoff_mime_of_name(const char *name)
{
	const char *dot;

	if (!name)
		return octet_stream;
	dot = strrchr(name, '.');
	/* A leading '.' starts a hidden name, not an extension. */
	if (!dot || dot == name || dot[-1] == '/' || strchr(dot, '/') ||
	    strnlen(dot + 1, MXC_HANDOFF_EXT_MAX + 1) > MXC_HANDOFF_EXT_MAX)
		return octet_stream;
	for (size_t i = 0; i < MXC_ARRAY_SIZE(mime_table); i++)
		if (strcasecmp(dot + 1, mime_table[i].ext) == 0)
			return mime_table[i].mime;
	return octet_stream;
}

enum signature {
	SIG_PNG,
	SIG_JPEG,
	SIG_GIF,
	SIG_WEBP,
	SIG_PDF,
	SIG_ZIP,
	SIG_GZIP,
	SIG_XZ,
	SIG_BZIP2,
	SIG_7Z,
};

static const struct {
	const char *mime;
	enum signature sig;
	const char *why; /* what is wrong with content that fails */
} signed_types[] = {
    {"image/png", SIG_PNG, "it does not start with the PNG signature"},
    {"image/jpeg", SIG_JPEG, "it does not start with a JPEG start-of-image marker"},
    {"image/gif", SIG_GIF, "it does not start with a GIF87a or GIF89a header"},
    {"image/webp", SIG_WEBP, "it does not start with a RIFF WEBP header"},
    {"application/pdf", SIG_PDF, "it has no %PDF- header in its first 1024 bytes"},
    {"application/zip", SIG_ZIP, "it does not start with a ZIP header"},
    {"application/epub+zip", SIG_ZIP, "it does not start with a ZIP header"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", SIG_ZIP,
     "it does not start with a ZIP header"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", SIG_ZIP,
     "it does not start with a ZIP header"},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", SIG_ZIP,
     "it does not start with a ZIP header"},
    {"application/vnd.oasis.opendocument.text", SIG_ZIP, "it does not start with a ZIP header"},
    {"application/vnd.oasis.opendocument.spreadsheet", SIG_ZIP,
     "it does not start with a ZIP header"},
    {"application/vnd.oasis.opendocument.presentation", SIG_ZIP,
     "it does not start with a ZIP header"},
    {"application/vnd.oasis.opendocument.graphics", SIG_ZIP, "it does not start with a ZIP header"},
    {"application/gzip", SIG_GZIP, "it does not start with the gzip magic number"},
    {"application/x-xz", SIG_XZ, "it does not start with the xz magic number"},
    {"application/x-bzip2", SIG_BZIP2, "it does not start with the bzip2 magic number"},
    {"application/x-7z-compressed", SIG_7Z, "it does not start with the 7-Zip signature"},
};

/* Whether head[0..len) holds the n bytes of magic at offset off. */
static bool has(const uint8_t *head, size_t len, size_t off, const char *magic, size_t n)
{
	return len >= off + n && memcmp(head + off, magic, n) == 0;
}

static bool signature_matches(enum signature sig, const uint8_t *h, size_t len)
{
	switch (sig) {
	case SIG_PNG:
		return has(h, len, 0, "\x89PNG\r\n\x1a\n", 8);
	case SIG_JPEG:
		return has(h, len, 0, "\xff\xd8\xff", 3);
	case SIG_GIF:
		return has(h, len, 0, "GIF87a", 6) || has(h, len, 0, "GIF89a", 6);
	case SIG_WEBP:
		return has(h, len, 0, "RIFF", 4) && has(h, len, 8, "WEBP", 4);
	case SIG_PDF:
		return memmem(h, len < PDF_HEADER_WITHIN ? len : PDF_HEADER_WITHIN, "%PDF-", 5) !=
		       NULL;
	case SIG_ZIP:
		/* A local file header, or the end record of an empty or a spanned archive. */
		return has(h, len, 0, "PK\x03\x04", 4) || has(h, len, 0, "PK\x05\x06", 4) ||
		       has(h, len, 0, "PK\x07\x08", 4);
	case SIG_GZIP:
		return has(h, len, 0, "\x1f\x8b", 2);
	case SIG_XZ:
		return has(h, len, 0, "\xfd\x37\x7a\x58\x5a\x00", 6);
	case SIG_BZIP2:
		return has(h, len, 0, "BZh", 3);
	case SIG_7Z:
		return has(h, len, 0, "7z\xbc\xaf\x27\x1c", 6);
	}
	return false;
}

int mxc_handoff_check_content(const char *name, const char *mime, const uint8_t *head, size_t len,
			      struct mxc_error *err)
{
	char q[QUOTE_SIZE], what[QUOTE_SIZE + 32];

	if (!mime)
		return mxc_error_set(err, -EINVAL, "no MIME type given");
	if (len > 0 && !head)
		return mxc_error_set(err, -EINVAL, "no content given");
	if (name) {
		quote(name, q);
		snprintf(what, sizeof(what), "the content of '%s'", q);
	} else {
		snprintf(what, sizeof(what), "the content");
	}
	if (strncasecmp(mime, "text/", 5) == 0) {
		if (len > 0 && memchr(head, '\0', len)) {
			quote(mime, q);
			return mxc_error_set(
			    err, -EMEDIUMTYPE,
			    "%s is not %s: it contains NUL bytes, which text does not", what, q);
		}
		return 0;
	}
	for (size_t i = 0; i < MXC_ARRAY_SIZE(signed_types); i++) {
		if (strcasecmp(mime, signed_types[i].mime) != 0)
			continue;
		if (signature_matches(signed_types[i].sig, head, len))
			return 0;
		return mxc_error_set(err, -EMEDIUMTYPE, "%s is not %s: %s", what,
				     signed_types[i].mime, signed_types[i].why);
	}
	return 0;
}

/* Whether s is exactly 64 hex digits. */
static bool sha256_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; i < MXC_SHA256_HEX_LEN; i++) {
		char ch = s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return s[i] == '\0';
}

/*
 * The n-th name tried for name: name itself for 0, else "stem (n).ext" with an extension of at
 * most MXC_HANDOFF_EXT_MAX bytes kept (a longer one is part of the stem), the stem shortened
 * at a character boundary so that the whole fits MXC_HANDOFF_NAME_MAX. name passed
 * mxc_handoff_name_check, so the result does too.
 */
static void numbered_name(const char *name, unsigned n, char out[static MXC_HANDOFF_NAME_MAX + 1])
{
	size_t len = strlen(name), stem = len, keep;
	const char *dot = len > 1 ? memrchr(name + 1, '.', len - 1) : NULL;
	char suffix[16];
	int suffix_len;

	if (n == 0) {
		memcpy(out, name, len + 1);
		return;
	}
	if (dot && len - (size_t)(dot - name) - 1 <= MXC_HANDOFF_EXT_MAX)
		stem = (size_t)(dot - name);
	suffix_len = snprintf(suffix, sizeof(suffix), " (%u)", n);
	keep = stem;
	if (len + (size_t)suffix_len > MXC_HANDOFF_NAME_MAX)
		keep = MXC_HANDOFF_NAME_MAX - (size_t)suffix_len - (len - stem);
	while (keep > 0 && ((uint8_t)name[keep] & 0xc0) == 0x80)
		keep--;
	snprintf(out, MXC_HANDOFF_NAME_MAX + 1, "%.*s%s%s", (int)keep, name, suffix, name + stem);
}

/* The file being written: unnamed (name empty) or under a hidden temporary name. */
struct tmp_file {
	int fd;
	char name[32];
};

/* Creates the file to write, unnamed if the file system can, else under a hidden name. */
static int tmp_open(int dirfd, struct tmp_file *t, struct mxc_error *err)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	if (tmpfile_enabled) {
		t->fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (t->fd >= 0) {
			t->name[0] = '\0';
			return 0;
		}
		/* EISDIR is what a kernel that predates O_TMPFILE says. */
		if (errno != EOPNOTSUPP && errno != EISDIR)
			return mxc_error_errno(err, -errno,
					       "failed to create a file in the directory");
	}
	for (int i = 0; i < TMP_TRIES; i++) {
		uint8_t rnd[TMP_RANDOM];
		ssize_t got;
		size_t o;

		do
			got = getrandom(rnd, sizeof(rnd), 0);
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)sizeof(rnd))
			return mxc_error_errno(err, got < 0 ? -errno : -EIO,
					       "failed to get random bytes for a temporary name");
		o = (size_t)snprintf(t->name, sizeof(t->name), ".mxc-handoff-");
		for (size_t k = 0; k < sizeof(rnd); k++)
			t->name[o++] = chars[rnd[k] % (sizeof(chars) - 1)];
		t->name[o] = '\0';
		/* O_EXCL fails on any existing entry, a symbolic link included. */
		t->fd = openat(dirfd, t->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (t->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return mxc_error_errno(
			    err, -errno, "failed to create a temporary file in the directory");
	}
	return mxc_error_set(err, -EEXIST, "failed to find a free temporary name in the directory");
}

/*
 * Gives the complete file t the first free name out of name, "stem (1).ext", ... Linking and
 * renaming never replace an entry nor follow a link at the new name, so whatever the
 * directory's owner put there stays and we try the next name. On success t no longer has a
 * temporary name.
 */
static int tmp_link(int dirfd, struct tmp_file *t, const char *name,
		    char out[static MXC_HANDOFF_NAME_MAX + 1], struct mxc_error *err)
{
	char proc[64], q[QUOTE_SIZE];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	for (unsigned n = 0; n <= MAX_COPIES; n++) {
		int r;

		numbered_name(name, n, out);
		if (t->name[0]) {
			r = renameat2(dirfd, t->name, dirfd, out, RENAME_NOREPLACE);
			if (r < 0 && errno == EINVAL) {
				/* No RENAME_NOREPLACE (NFS): a link never replaces either. */
				r = linkat(dirfd, t->name, dirfd, out, 0);
				/* A leftover second name would still be the complete file. */
				if (r == 0)
					unlinkat(dirfd, t->name, 0);
			}
			if (r == 0)
				t->name[0] = '\0';
		} else {
			/*
			 * Linking an unnamed file by its descriptor (AT_EMPTY_PATH) needs
			 * CAP_DAC_READ_SEARCH; through its /proc link it does not. Without
			 * /proc, try the descriptor anyway.
			 */
			r = linkat(AT_FDCWD, proc, dirfd, out, AT_SYMLINK_FOLLOW);
			if (r < 0 && errno == ENOENT)
				r = linkat(t->fd, "", dirfd, out, AT_EMPTY_PATH);
		}
		if (r == 0)
			return 0;
		if (errno != EEXIST) {
			quote(out, q);
			return mxc_error_errno(err, -errno, "failed to name the file '%s'", q);
		}
	}
	quote(name, q);
	return mxc_error_set(err, -EEXIST, "no free name for '%s': up to %d copies exist", q,
			     MAX_COPIES);
}

/* Copies size bytes of srcfd, from offset 0, to dstfd, and checks them against sha256_hex. */
static int copy_hashed(int srcfd, int dstfd, uint64_t size, const char *sha256_hex, const char *q,
		       struct mxc_error *err)
{
	struct mxc_sha256 sha;
	char hex[MXC_SHA256_HEX_LEN + 1];
	uint64_t done = 0;
	uint8_t *buf;
	int r;

	buf = malloc(COPY_CHUNK);
	if (!buf)
		return mxc_error_errno(err, -ENOMEM, "failed to copy '%s'", q);
	r = mxc_sha256_init(&sha);
	if (r < 0) {
		mxc_error_errno(err, r, "failed to hash '%s'", q);
		goto out_free;
	}
	while (done < size) {
		size_t want = size - done < COPY_CHUNK ? (size_t)(size - done) : COPY_CHUNK;
		ssize_t n = pread(srcfd, buf, want, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = mxc_error_errno(err, -errno, "failed to read '%s'", q);
			goto out_hash;
		}
		if (n == 0) {
			r = mxc_error_set(err, -EIO,
					  "'%s' is truncated: it ended after %" PRIu64
					  " of %" PRIu64 " bytes",
					  q, done, size);
			goto out_hash;
		}
		mxc_sha256_update(&sha, buf, (size_t)n);
		r = mxc_write_all(dstfd, buf, (size_t)n);
		if (r < 0) {
			mxc_error_errno(err, r, "failed to write '%s'", q);
			goto out_hash;
		}
		done += (uint64_t)n;
	}
	mxc_sha256_final_hex(&sha, hex);
	if (sha256_hex && strcasecmp(hex, sha256_hex) != 0)
		r = mxc_error_set(err, -EBADMSG,
				  "the content of '%s' does not match its SHA-256 digest "
				  "(expected %s, got %s)",
				  q, sha256_hex, hex);
	goto out_free;
out_hash:
	mxc_sha256_finish(&sha);
out_free:
	free(buf);
	return r;
}

int mxc_handoff_write(int dirfd, const char *name, int srcfd, uint64_t size, const char *sha256_hex,
		      const char *origin, char *ret_name, size_t ret_name_size,
		      struct mxc_error *err)
{
	struct tmp_file t = {.fd = -1};
	char final[MXC_HANDOFF_NAME_MAX + 1], q[QUOTE_SIZE];
	int r, unsupported = 0;

	r = mxc_handoff_name_check(name, err);
	if (r < 0)
		return r;
	quote(name, q);
	if (ret_name && ret_name_size <= MXC_HANDOFF_NAME_MAX)
		return mxc_error_set(err, -ENOSPC, "no room for the final name of '%s'", q);
	if (sha256_hex && !sha256_hex_valid(sha256_hex))
		return mxc_error_set(err, -EINVAL, "invalid SHA-256 digest for '%s'", q);
	if (origin && strnlen(origin, MXC_HANDOFF_ORIGIN_MAX + 1) > MXC_HANDOFF_ORIGIN_MAX)
		return mxc_error_set(err, -EINVAL, "the origin of '%s' is longer than %d bytes", q,
				     MXC_HANDOFF_ORIGIN_MAX);
	if (size > INT64_MAX)
		return mxc_error_set(err, -EFBIG, "'%s' is too large: %" PRIu64 " bytes", q, size);

	r = tmp_open(dirfd, &t, err);
	if (r < 0) {
		mxc_error_prefix(err, "failed to write '%s'", q);
		return r;
	}
	/* The umask would only ever narrow 0600; a umask of 0777 would leave the owner out. */
	if (fchmod(t.fd, 0600) < 0) {
		r = mxc_error_errno(err, -errno, "failed to set the mode of '%s'", q);
		goto fail;
	}
	r = copy_hashed(srcfd, t.fd, size, sha256_hex, q, err);
	if (r < 0)
		goto fail;
	if (origin && fsetxattr(t.fd, MXC_HANDOFF_ORIGIN_XATTR, origin, strlen(origin), 0) < 0) {
		if (errno != ENOTSUP) {
			r = mxc_error_errno(err, -errno, "failed to record the origin of '%s'", q);
			goto fail;
		}
		unsupported = 1;
	}
	if (fsync(t.fd) < 0) {
		r = mxc_error_errno(err, -errno, "failed to write '%s'", q);
		goto fail;
	}
	r = tmp_link(dirfd, &t, name, final, err);
	if (r < 0)
		goto fail;
	/*
	 * The file is complete and named; a failed sync of the directory only risks the name
	 * after a crash, and reporting it as a failure would leave a file behind an error.
	 */
	(void)fsync(dirfd);
	close(t.fd);
	if (ret_name)
		memcpy(ret_name, final, strlen(final) + 1);
	return unsupported;

fail:
	if (t.name[0])
		unlinkat(dirfd, t.name, 0);
	mxc_close(t.fd);
	return r;
}

/* openat2() beneath dirfd through no symbolic or magic link. */
static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int open_dir_error(struct mxc_error *err, int code, const char *q)
{
	if (code == -ELOOP)
		return mxc_error_set(err, code,
				     "refusing to open '%s': a symbolic link is on the path", q);
	if (code == -EXDEV)
		return mxc_error_set(err, code, "refusing to open '%s': it leads out of its base",
				     q);
	if (code == -ENOSYS)
		return mxc_error_set(
		    err, code, "failed to open '%s': the kernel has no openat2 (Linux 5.6)", q);
	return mxc_error_errno(err, code, "failed to open '%s'", q);
}

int mxc_handoff_open_dir(int basefd, const char *path, bool create, int *ret_fd,
			 struct mxc_error *err)
{
	char buf[PATH_MAX], q[QUOTE_SIZE];
	const char *parent = ".", *leaf;
	bool created = false;
	int parentfd, fd, r;
	size_t len;

	if (!path)
		return mxc_error_set(err, -EINVAL, "no directory given");
	quote(path, q);
	len = strnlen(path, sizeof(buf));
	if (len == 0 || len >= sizeof(buf))
		return mxc_error_set(err, -EINVAL, "invalid directory path '%s'", q);
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	/*
	 * The last component is opened (and made) relative to its parent, itself opened safely,
	 * so that mkdirat never resolves a path the directory's owner could redirect.
	 */
	char *slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		parent = slash == buf ? "/" : buf;
		leaf = slash + 1;
	} else {
		leaf = buf;
	}

	parentfd = open_beneath(basefd, parent, O_PATH | O_DIRECTORY);
	if (parentfd < 0)
		return open_dir_error(err, parentfd, q);
	if (create) {
		if (mkdirat(parentfd, leaf, 0700) == 0) {
			created = true;
		} else if (errno != EEXIST) {
			r = mxc_error_errno(err, -errno, "failed to create '%s'", q);
			goto out;
		}
	}
	/*
	 * Before opening it: a umask that took the owner's read or search bit would make the
	 * open fail for anyone but root. Without following a link the directory's owner may
	 * have put there since (ENOTSUP, which the open below turns into -ELOOP); the fchmod
	 * after the open covers a C library that cannot do this without /proc.
	 */
	if (created && fchmodat(parentfd, leaf, 0700, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != ENOTSUP) {
		r = mxc_error_errno(err, -errno, "failed to set the mode of '%s'", q);
		goto out;
	}
	fd = open_beneath(parentfd, leaf, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		r = open_dir_error(err, fd, q);
		goto out;
	}
	if (created && fchmod(fd, 0700) < 0) {
		r = mxc_error_errno(err, -errno, "failed to set the mode of '%s'", q);
		close(fd);
		goto out;
	}
	*ret_fd = fd;
	r = 0;
out:
	close(parentfd);
	return r;
}

void mxc_handoff_test_set_tmpfile(bool enabled)
{
	tmpfile_enabled = enabled;
}
