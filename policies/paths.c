/* filesystem: absolute path lists, normalized and checked for overlaps between lists. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse-internal.h"

int policy_normalize_path(struct pctx *c, const char *in, char **ret)
{
	size_t len = strlen(in);
	if (len == 0)
		return perr(c, -EINVAL, "must not be empty");
	if (len >= PATH_MAX)
		return perr(c, -EINVAL, "longer than %d bytes", PATH_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch < 0x20 || ch == 0x7f)
			return perr(c, -EINVAL, "must not contain control characters");
	}
	if (in[0] != '/')
		return perr(c, -EINVAL, "must be an absolute path (\"%.128s\")", in);

	char *out = malloc(len + 1);
	if (!out)
		return perr_oom(c);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.'))
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			free(out);
			return perr(c, -EINVAL, "must not contain '..' components (\"%.128s\")",
				    in);
		}
		out[o++] = '/';
		memcpy(out + o, start, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	*ret = out;
	return 0;
}

static const char *const fs_lists[] = {"readwritePaths", "readonlyPaths", "deniedPaths"};

/* Finds norm in the lists parsed so far; returns the list index or -1. */
static int find_path(char **const lists[3], const char *norm, size_t *ret_i)
{
	for (int l = 0; l < 3; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++)
			if (strcmp(lists[l][i], norm) == 0) {
				*ret_i = i;
				return l;
			}
	return -1;
}

int policy_parse_filesystem(struct pctx *c, struct json_object *root, struct mxc_policy *p)
{
	static const char *const keys[] = {"readwritePaths", "readonlyPaths", "deniedPaths", NULL};
	char **lists[3] = {NULL, NULL, NULL};
	size_t counts[3] = {0, 0, 0};
	/* Original indices, so that a duplicate names the entry the author wrote. */
	size_t *orig[3] = {NULL, NULL, NULL};
	struct json_object *fs = NULL;
	int r = policy_get_object(c, root, "filesystem", &fs);
	if (r == -ENOENT)
		fs = NULL;
	else if (r < 0)
		return r;

	size_t mark = path_push_key(c, "filesystem");
	if (fs) {
		r = policy_check_keys(c, fs, keys);
		if (r < 0)
			goto out;
	}
	for (int l = 0; l < 3; l++) {
		if (!lists[l]) {
			lists[l] = calloc(1, sizeof(char *));
			if (!lists[l]) {
				r = perr_oom(c);
				goto out;
			}
		}
		struct json_object *arr;
		r = policy_get_array(c, fs, fs_lists[l], MXC_POLICY_MAX_PATHS, &arr);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		size_t n = json_object_array_length(arr);
		orig[l] = calloc(n + 1, sizeof(size_t));
		if (!orig[l]) {
			r = perr_oom(c);
			goto out;
		}
		size_t lmark = path_push_key(c, fs_lists[l]);
		for (size_t i = 0; i < n; i++) {
			const char *s;
			r = policy_array_string(c, arr, i, PATH_MAX - 1, &s);
			if (r < 0)
				break;
			size_t imark = path_push_index(c, i);
			char *norm = NULL;
			r = policy_normalize_path(c, s, &norm);
			if (r < 0) {
				path_pop(c, imark);
				break;
			}
			size_t j;
			int other = find_path(lists, norm, &j);
			if (other == l)
				r = perr(c, -EINVAL, "\"%.128s\" is listed twice (also at %s[%zu])",
					 norm, fs_lists[l], orig[l][j]);
			else if (other >= 0)
				r = perr(c, -EINVAL, "\"%.128s\" is also in filesystem.%s[%zu]",
					 norm, fs_lists[other], orig[other][j]);
			path_pop(c, imark);
			if (r < 0) {
				free(norm);
				break;
			}
			orig[l][counts[l]] = i;
			char **nv = realloc(lists[l], (counts[l] + 2) * sizeof(char *));
			if (!nv) {
				free(norm);
				r = perr_oom(c);
				break;
			}
			lists[l] = nv;
			nv[counts[l]++] = norm;
			nv[counts[l]] = NULL;
		}
		path_pop(c, lmark);
		if (r < 0)
			goto out;
	}
	for (int l = 0; l < 3; l++)
		strv_sort(lists[l]);
	mxc_strv_free(p->fs.readwrite);
	mxc_strv_free(p->fs.readonly);
	mxc_strv_free(p->fs.denied);
	p->fs.readwrite = lists[0];
	p->fs.readonly = lists[1];
	p->fs.denied = lists[2];
	lists[0] = lists[1] = lists[2] = NULL;
	r = 0;
out:
	path_pop(c, mark);
	for (int l = 0; l < 3; l++) {
		mxc_strv_free(lists[l]);
		free(orig[l]);
	}
	return r;
}
