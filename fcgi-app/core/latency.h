/*
 * Latency histograms.  Fine buckets for percentiles: 1 ms wide below
 * 100 ms (so that whole-millisecond latencies are counted exactly there)
 * and 2% wide above, up to a day.  Coarse Prometheus buckets for /metrics.
 *
 * Percentiles use the nearest-rank definition: the p-th percentile is the
 * smallest latency that at least p% of the requests do not exceed.  Below
 * 100 ms it is exact; above, within 2%.
 */
#ifndef APIGW_LATENCY_H
#define APIGW_LATENCY_H

#define LATENCY_BUCKETS 800

/* The fine bucket of a latency in milliseconds. */
int latency_bucket(long long ms);

/* The value a bucket stands for (its lower bound below 100 ms, its middle
 * above). */
double latency_bucket_value(int bucket);

/* The p-th percentile (0 < p <= 100) of a histogram of n buckets; 0 when
 * it is empty. */
double latency_percentile(const long long *counts, int n, double p);

/* The Prometheus buckets' upper bounds in milliseconds, in order; the last
 * one stands for +Inf (0). */
#define LATENCY_LE_COUNT 14
extern const int latency_le_ms[LATENCY_LE_COUNT];

/* The Prometheus bucket (its upper bound, 0 for +Inf) of a latency. */
int latency_le(long long ms);

#endif
