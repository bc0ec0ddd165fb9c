/*
 * Model shaping of a request (core/shape.h; docs/API.md "Model
 * allow-list, model map and body overrides"): once per request, after the
 * upstream's onRequest and before the first attempt.
 */
#ifndef APIGW_SHAPE_REQ_H
#define APIGW_SHAPE_REQ_H

#include "core/err.h"

struct proxy;

/* Why shaping refused a request: the error and its message. */
struct shape_refusal {
    enum err code;
    char message[320];
};

/* Checks the request's model against the upstream's model_allow, maps it
 * (body and /models/{model}: path segment) and sets the body_set fields;
 * the new body replaces the request's, which every attempt sends.  Notes
 * the model asked for (and, without a usage format, the one sent) in the
 * log entry.  Returns ERR_OK, or the refusal it answered. */
enum err proxy_shape_request(struct proxy *px);

/* The same without answering: returns ERR_OK, or the refusal with its
 * message in *no, so that the shaping preview (admin/shape_preview.c)
 * shows what the proxy would answer. */
enum err proxy_shape_apply(struct proxy *px, struct shape_refusal *no);

#endif
