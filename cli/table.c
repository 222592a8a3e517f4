#include <stdlib.h>
#include <time.h>

#include "table.h"

struct mxc_table {
	size_t n_columns, n_rows, cap;
	char **cells; /* row-major, headers first */
};

static char *sanitize(const char *s)
{
	if (!s)
		return strdup("-");
	/* Names and messages may come from hostile sources: never print raw control bytes. */
	size_t len = strlen(s);
	char *out = malloc(4 * len + 1), *p = out;
	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			p += sprintf(p, "\\x%02x", *c);
		else
			*p++ = (char)*c;
	}
	*p = '\0';
	return out;
}

struct mxc_table *mxc_table_new(size_t n_columns, const char *const *headers)
{
	struct mxc_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n_columns = n_columns;
	mxc_table_add(t, headers);
	return t;
}

void mxc_table_add(struct mxc_table *t, const char *const *cells)
{
	if (t->n_rows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **c = realloc(t->cells, cap * t->n_columns * sizeof(char *));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->n_columns; i++)
		t->cells[t->n_rows * t->n_columns + i] = sanitize(cells[i]);
	t->n_rows++;
}

/* Display width of a UTF-8 string: counts code points, not bytes. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; s && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void mxc_table_print(struct mxc_table *t, FILE *f)
{
	size_t *w = calloc(t->n_columns, sizeof(size_t));
	if (!w)
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_columns; c++) {
			size_t k = width(t->cells[r * t->n_columns + c]);
			if (k > w[c])
				w[c] = k;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_columns; c++) {
			const char *cell = t->cells[r * t->n_columns + c];
			cell = cell ? cell : "";
			if (c + 1 == t->n_columns)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%s%*s  ", cell, (int)(w[c] - width(cell)), "");
		}
	}
	free(w);
}

void mxc_table_free(struct mxc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void mxc_format_local_ms(int64_t ms, char buf[static 32])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&sec, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
}
