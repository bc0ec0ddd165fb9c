/* A request's affinity id (proxy/affinity.h). */
#include "proxy/affinity.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/pool.h"
#include "core/rule/rule.h"
#include "http.h"
#include "proxy/hook.h"
#include "proxy/proxy.h"

#define BODY_DEPTH 64 /* as the rules' json_path leaves */

bool proxy_affinity_body(const struct jsonpath *path, const char *body, size_t len, uint64_t *hash)
{
    struct json_tokener *tok;
    struct json_object *doc, *v;
    bool found = false;
    const char *text = NULL;
    size_t n = 0;

    if (body == NULL || len == 0 || len > INT_MAX ||
        (tok = json_tokener_new_ex(BODY_DEPTH)) == NULL)
        return false;
    doc = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    v = doc != NULL ? jsonpath_get(path, doc, &found) : NULL;
    if (json_object_is_type(v, json_type_string)) {
        text = json_object_get_string(v);
        n = (size_t)json_object_get_string_len(v);
    } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        n = strlen(text);
    }
    if (n > 0)
        *hash = pool_affinity_hash(text, n);
    json_object_put(doc);
    return n > 0;
}

/* The affinity header as the request goes out: onRequest's headers when
 * it set them, else the client's. */
static const char *header_id(const struct proxy *px, size_t *len)
{
    const char *v;
    size_t i, n = strlen(AFFINITY_HEADER_NAME);

    if (px->hook != NULL && px->hook->headers_set) {
        for (i = 0; i < px->hook->nheaders; i++) {
            const struct script_pair *h = &px->hook->headers[i];
            if (h->name_len == n && strncasecmp(h->name, AFFINITY_HEADER_NAME, n) == 0) {
                *len = h->value_len;
                return h->value;
            }
        }
        return NULL;
    }
    v = req_header(px->r, AFFINITY_HEADER_NAME);
    *len = v != NULL ? strlen(v) : 0;
    return v;
}

void proxy_affinity_find(struct proxy *px)
{
    const char *id = NULL;
    char token_id[24];
    size_t len = 0;

    px->affine = false;
    switch (px->up->affinity) {
    case AFFINITY_HEADER:
        id = header_id(px, &len);
        break;
    case AFFINITY_TOKEN:
        if (px->token != NULL) {
            len = (size_t)snprintf(token_id, sizeof(token_id), "%lld", px->token->id);
            id = token_id;
        }
        break;
    case AFFINITY_BODY:
        px->affine = proxy_affinity_body(px->up->affinity_path, px->r->body.data, px->r->body.len,
                                         &px->affinity_hash);
        return;
    case AFFINITY_NONE:
    default:
        return;
    }
    if (id != NULL && len > 0) {
        px->affine = true;
        px->affinity_hash = pool_affinity_hash(id, len);
    }
}

void proxy_affinity_count(const struct proxy *px)
{
    if (px->affine && px->up != NULL && px->log != NULL && px->log->attempts > 0)
        pool_affinity_count(px->up, px->log->affine_home);
}
