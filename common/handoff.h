/*
 * Documents handed between an agent session and the human: the rules for their names, their
 * MIME types and a name/content consistency check, and the writer that puts one into a
 * directory without ever overwriting, following a link or leaving a partial file behind.
 *
 * Both sides use it: the daemon (root) checks what an agent sends before it keeps a copy; the
 * CLI, running as the human, writes an accepted document into the human's directory; a worker
 * running as the agent's uid writes what the human gives into the agent's ~/Inbox, a
 * directory the agent controls and so a hostile one.
 *
 * A name is shown to a human and used as a file name, so the rules keep out everything that
 * could make it lie on screen, escape its directory or be read as an option: see
 * mxc_handoff_name_check.
 */
#ifndef MXC_COMMON_HANDOFF_H
#define MXC_COMMON_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Longest file name, in bytes (NAME_MAX of the usual Linux file systems). */
#define MXC_HANDOFF_NAME_MAX 255
/* Longest extension (after the last '.') that sanitizing and renaming keep intact. */
#define MXC_HANDOFF_EXT_MAX 16
/* Longest origin recorded in the user.mxc.origin extended attribute, in bytes. */
#define MXC_HANDOFF_ORIGIN_MAX 1024
/* How many bytes of a file's head mxc_handoff_check_content looks at, at most. */
#define MXC_HANDOFF_HEAD_MAX 4096
/* The extended attribute that records where a written document came from. */
#define MXC_HANDOFF_ORIGIN_XATTR "user.mxc.origin"

/*
 * Returns 0 if name is a clean file name: non-empty; at most MXC_HANDOFF_NAME_MAX bytes; valid
 * UTF-8 (no overlong forms, surrogates or code points above U+10FFFF); not "." or ".."; not
 * starting with '.' (no hidden files) or '-' (it could be read as an option); and without '/',
 * C0 controls (U+0000-U+001F), DEL, C1 controls (U+0080-U+009F), the line and paragraph
 * separators U+2028/U+2029, or bidirectional formatting characters (the marks U+061C, U+200E,
 * U+200F, the embeddings and overrides U+202A-U+202E and the isolates U+2066-U+2069), which
 * could make the name read differently from what it is.
 * Errors: -EINVAL, with a message that names the rule and quotes the name escaped.
 * Anyone may call it; it reads at most MXC_HANDOFF_NAME_MAX + 1 bytes of name.
 */
int mxc_handoff_name_check(const char *name, struct mxc_error *err);

/*
 * Makes a clean name out of any path or name: keeps the last path component, replaces each
 * character mxc_handoff_name_check refuses, and each byte that is not part of valid UTF-8, by
 * '_', replaces a leading '.' or '-' by '_', and shortens a long result at a character boundary
 * to MXC_HANDOFF_NAME_MAX bytes, keeping an extension of at most MXC_HANDOFF_EXT_MAX bytes
 * intact. An empty result becomes "file". The output always passes mxc_handoff_name_check.
 * Errors: -ENOSPC if out_size is too small for the result (out_size >= MXC_HANDOFF_NAME_MAX +
 * 1 always suffices); out is written only on success. Anyone may call it.
 */
int mxc_handoff_name_sanitize(const char *in, char *out, size_t out_size);

/*
 * The MIME type of a file name, from its extension (case-insensitive) in a built-in table of
 * common types; "application/octet-stream" for an unknown extension or none. The result is a
 * static string. Anyone may call it.
 */
const char *mxc_handoff_mime_of_name(const char *name);

/*
 * Checks that the first bytes of a file (head, len bytes: MXC_HANDOFF_HEAD_MAX of them
 * suffice, fewer only if the file is shorter) are consistent with its MIME type mime (as from
 * mxc_handoff_mime_of_name, compared case-insensitively). Types with a well-known signature
 * (image/png, image/jpeg, image/gif, image/webp, application/pdf, application/zip and the
 * zip-based OOXML, OpenDocument and EPUB types, application/gzip, application/x-xz,
 * application/x-bzip2, application/x-7z-compressed) must start with it (a PDF's "%PDF-" may
 * come within its first 1024 bytes, as readers accept); text types ("text/...") must not
 * contain NUL bytes (so UTF-16 text is refused); every other type passes.
 * This is a consistency check of a name and its content, so that a file is not shown as
 * something it is not; it is not a content scanner and says nothing about whether the file is
 * harmless.
 * name is only used in the message and may be NULL.
 * Errors: -EMEDIUMTYPE ("the content of 'x.png' is not image/png: ..."), -EINVAL (no mime).
 * Anyone may call it.
 */
int mxc_handoff_check_content(const char *name, const char *mime, const uint8_t *head, size_t len,
			      struct mxc_error *err);

/*
 * Writes a document into the directory dirfd under name, or under "stem (1).ext",
 * "stem (2).ext", ... up to "stem (1000).ext" if the name is taken: never over an existing
 * entry, and never through a symbolic link (an entry of any kind, a link included, counts as
 * taken). Copies exactly size bytes of srcfd, read with pread from offset 0 (so a shared file
 * offset does not matter; bytes beyond size are ignored), into a file of mode 0600 whatever the
 * umask, fsync()ed before it gets its name. If sha256_hex (64 hex digits) is not NULL, the
 * bytes must hash to it. If origin is not NULL (at most MXC_HANDOFF_ORIGIN_MAX bytes), it is
 * recorded in the extended attribute MXC_HANDOFF_ORIGIN_XATTR.
 *
 * The file is built unnamed (O_TMPFILE) and linked into place only when complete; on a file
 * system without O_TMPFILE it is built under a hidden name ".mxc-handoff-XXXXXX" and renamed.
 * Either way, on failure nothing is left in the directory and no partial file ever appears
 * under a name. Nothing is created outside dirfd.
 *
 * On success the final name goes to ret_name (which needs ret_name_size >=
 * MXC_HANDOFF_NAME_MAX + 1; ret_name may be NULL if ret_name_size is 0) and the result is 0,
 * or 1 if origin was given but the file system does not support user extended attributes (the
 * file is written without it, and the caller may warn).
 * Errors: -EINVAL (a name that fails mxc_handoff_name_check, a malformed sha256_hex, an origin
 * too long), -ENOSPC (ret_name_size too small), -EFBIG (size beyond what a file can hold), -EIO
 * (srcfd holds fewer than size bytes), -EBADMSG (the hash differs), -EEXIST (no free name
 * left), and the errors of the file system.
 * Called by the process running as the user who receives the document: the CLI for the
 * human's directory, a worker with the agent's uid for ~/Inbox.
 */
int mxc_handoff_write(int dirfd, const char *name, int srcfd, uint64_t size, const char *sha256_hex,
		      const char *origin, char *ret_name, size_t ret_name_size,
		      struct mxc_error *err);

/*
 * Opens the directory path relative to basefd (O_DIRECTORY, close-on-exec) with openat2()
 * confined beneath basefd and refusing every symbolic and magic link on the way, for a
 * directory a user controls (basefd the agent's home, path "Inbox"). With create, the last
 * component is first created with mode 0700 if missing (its parents must exist); a directory
 * created here gets mode 0700 whatever the umask.
 * Errors: -ELOOP (a symbolic link on the path), -EXDEV (a path that leaves basefd: absolute or
 * through ".."), -EINVAL (an empty or overlong path), -ENOTDIR, -ENOENT (missing, without
 * create), -ENOSYS (a kernel without openat2), and the errors of the file system.
 * Called by whoever writes into the directory, with that user's identity.
 */
int mxc_handoff_open_dir(int basefd, const char *path, bool create, int *ret_fd,
			 struct mxc_error *err);

/*
 * For tests only: makes mxc_handoff_write take its path for file systems without O_TMPFILE
 * (the hidden temporary name) even where O_TMPFILE works. Not thread-safe.
 */
void mxc_handoff_test_set_tmpfile(bool enabled);

#endif
