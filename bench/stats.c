/* Samples and summaries: see stats.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

void bench_samples_init(struct bench_samples *s)
{
	*s = (struct bench_samples){0};
}

void bench_samples_finish(struct bench_samples *s)
{
	free(s->ns);
	bench_samples_init(s);
}

int bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *v = realloc(s->ns, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->ns = v;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
	return 0;
}

int bench_samples_merge(struct bench_samples *s, const struct bench_samples *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (bench_samples_add(s, from->ns[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double bench_samples_median_ms(struct bench_samples *s)
{
	size_t n = s->n;

	if (n == 0)
		return 0;
	qsort(s->ns, n, sizeof(*s->ns), compare_u64);
	return (n % 2 ? (double)s->ns[n / 2]
		      : ((double)s->ns[n / 2 - 1] + (double)s->ns[n / 2]) / 2) /
	       1e6;
}

double bench_samples_quantile_ms(struct bench_samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->ns, s->n, sizeof(*s->ns), compare_u64);
	rank = (size_t)ceil(q * (double)s->n);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return (double)s->ns[rank - 1] / 1e6;
}
