/* Aligned columns for human-readable listings. */
#ifndef MXC_CLI_TABLE_H
#define MXC_CLI_TABLE_H

#include <stdio.h>

#include "util.h"

struct mxc_table;

struct mxc_table *mxc_table_new(size_t n_columns, const char *const *headers);
/* Adds one row of n_columns cells (NULL prints "-"); control characters are escaped. */
void mxc_table_add(struct mxc_table *t, const char *const *cells);
void mxc_table_print(struct mxc_table *t, FILE *f);
void mxc_table_free(struct mxc_table *t);

/* Milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS". */
void mxc_format_local_ms(int64_t ms, char buf[static 32]);

#endif
