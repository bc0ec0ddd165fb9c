/* Pacing from an answer's head (pace_head.h). */
#include "proxy/pace_head.h"

#include <string.h>

#include "core/clock.h"
#include "core/pace.h"
#include "core/pool.h"

/* Longer values are not counts, durations or times. */
#define PACE_VALUE_MAX 64

void pace_head_learn(struct pool_key *k, const struct upstream_head *h)
{
    const char *cursor = buf_str(&h->fields);
    struct upstream_field f;
    struct pace_reading r;
    long long wall = clock_wall_ms();
    char value[PACE_VALUE_MAX + 1];

    pace_reading_init(&r);
    while (upstream_head_next(&cursor, &f)) {
        if (f.value_len > PACE_VALUE_MAX)
            continue;
        memcpy(value, f.value, f.value_len);
        value[f.value_len] = '\0';
        pace_read_header(&r, f.name, f.name_len, value, h->status, (time_t)(wall / 1000));
    }
    pace_learn(&k->pace, &r, clock_mono_ms(), wall);
}
