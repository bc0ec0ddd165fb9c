#include "core/latency.h"

#include <math.h>

#define FINE_LINEAR 100 /* buckets 0..99 are 1 ms wide */
#define FINE_STEP   1.02

const int latency_le_ms[LATENCY_LE_COUNT] = {5,    10,   25,   50,    100,   250,   500,
                                             1000, 2500, 5000, 10000, 30000, 60000, 0};

int latency_bucket(long long ms)
{
    int b;

    if (ms < 0)
        ms = 0;
    if (ms < FINE_LINEAR)
        return (int)ms;
    b = FINE_LINEAR + (int)floor(log((double)ms / FINE_LINEAR) / log(FINE_STEP));
    return b < LATENCY_BUCKETS ? b : LATENCY_BUCKETS - 1;
}

double latency_bucket_value(int bucket)
{
    double low, high;

    if (bucket < FINE_LINEAR)
        return bucket;
    low = FINE_LINEAR * pow(FINE_STEP, bucket - FINE_LINEAR);
    high = low * FINE_STEP;
    return (low + high) / 2;
}

double latency_percentile(const long long *counts, int n, double p)
{
    long long total = 0, seen = 0, rank;
    int b;

    for (b = 0; b < n; b++)
        total += counts[b];
    if (total == 0)
        return 0;
    rank = (long long)ceil(p / 100.0 * (double)total);
    if (rank < 1)
        rank = 1;
    for (b = 0; b < n; b++) {
        seen += counts[b];
        if (seen >= rank)
            return latency_bucket_value(b);
    }
    return latency_bucket_value(n - 1);
}

int latency_le(long long ms)
{
    int i;

    for (i = 0; i < LATENCY_LE_COUNT - 1; i++)
        if (ms <= latency_le_ms[i])
            return latency_le_ms[i];
    return 0;
}
