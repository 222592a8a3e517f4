/* Samples of a duration (nanoseconds) and their summaries: median and nearest-rank quantiles. */
#ifndef MXC_BENCH_STATS_H
#define MXC_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

struct bench_samples {
	uint64_t *ns;
	size_t n, cap;
};

void bench_samples_init(struct bench_samples *s);
void bench_samples_finish(struct bench_samples *s);
/* -ENOMEM when the sample can't be kept. */
int bench_samples_add(struct bench_samples *s, uint64_t ns);
/* Appends every sample of from. */
int bench_samples_merge(struct bench_samples *s, const struct bench_samples *from);

/* These sort the samples in place; 0 when there are none. */
double bench_samples_median_ms(struct bench_samples *s);
/* The nearest-rank q-quantile (0 < q <= 1): the p99 of 100 samples is the 99th smallest. */
double bench_samples_quantile_ms(struct bench_samples *s, double q);

#endif
