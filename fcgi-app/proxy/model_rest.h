/*
 * Keys rested for one model, as a request sees them (docs/API.md
 * "Model-scoped key state"): the model it sends, for the key choice and
 * the Retry-After, and the rest of a key for that model when a rule's or
 * the script's action has scope "model".
 */
#ifndef APIGW_PROXY_MODEL_REST_H
#define APIGW_PROXY_MODEL_REST_H

#include <stdbool.h>
#include <time.h>

struct proxy;
struct pool_key;
struct pool_model;
struct model_block;

/* The model the request sends to px->up (after model_map): the body's
 * $.model, else the path's /models/{model}.  NULL when it names none, and,
 * unless always, when no key of the upstream rests for a model (then the
 * request does not look: the common case costs nothing). */
const struct pool_model *proxy_model(struct proxy *px, bool always);

/* Rests key k for the request's model as b says (b->key_id and b->model
 * are filled here): stored for every process, and at once in this one.
 * Returns false, doing nothing, when the request names no model (the
 * caller then rests the whole key). */
bool proxy_model_rest(struct proxy *px, struct pool_key *k, struct model_block *b);

#endif
