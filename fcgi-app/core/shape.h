/*
 * Model shaping of an upstream (issue 20, docs/API.md "Model allow-list,
 * model map and body overrides"): which models a request may name
 * (model_allow), the models an alias stands for (model_map) and the fields
 * set in JSON request bodies (body_set).  Parsed once when the pool
 * snapshot loads (core/pool.c) and when an upstream is saved (the same
 * checks, so that what was saved always loads); pure functions, so that the
 * proxy (proxy/shape_req.c) and the unit tests share them.
 */
#ifndef APIGW_SHAPE_H
#define APIGW_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#define SHAPE_ALLOW_MAX 64   /* patterns in model_allow */
#define SHAPE_MAP_MAX   64   /* entries of model_map */
#define SHAPE_SET_MAX   32   /* entries of body_set */
#define SHAPE_NAME_MAX  128  /* bytes of a pattern or model name */
#define SHAPE_PATH_MAX  256  /* bytes of a body_set path */
#define SHAPE_VALUE_MAX 4096 /* bytes of a body_set value as JSON */

/* One body_set entry: the member names from the root, and the value as
 * JSON text (parsed for each request, because json-c objects are not safe
 * to share between threads). */
struct shape_set {
    char **steps;
    size_t nsteps;
    char *value;
};

struct shape {
    char **allow; /* patterns; none: every model is allowed */
    size_t nallow;
    char **map_from, **map_to;
    size_t nmap;
    struct shape_set *set;
    size_t nset;
};

/* Parses the three fields as stored (JSON text, NULL or "null" for none).
 * Returns NULL and the shape in *out (NULL when all three are empty), or
 * the fault ("model_map: ..."), naming the field, with *out NULL.  The
 * message lives in thread-local storage until the next call. */
const char *shape_parse(const char *allow, const char *map, const char *set, struct shape **out);
void shape_free(struct shape *s);

/* Whether s matches pattern, where '*' stands for any run of bytes
 * (empty included) and every other byte for itself. */
bool shape_glob(const char *pattern, const char *s);

/* Whether the model may be sent: no allow-list, or a pattern matches. */
bool shape_model_allowed(const struct shape *s, const char *model);

/* The model an alias stands for, or NULL when the map does not name it. */
const char *shape_model_mapped(const struct shape *s, const char *model);

/* Whether bodies may change: a map or a body_set. */
bool shape_changes_body(const struct shape *s);

/* The JSON body with its $.model mapped and the body_set fields set
 * (intermediate objects made, a member on the way that is not an object
 * replaced by one).  Returns the new body (malloc'd, its length in
 * *outlen), or NULL when it stays as it is: not a JSON object, nothing to
 * change, or memory ran out. */
char *shape_body(const struct shape *s, const char *body, size_t len, size_t *outlen);

/* The path with the segment after "/models/" (up to ':', '/', '?' or '#')
 * mapped, or NULL when it names no alias of the map (malloc'd). */
char *shape_path(const struct shape *s, const char *path);

#endif
