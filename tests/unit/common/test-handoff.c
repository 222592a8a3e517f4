/*
 * Handed-off documents (common/handoff.h): the name rules and their sanitizer, MIME types and
 * the name/content check, the writer in a directory someone else may have filled with traps,
 * and opening ~/Inbox without following links.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "handoff.h"

TestSuite(handoff, .timeout = 60);

/* A scratch directory (and a second one, "elsewhere"), removed after each test that uses it. */
static char dir_path[64], other_path[64];
static int dir_fd = -1;

static void dirs_setup(void)
{
	snprintf(dir_path, sizeof(dir_path), "/tmp/mxc-test-handoff-XXXXXX");
	snprintf(other_path, sizeof(other_path), "/tmp/mxc-test-handoff-else-XXXXXX");
	cr_assert_not_null(mkdtemp(dir_path));
	cr_assert_not_null(mkdtemp(other_path));
	dir_fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dir_fd, 0);
}

static void dirs_teardown(void)
{
	dir_fd = mxc_close(dir_fd);
	mxc_rm_rf(dir_path);
	mxc_rm_rf(other_path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in the directory at fd, one per line, as a string the caller frees. */
static char *listing(int fd)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dup_fd, 0);
	DIR *d = fdopendir(dup_fd);
	cr_assert_not_null(d);
	char *names[2048];
	size_t n = 0, total = 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cr_assert_lt(n, MXC_ARRAY_SIZE(names));
		names[n] = strdup(de->d_name);
		total += strlen(de->d_name) + 1;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	char *out = malloc(total);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		memcpy(out + o, names[i], len);
		out[o + len] = '\n';
		o += len + 1;
		free(names[i]);
	}
	out[o] = '\0';
	return out;
}

/* A source descriptor holding len bytes of data, its offset left at the end. */
static int make_src(const void *data, size_t len)
{
	int fd = memfd_create("handoff-src", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mxc_write_all(fd, data, len), 0);
	return fd;
}

static char *read_at(int fd, const char *name, size_t *ret_len)
{
	int f = openat(fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cr_assert_geq(f, 0, "cannot open '%s'", name);
	char *buf;
	cr_assert_eq(mxc_read_fd(f, 64u << 20, &buf, ret_len), 0);
	close(f);
	return buf;
}

static void create_file_at(int fd, const char *name, const char *content)
{
	int f = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert_geq(f, 0, "cannot create '%s'", name);
	cr_assert_eq(mxc_write_all(f, content, strlen(content)), 0);
	close(f);
}

/* Writes content as name into dir_fd with its true digest; returns the result and final name. */
static int write_text(const char *name, const char *content, char final[MXC_HANDOFF_NAME_MAX + 1],
		      struct mxc_error *err)
{
	char hex[MXC_SHA256_HEX_LEN + 1];
	cr_assert_eq(mxc_sha256_hex(content, strlen(content), hex), 0);
	int src = make_src(content, strlen(content));
	int r = mxc_handoff_write(dir_fd, name, src, strlen(content), hex, NULL, final,
				  MXC_HANDOFF_NAME_MAX + 1, err);
	close(src);
	return r;
}

Test(handoff, clean_names_are_accepted)
{
	char longest[MXC_HANDOFF_NAME_MAX + 1];
	memset(longest, 'n', MXC_HANDOFF_NAME_MAX);
	longest[MXC_HANDOFF_NAME_MAX] = '\0';
	const char *names[] = {
	    "report.pdf",
	    "a",
	    "R\xc3\xa9sum\xc3\xa9 2024.docx",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt",
	    "\xf0\x9f\x93\x84 notes.md",
	    "a b (1).txt",
	    "x..y",
	    "name.",
	    "back\\slash",
	    longest,
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(names); i++) {
		struct mxc_error err = {0};
		cr_expect_eq(mxc_handoff_name_check(names[i], &err), 0, "'%s' refused: %s",
			     names[i], err.msg);
	}
}

Test(handoff, every_forbidden_class_of_name_is_refused_with_the_rule)
{
	char too_long[MXC_HANDOFF_NAME_MAX + 2];
	memset(too_long, 'n', MXC_HANDOFF_NAME_MAX + 1);
	too_long[MXC_HANDOFF_NAME_MAX + 1] = '\0';
	const struct {
		const char *name;
		const char *rule;
	} cases[] = {
	    {"../x", "starts with '.'"},
	    {"a/b", "'/'"},
	    {"..", "'.' or '..'"},
	    {".", "'.' or '..'"},
	    {"", "empty"},
	    {".hidden", "starts with '.'"},
	    {"-rf", "starts with '-'"},
	    {"a\x01z", "control character"},
	    {"a\nz", "control character"},
	    {"a\x1b[31mz", "control character"},
	    {"a\x7fz", "control character"},
	    {"a\xc2\x85z", "control character"},     /* U+0085, C1 */
	    {"a\xc2\x9bz", "control character"},     /* U+009B, C1 CSI */
	    {"a\xe2\x80\xa8z", "line or paragraph"}, /* U+2028 */
	    {"a\xe2\x80\xa9z", "line or paragraph"}, /* U+2029 */
	    {"a\xe2\x80\xaez.txt", "bidirectional"}, /* U+202E, right-to-left override */
	    {"a\xe2\x80\xaaz", "bidirectional"},     /* U+202A */
	    {"a\xe2\x81\xa6z", "bidirectional"},     /* U+2066, isolate */
	    {"a\xe2\x81\xa9z", "bidirectional"},     /* U+2069 */
	    {"a\xe2\x80\x8fz", "bidirectional"},     /* U+200F, right-to-left mark */
	    {"a\xffz", "UTF-8"},		     /* never valid */
	    {"a\x80z", "UTF-8"},		     /* stray continuation */
	    {"a\xc0\xafz", "UTF-8"},		     /* overlong '/' */
	    {"a\xe0\x80\xaez", "UTF-8"},	     /* overlong '.' */
	    {"a\xed\xa0\x80z", "UTF-8"},	     /* surrogate U+D800 */
	    {"a\xf4\x90\x80\x80z", "UTF-8"},	     /* above U+10FFFF */
	    {"a\xe2\x80", "UTF-8"},		     /* cut short */
	    {too_long, "longer than 255"},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		struct mxc_error err = {0};
		cr_expect_eq(mxc_handoff_name_check(cases[i].name, &err), -EINVAL,
			     "case %zu accepted", i);
		cr_expect_not_null(strstr(err.msg, cases[i].rule), "case %zu: message '%s'", i,
				   err.msg);
	}
}

Test(handoff, refusal_message_quotes_the_name_escaped)
{
	struct mxc_error err = {0};
	cr_assert_eq(mxc_handoff_name_check("evil\xe2\x80\xaetxt.exe\n'", &err), -EINVAL);
	cr_expect_not_null(strstr(err.msg, "'evil\\xe2\\x80\\xaetxt.exe\\x0a\\x27'"), "%s",
			   err.msg);
	for (const char *p = err.msg; *p; p++)
		cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "raw byte 0x%02x in the message", (unsigned char)*p);
}

Test(handoff, sanitize_makes_clean_names_of_paths_and_traps)
{
	const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"../../etc/passwd", "passwd"},
	    {"/home/user/report.pdf", "report.pdf"},
	    {"dir/sub/", "sub"},
	    {"/", "file"},
	    {"", "file"},
	    {".bashrc", "_bashrc"},
	    {"-rf", "_rf"},
	    {"..", "_."},
	    {".", "_"},
	    {"a\x01z\x7f", "a_z_"},
	    {"a\xe2\x80\xaez.txt", "a_z.txt"},
	    {"a\xc2\x85z", "a_z"},
	    {"a\xffz", "a_z"},
	    {"a\xc0\xafz", "a__z"},
	    {"R\xc3\xa9sum\xc3\xa9.pdf", "R\xc3\xa9sum\xc3\xa9.pdf"},
	};
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		char out[MXC_HANDOFF_NAME_MAX + 1];
		cr_assert_eq(mxc_handoff_name_sanitize(cases[i].in, out, sizeof(out)), 0);
		cr_expect_str_eq(out, cases[i].out, "case %zu", i);
		cr_expect_eq(mxc_handoff_name_check(out, NULL), 0, "case %zu", i);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

Test(handoff, sanitize_output_of_random_bytes_always_passes_check)
{
	/* Pieces that hit every rule, mixed with arbitrary bytes. */
	static const char *const pieces[] = {
	    "a",
	    "/",
	    ".",
	    "-",
	    "..",
	    "\x01",
	    "\x7f",
	    "\xc2\x85",
	    "\xe2\x80\xae",
	    "\xe2\x81\xa6",
	    "\xe2\x80\xa8",
	    "\xc3\xa9",
	    "\xf0\x9f\x93\x84",
	    "\xed\xa0\x80",
	    "\xc0\xaf",
	    ".txt",
	};
	char in[1200], out[MXC_HANDOFF_NAME_MAX + 1], again[MXC_HANDOFF_NAME_MAX + 1];
	for (int round = 0; round < 20000; round++) {
		size_t target = rng() % 700, len = 0;
		while (len < target) {
			if (rng() % 3 == 0) {
				in[len++] = (char)(1 + rng() % 255);
				continue;
			}
			const char *p = pieces[rng() % MXC_ARRAY_SIZE(pieces)];
			memcpy(in + len, p, strlen(p));
			len += strlen(p);
		}
		in[len] = '\0';
		struct mxc_error err = {0};
		cr_assert_eq(mxc_handoff_name_sanitize(in, out, sizeof(out)), 0);
		cr_assert_eq(mxc_handoff_name_check(out, &err), 0, "round %d: %s", round, err.msg);
		/* A clean name is its own sanitized form. */
		cr_assert_eq(mxc_handoff_name_sanitize(out, again, sizeof(again)), 0);
		cr_assert_str_eq(again, out, "round %d", round);
	}
}

Test(handoff, sanitize_keeps_the_extension_when_truncating)
{
	char in[1024], out[MXC_HANDOFF_NAME_MAX + 1];

	memset(in, 'a', 300);
	strcpy(in + 300, ".pdf");
	cr_assert_eq(mxc_handoff_name_sanitize(in, out, sizeof(out)), 0);
	cr_expect_eq(strlen(out), MXC_HANDOFF_NAME_MAX);
	cr_expect_str_eq(out + MXC_HANDOFF_NAME_MAX - 4, ".pdf");

	/* 2-byte characters: the cut falls on a character boundary. */
	for (int i = 0; i < 200; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2);
	strcpy(in + 400, ".docx");
	cr_assert_eq(mxc_handoff_name_sanitize(in, out, sizeof(out)), 0);
	cr_expect_leq(strlen(out), MXC_HANDOFF_NAME_MAX);
	cr_expect_str_eq(out + strlen(out) - 5, ".docx");
	cr_expect_eq(mxc_handoff_name_check(out, NULL), 0);

	/* An "extension" longer than 16 bytes is just part of a name cut at the limit. */
	in[0] = 'x';
	in[1] = '.';
	memset(in + 2, 'b', 400);
	in[402] = '\0';
	cr_assert_eq(mxc_handoff_name_sanitize(in, out, sizeof(out)), 0);
	cr_expect_eq(strlen(out), MXC_HANDOFF_NAME_MAX);
	cr_expect_eq(strncmp(out, "x.bbb", 5), 0);
}

Test(handoff, sanitize_refuses_a_small_buffer_and_leaves_it_alone)
{
	char out[4] = "zzz";
	cr_expect_eq(mxc_handoff_name_sanitize("hello", out, sizeof(out)), -ENOSPC);
	cr_expect_str_eq(out, "zzz");
	char fits[6];
	cr_expect_eq(mxc_handoff_name_sanitize("hello", fits, sizeof(fits)), 0);
	cr_expect_str_eq(fits, "hello");
}

Test(handoff, mime_type_follows_the_extension_in_any_case)
{
	cr_expect_str_eq(mxc_handoff_mime_of_name("report.pdf"), "application/pdf");
	cr_expect_str_eq(mxc_handoff_mime_of_name("REPORT.PDF"), "application/pdf");
	cr_expect_str_eq(mxc_handoff_mime_of_name("photo.JpEg"), "image/jpeg");
	cr_expect_str_eq(mxc_handoff_mime_of_name("notes.txt"), "text/plain");
	cr_expect_str_eq(mxc_handoff_mime_of_name("site.tar.gz"), "application/gzip");
	cr_expect_str_eq(mxc_handoff_mime_of_name("plan.docx"),
			 "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
	cr_expect_str_eq(mxc_handoff_mime_of_name("README"), "application/octet-stream");
	cr_expect_str_eq(mxc_handoff_mime_of_name("a.unknownext"), "application/octet-stream");
	cr_expect_str_eq(mxc_handoff_mime_of_name("trailing."), "application/octet-stream");
	cr_expect_str_eq(mxc_handoff_mime_of_name(".png"), "application/octet-stream");
	cr_expect_str_eq(mxc_handoff_mime_of_name("dir.png/file"), "application/octet-stream");
}

Test(handoff, content_check_catches_a_fake_png_and_passes_a_real_signature)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
	static const uint8_t text[] = "#!/bin/sh\necho not an image\n";
	struct mxc_error err = {0};

	cr_expect_eq(
	    mxc_handoff_check_content("cat.png", "image/png", text, sizeof(text) - 1, &err),
	    -EMEDIUMTYPE);
	cr_expect_not_null(strstr(err.msg, "the content of 'cat.png' is not image/png"), "%s",
			   err.msg);
	cr_expect_eq(mxc_handoff_check_content("cat.png", "image/png", png, sizeof(png), NULL), 0);
	cr_expect_eq(mxc_handoff_check_content("cat.png", "IMAGE/PNG", png, sizeof(png), NULL), 0);
	/* Too short to hold the signature, or empty. */
	cr_expect_eq(mxc_handoff_check_content("cat.png", "image/png", png, 4, NULL), -EMEDIUMTYPE);
	cr_expect_eq(mxc_handoff_check_content("cat.png", "image/png", NULL, 0, NULL),
		     -EMEDIUMTYPE);
}

Test(handoff, content_check_knows_the_other_signatures)
{
	const struct {
		const char *mime;
		const char *good;
		size_t good_len;
	} cases[] = {
	    {"image/jpeg", "\xff\xd8\xff\xe0", 4},
	    {"image/gif", "GIF89a\x01\x00", 8},
	    {"image/webp", "RIFF\x10\x00\x00\x00WEBPVP8 ", 16},
	    {"application/pdf", "%PDF-1.7\n", 9},
	    {"application/zip", "PK\x03\x04\x14\x00", 6},
	    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04", 4},
	    {"application/vnd.oasis.opendocument.text", "PK\x03\x04", 4},
	    {"application/gzip", "\x1f\x8b\x08\x00", 4},
	    {"application/x-xz",
	     "\xfd"
	     "7zXZ\x00\x00",
	     7},
	    {"application/x-bzip2", "BZh91AY", 7},
	    {"application/x-7z-compressed", "7z\xbc\xaf\x27\x1c\x00\x04", 8},
	};
	static const uint8_t junk[] = "<html><body>definitely not that</body></html>";
	for (size_t i = 0; i < MXC_ARRAY_SIZE(cases); i++) {
		struct mxc_error err = {0};
		cr_expect_eq(mxc_handoff_check_content(NULL, cases[i].mime,
						       (const uint8_t *)cases[i].good,
						       cases[i].good_len, &err),
			     0, "%s: %s", cases[i].mime, err.msg);
		cr_expect_eq(
		    mxc_handoff_check_content(NULL, cases[i].mime, junk, sizeof(junk) - 1, NULL),
		    -EMEDIUMTYPE, "%s accepted junk", cases[i].mime);
	}
}

Test(handoff, content_check_refuses_nul_in_text_and_passes_unsigned_types)
{
	static const uint8_t utf16[] = {0xff, 0xfe, 'h', 0, 'i', 0};
	static const uint8_t plain[] = "just some text\n";
	struct mxc_error err = {0};

	cr_expect_eq(mxc_handoff_check_content("a.txt", "text/plain", utf16, sizeof(utf16), &err),
		     -EMEDIUMTYPE);
	cr_expect_not_null(strstr(err.msg, "NUL"), "%s", err.msg);
	cr_expect_eq(mxc_handoff_check_content("a.csv", "text/csv", plain, sizeof(plain) - 1, NULL),
		     0);
	cr_expect_eq(mxc_handoff_check_content("a.bin", "application/octet-stream", utf16,
					       sizeof(utf16), NULL),
		     0);
	cr_expect_eq(
	    mxc_handoff_check_content("a.mp3", "audio/mpeg", plain, sizeof(plain) - 1, NULL), 0);
}

Test(handoff, writer_copies_exact_bytes_with_mode_0600_even_with_umask_0, .init = dirs_setup,
     .fini = dirs_teardown)
{
	/* Several copy chunks and an odd tail. */
	size_t len = 300001;
	uint8_t *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	char hex[MXC_SHA256_HEX_LEN + 1], final[MXC_HANDOFF_NAME_MAX + 1];
	cr_assert_eq(mxc_sha256_hex(data, len, hex), 0);
	int src = make_src(data, len);
	/* More than size is available: the rest is ignored. */
	cr_assert_eq(mxc_write_all(src, "EXTRA", 5), 0);
	umask(0);

	struct mxc_error err = {0};
	cr_assert_eq(
	    mxc_handoff_write(dir_fd, "data.bin", src, len, hex, NULL, final, sizeof(final), &err),
	    0, "%s", err.msg);
	cr_expect_str_eq(final, "data.bin");
	size_t got_len;
	char *got = read_at(dir_fd, "data.bin", &got_len);
	cr_expect_eq(got_len, len);
	cr_expect_eq(memcmp(got, data, len), 0);
	struct stat st;
	cr_assert_eq(fstatat(dir_fd, "data.bin", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_eq(st.st_nlink, 1);
	char *names = listing(dir_fd);
	cr_expect_str_eq(names, "data.bin\n", "temporary files left: %s", names);
	free(names);
	free(got);
	free(data);
	close(src);
}

static void mode_is_0600_whatever_the_umask(bool tmpfile)
{
	mxc_handoff_test_set_tmpfile(tmpfile);
	/* The umask that would leave even the owner out. */
	umask(0777);
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	cr_assert_eq(write_text("m.txt", "mode", final, &err), 0, "%s", err.msg);
	struct stat st;
	cr_assert_eq(fstatat(dir_fd, final, &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
}

Test(handoff, writer_mode_is_0600_even_with_umask_0777, .init = dirs_setup, .fini = dirs_teardown)
{
	mode_is_0600_whatever_the_umask(true);
}

Test(handoff, writer_mode_is_0600_even_with_umask_0777_without_o_tmpfile, .init = dirs_setup,
     .fini = dirs_teardown)
{
	mode_is_0600_whatever_the_umask(false);
}

Test(handoff, writer_links_the_unnamed_file_without_privileges, .init = dirs_setup,
     .fini = dirs_teardown)
{
	/* As the worker writing into ~/Inbox: no CAP_DAC_READ_SEARCH to link a descriptor. */
	if (geteuid() == 0) {
		uid_t nobody = 65534;
		cr_assert_eq(chown(dir_path, nobody, nobody), 0);
		cr_assert_eq(chown(other_path, nobody, nobody), 0);
		cr_assert_eq(setgroups(0, NULL), 0);
		cr_assert_eq(setgid(nobody), 0);
		cr_assert_eq(setuid(nobody), 0);
	}
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	cr_assert_eq(write_text("u.txt", "unprivileged", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "u.txt");
	cr_assert_eq(write_text("u.txt", "again", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "u (1).txt");
	size_t len;
	char *got = read_at(dir_fd, "u (1).txt", &len);
	cr_expect_str_eq(got, "again");
	free(got);
}

Test(handoff, writer_sets_the_origin_attribute, .init = dirs_setup, .fini = dirs_teardown)
{
	const char *origin = "session ab12 (agent-1), sent 2025-01-01T00:00:00Z";
	int src = make_src("hello", 5);
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	int r = mxc_handoff_write(dir_fd, "hello.txt", src, 5, NULL, origin, final, sizeof(final),
				  &err);
	cr_assert_geq(r, 0, "%s", err.msg);
	char path[128], value[256];
	snprintf(path, sizeof(path), "%s/%s", dir_path, final);
	ssize_t n = getxattr(path, MXC_HANDOFF_ORIGIN_XATTR, value, sizeof(value));
	if (r == 0) {
		cr_assert_eq(n, (ssize_t)strlen(origin), "getxattr: %s", strerror(errno));
		cr_expect_eq(memcmp(value, origin, strlen(origin)), 0);
	} else {
		/* Only a file system without user attributes may say so. */
		cr_expect_eq(r, 1);
		cr_expect_eq(n, -1);
		cr_expect_eq(errno, ENOTSUP);
	}
	close(src);
}

Test(handoff, writer_never_overwrites_and_numbers_the_copies, .init = dirs_setup,
     .fini = dirs_teardown)
{
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	create_file_at(dir_fd, "a.txt", "old");
	cr_assert_eq(write_text("a.txt", "new 1", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "a (1).txt");
	cr_assert_eq(write_text("a.txt", "new 2", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "a (2).txt");

	size_t len;
	char *got = read_at(dir_fd, "a.txt", &len);
	cr_expect_str_eq(got, "old");
	free(got);
	got = read_at(dir_fd, "a (1).txt", &len);
	cr_expect_str_eq(got, "new 1");
	free(got);
	got = read_at(dir_fd, "a (2).txt", &len);
	cr_expect_str_eq(got, "new 2");
	free(got);
	char *names = listing(dir_fd);
	cr_expect_str_eq(names, "a (1).txt\na (2).txt\na.txt\n");
	free(names);
}

Test(handoff, writer_numbered_name_still_fits_the_limit, .init = dirs_setup, .fini = dirs_teardown)
{
	char name[MXC_HANDOFF_NAME_MAX + 1], final[MXC_HANDOFF_NAME_MAX + 1];
	/* 'é' is 2 bytes: the stem must be cut between characters, never inside one. */
	memset(name, 'a', 1);
	for (int i = 0; i < 125; i++)
		memcpy(name + 1 + 2 * i, "\xc3\xa9", 2);
	strcpy(name + 251, ".txt");
	cr_assert_eq(strlen(name), MXC_HANDOFF_NAME_MAX);
	create_file_at(dir_fd, name, "taken");

	struct mxc_error err = {0};
	cr_assert_eq(write_text(name, "copy", final, &err), 0, "%s", err.msg);
	cr_expect_leq(strlen(final), MXC_HANDOFF_NAME_MAX);
	cr_expect_str_eq(final + strlen(final) - 8, " (1).txt");
	cr_expect_eq(mxc_handoff_name_check(final, &err), 0, "%s", err.msg);
	size_t len;
	char *got = read_at(dir_fd, final, &len);
	cr_expect_str_eq(got, "copy");
	free(got);
}

Test(handoff, writer_gives_up_after_a_thousand_copies, .init = dirs_setup, .fini = dirs_teardown)
{
	char name[64], final[MXC_HANDOFF_NAME_MAX + 1];
	create_file_at(dir_fd, "a.txt", "");
	for (int i = 1; i <= 1000; i++) {
		snprintf(name, sizeof(name), "a (%d).txt", i);
		create_file_at(dir_fd, name, "");
	}
	char *before = listing(dir_fd);
	struct mxc_error err = {0};
	cr_expect_eq(write_text("a.txt", "one too many", final, &err), -EEXIST);
	char *after = listing(dir_fd);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
}

/* Both ways of building the file: unnamed (O_TMPFILE) and under a hidden temporary name. */
static void digest_mismatch_leaves_nothing(bool tmpfile)
{
	mxc_handoff_test_set_tmpfile(tmpfile);
	create_file_at(dir_fd, "keep.txt", "x");
	char *before = listing(dir_fd);
	const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
	int src = make_src("payload", 7);
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "doc.txt", src, 7, wrong, "o", final, sizeof(final), &err),
	    -EBADMSG);
	cr_expect_not_null(strstr(err.msg, "SHA-256"), "%s", err.msg);
	char *after = listing(dir_fd);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
	close(src);
}

Test(handoff, digest_mismatch_leaves_nothing_behind, .init = dirs_setup, .fini = dirs_teardown)
{
	digest_mismatch_leaves_nothing(true);
}

Test(handoff, digest_mismatch_leaves_nothing_behind_without_o_tmpfile, .init = dirs_setup,
     .fini = dirs_teardown)
{
	digest_mismatch_leaves_nothing(false);
}

static void truncated_source_is_refused(bool tmpfile)
{
	mxc_handoff_test_set_tmpfile(tmpfile);
	char *before = listing(dir_fd);
	int src = make_src("short", 5);
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "doc.txt", src, 6, NULL, NULL, final, sizeof(final), &err),
	    -EIO);
	cr_expect_not_null(strstr(err.msg, "truncated"), "%s", err.msg);
	char *after = listing(dir_fd);
	cr_expect_str_eq(after, before);
	free(before);
	free(after);
	close(src);
}

Test(handoff, truncated_source_is_refused_and_leaves_nothing, .init = dirs_setup,
     .fini = dirs_teardown)
{
	truncated_source_is_refused(true);
}

Test(handoff, truncated_source_is_refused_and_leaves_nothing_without_o_tmpfile, .init = dirs_setup,
     .fini = dirs_teardown)
{
	truncated_source_is_refused(false);
}

static void symlink_at_the_name_is_not_followed(bool tmpfile)
{
	mxc_handoff_test_set_tmpfile(tmpfile);
	char target[128], final[MXC_HANDOFF_NAME_MAX + 1];
	snprintf(target, sizeof(target), "%s/x", other_path);
	cr_assert_eq(symlinkat(target, dir_fd, "a.txt"), 0);

	struct mxc_error err = {0};
	cr_assert_eq(write_text("a.txt", "secret", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "a (1).txt");
	struct stat st;
	cr_expect_eq(fstatat(dir_fd, "a.txt", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect(S_ISLNK(st.st_mode), "the link was replaced");
	int other = open(other_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(other, 0);
	char *names = listing(other);
	cr_expect_str_eq(names, "", "written through the link: %s", names);
	free(names);
	close(other);
	names = listing(dir_fd);
	cr_expect_str_eq(names, "a (1).txt\na.txt\n");
	free(names);
}

Test(handoff, symlink_named_like_the_target_is_not_followed, .init = dirs_setup,
     .fini = dirs_teardown)
{
	symlink_at_the_name_is_not_followed(true);
}

Test(handoff, symlink_named_like_the_target_is_not_followed_without_o_tmpfile, .init = dirs_setup,
     .fini = dirs_teardown)
{
	symlink_at_the_name_is_not_followed(false);
}

Test(handoff, writer_without_o_tmpfile_writes_and_numbers_too, .init = dirs_setup,
     .fini = dirs_teardown)
{
	mxc_handoff_test_set_tmpfile(false);
	umask(0);
	char final[MXC_HANDOFF_NAME_MAX + 1];
	struct mxc_error err = {0};
	cr_assert_eq(write_text("b.md", "one", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "b.md");
	cr_assert_eq(write_text("b.md", "two", final, &err), 0, "%s", err.msg);
	cr_expect_str_eq(final, "b (1).md");
	struct stat st;
	cr_assert_eq(fstatat(dir_fd, "b (1).md", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	size_t len;
	char *got = read_at(dir_fd, "b (1).md", &len);
	cr_expect_str_eq(got, "two");
	free(got);
	char *names = listing(dir_fd);
	cr_expect_str_eq(names, "b (1).md\nb.md\n", "temporary files left: %s", names);
	free(names);
}

Test(handoff, writer_refuses_bad_arguments_before_creating_anything, .init = dirs_setup,
     .fini = dirs_teardown)
{
	int src = make_src("abc", 3);
	char final[MXC_HANDOFF_NAME_MAX + 1], small[16], origin[MXC_HANDOFF_ORIGIN_MAX + 2];
	memset(origin, 'o', sizeof(origin) - 1);
	origin[sizeof(origin) - 1] = '\0';
	struct mxc_error err = {0};

	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "../x", src, 3, NULL, NULL, final, sizeof(final), &err),
	    -EINVAL);
	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "sub/x", src, 3, NULL, NULL, final, sizeof(final), &err),
	    -EINVAL);
	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "x", src, 3, "abc", NULL, final, sizeof(final), &err),
	    -EINVAL);
	cr_expect_eq(
	    mxc_handoff_write(dir_fd, "x", src, 3, NULL, origin, final, sizeof(final), &err),
	    -EINVAL);
	cr_expect_eq(mxc_handoff_write(dir_fd, "x", src, 3, NULL, NULL, small, sizeof(small), &err),
		     -ENOSPC);
	char *names = listing(dir_fd);
	cr_expect_str_eq(names, "");
	free(names);
	int other = open(other_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	names = listing(other);
	cr_expect_str_eq(names, "");
	free(names);
	close(other);
	close(src);
}

Test(handoff, open_dir_refuses_a_symlinked_inbox, .init = dirs_setup, .fini = dirs_teardown)
{
	cr_assert_eq(symlinkat(other_path, dir_fd, "Inbox"), 0);
	cr_assert_eq(mkdirat(dir_fd, "real", 0700), 0);
	cr_assert_eq(symlinkat("real", dir_fd, "via"), 0);
	int fd = -1;
	struct mxc_error err = {0};

	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "Inbox", true, &fd, &err), -ELOOP);
	cr_expect_not_null(strstr(err.msg, "symbolic link"), "%s", err.msg);
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "Inbox", false, &fd, &err), -ELOOP);
	/* A link in the middle of the path, and creating beneath it. */
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "via/Inbox", true, &fd, &err), -ELOOP);
	cr_expect_eq(fd, -1);
	struct stat st;
	cr_expect_eq(fstatat(dir_fd, "real/Inbox", &st, AT_SYMLINK_NOFOLLOW), -1,
		     "created through the link");
}

Test(handoff, open_dir_creates_a_missing_inbox_with_mode_0700, .init = dirs_setup,
     .fini = dirs_teardown)
{
	umask(0);
	int fd = -1;
	struct mxc_error err = {0};
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "Inbox", false, &fd, &err), -ENOENT);
	cr_assert_eq(mxc_handoff_open_dir(dir_fd, "Inbox", true, &fd, &err), 0, "%s", err.msg);
	struct stat st, at_fd;
	cr_assert_eq(fstatat(dir_fd, "Inbox", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0700, "mode %o", st.st_mode & 07777);
	cr_assert_eq(fstat(fd, &at_fd), 0);
	cr_expect_eq(at_fd.st_ino, st.st_ino);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* Opening it again, existing, gives the same directory. */
	cr_assert_eq(mxc_handoff_open_dir(dir_fd, "Inbox", true, &fd, &err), 0, "%s", err.msg);
	cr_assert_eq(fstat(fd, &at_fd), 0);
	cr_expect_eq(at_fd.st_ino, st.st_ino);
	close(fd);
}

Test(handoff, open_dir_gives_a_created_inbox_mode_0700_even_with_umask_0777, .init = dirs_setup,
     .fini = dirs_teardown)
{
	umask(0777);
	int fd = -1;
	struct mxc_error err = {0};
	cr_assert_eq(mxc_handoff_open_dir(dir_fd, "Inbox", true, &fd, &err), 0, "%s", err.msg);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "mode %o", st.st_mode & 07777);
	close(fd);
}

Test(handoff, open_dir_refuses_paths_out_of_the_base, .init = dirs_setup, .fini = dirs_teardown)
{
	int fd = -1;
	struct mxc_error err = {0};
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "../x", true, &fd, &err), -EXDEV);
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "/tmp", false, &fd, &err), -EXDEV);
	cr_expect_eq(mxc_handoff_open_dir(dir_fd, "", false, &fd, &err), -EINVAL);
	cr_expect_eq(fd, -1);
}
