/* Limit windows parsed, checked and matched (limits.h). */
#include "core/limits.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/resetzone.h"
#include "core/shape.h"

static int parse_window(const char *s, enum limit_window *w)
{
    if (strcmp(s, "minute") == 0)
        *w = LIMIT_MINUTE;
    else if (strcmp(s, "hour") == 0)
        *w = LIMIT_HOUR;
    else if (strcmp(s, "day") == 0)
        *w = LIMIT_DAY;
    else
        return -1;
    return 0;
}

const char *limit_window_name(enum limit_window w)
{
    return w == LIMIT_MINUTE ? "minute" : w == LIMIT_HOUR ? "hour" : "day";
}

/* A count member: absent or null is 0 (no limit); else an integer from 1
 * to LIMIT_N_MAX.  Returns NULL or why not. */
static const char *parse_count(struct json_object *v, long long *out)
{
    *out = 0;
    if (v == NULL)
        return NULL;
    if (!json_object_is_type(v, json_type_int))
        return "must be an integer";
    *out = json_object_get_int64(v);
    if (*out < 1 || *out > LIMIT_N_MAX)
        return "must be from 1 to 10^15";
    return NULL;
}

/* A model pattern: 1 to LIMIT_MODEL_MAX bytes, no control character. */
static const char *parse_model(struct json_object *v, char **out)
{
    const char *s;
    size_t i, n;

    *out = NULL;
    if (v == NULL)
        return NULL;
    if (!json_object_is_type(v, json_type_string))
        return "must be a string, a model name with * wildcards";
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n < 1 || n > LIMIT_MODEL_MAX || strlen(s) != n)
        return "must be 1 to 128 characters";
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "must not hold control characters";
    *out = strdup(s);
    return *out == NULL ? "out of memory" : NULL;
}

/* Entry i of the array into l; NULL or the fault, with its member. */
static const char *parse_entry(struct json_object *o, struct limit *l, const char **member)
{
    struct json_object *v;
    const char *why;

    *member = NULL;
    if (!json_object_is_type(o, json_type_object))
        return "must be an object {window, requests?, tokens?, model?}";
    json_object_object_foreach(o, name, val)
    {
        (void)val;
        if (strcmp(name, "window") != 0 && strcmp(name, "requests") != 0 &&
            strcmp(name, "tokens") != 0 && strcmp(name, "model") != 0) {
            *member = name;
            return "unknown member (window, requests, tokens and model are known)";
        }
    }
    *member = "window";
    if (!json_object_object_get_ex(o, "window", &v) || v == NULL ||
        !json_object_is_type(v, json_type_string) ||
        parse_window(json_object_get_string(v), &l->window) != 0)
        return "required: minute, hour or day";
    *member = "requests";
    json_object_object_get_ex(o, "requests", &v);
    if ((why = parse_count(v, &l->requests)) != NULL)
        return why;
    *member = "tokens";
    v = NULL;
    json_object_object_get_ex(o, "tokens", &v);
    if ((why = parse_count(v, &l->tokens)) != NULL)
        return why;
    if (l->requests == 0 && l->tokens == 0) {
        *member = "requests";
        return "requests or tokens is required";
    }
    *member = "model";
    v = NULL;
    json_object_object_get_ex(o, "model", &v);
    return parse_model(v, &l->model);
}

/* FNV-1a over what the limits say, so that the same list hashes the same
 * whatever its JSON spacing. */
static long long version_of(const struct limit_set *s)
{
    uint64_t h = 14695981039346656037ULL;
    char text[LIMIT_MODEL_MAX + 96];
    size_t i;
    const char *p;

    for (i = 0; i < s->n; i++) {
        snprintf(text, sizeof(text), "%d/%lld/%lld/%s;", (int)s->v[i].window, s->v[i].requests,
                 s->v[i].tokens, s->v[i].model != NULL ? s->v[i].model : "");
        for (p = text; *p != '\0'; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    return (long long)(h >> 2); /* a positive BIGINT */
}

int limits_parse(struct json_object *arr, struct limit_set **out, char *msg, size_t len)
{
    struct limit_set *s;
    size_t i, n;

    *out = NULL;
    if (arr == NULL || json_object_is_type(arr, json_type_null))
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        snprintf(msg, len, "limits: must be an array of {window, requests?, tokens?, model?}");
        return -1;
    }
    n = json_object_array_length(arr);
    if (n == 0)
        return 0;
    if (n > LIMITS_MAX) {
        snprintf(msg, len, "limits: at most %d limits", LIMITS_MAX);
        return -1;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        snprintf(msg, len, "limits: out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *member,
            *why = parse_entry(json_object_array_get_idx(arr, i), &s->v[i], &member);
        s->n = i + 1; /* so that limits_free frees this entry's model too */
        if (why != NULL) {
            if (member != NULL)
                snprintf(msg, len, "limits[%zu].%s: %s", i, member, why);
            else
                snprintf(msg, len, "limits[%zu]: %s", i, why);
            limits_free(s);
            return -1;
        }
        s->any_model = s->any_model || s->v[i].model != NULL;
    }
    s->version = version_of(s);
    *out = s;
    return 0;
}

struct limit_set *limits_parse_text(const char *text)
{
    struct json_object *o;
    struct limit_set *s = NULL;
    char msg[160];

    if (text == NULL)
        return NULL;
    o = json_tokener_parse(text);
    if (limits_parse(o, &s, msg, sizeof(msg)) != 0)
        s = NULL;
    json_object_put(o);
    return s;
}

void limits_free(struct limit_set *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->v[i].model);
    free(s);
}

bool limit_applies(const struct limit *l, const char *model)
{
    if (l->model == NULL)
        return true;
    return model != NULL && model[0] != '\0' && shape_glob(l->model, model);
}

long long limit_day_start(const struct limit_day *day, long long now)
{
    time_t t =
        reset_prev_for(day != NULL ? day->tz : NULL, day != NULL ? day->hour : -1, (time_t)now);

    /* Should the schedule be unknown, a day is a UTC calendar day. */
    return t != 0 ? (long long)t : now - now % 86400;
}

long long limit_day_end(const struct limit_day *day, long long start)
{
    time_t t =
        reset_next_for(day != NULL ? day->tz : NULL, day != NULL ? day->hour : -1, (time_t)start);

    return t != 0 ? (long long)t : start + 86400;
}

long long limit_window_start(enum limit_window w, const struct limit_day *day, long long now)
{
    if (w == LIMIT_MINUTE)
        return now - now % 60;
    if (w == LIMIT_HOUR)
        return now - now % 3600;
    return limit_day_start(day, now);
}

long long limit_window_end(enum limit_window w, const struct limit_day *day, long long start)
{
    if (w == LIMIT_MINUTE)
        return start + 60;
    if (w == LIMIT_HOUR)
        return start + 3600;
    return limit_day_end(day, start);
}
