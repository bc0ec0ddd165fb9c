/*
 * The one error enum of the gateway.  Every failure that reaches a client
 * is one of these; err_status() and err_code() turn it into the HTTP status
 * and the snake_case code of the contract's error body.
 */
#ifndef APIGW_ERR_H
#define APIGW_ERR_H

#include "core/db.h"

enum err {
    ERR_OK = 0,
    ERR_INVALID_JSON,
    ERR_INVALID_FIELD,
    ERR_INVALID_PATH,
    ERR_UNAUTHORIZED,
    ERR_FORBIDDEN,
    ERR_NOT_FOUND,
    ERR_UNKNOWN_UPSTREAM,
    ERR_METHOD_NOT_ALLOWED,
    ERR_CONFLICT,
    ERR_BODY_TOO_LARGE,
    ERR_RATE_LIMITED,
    ERR_QUOTA_EXCEEDED,
    ERR_INTERNAL,
    ERR_UPSTREAM_ERROR,
    ERR_NO_AVAILABLE_KEY,
    ERR_UPSTREAM_DISABLED,
    ERR_DB_UNAVAILABLE,
    ERR_DB_BUSY, /* lock conflicts outlasted the retries: db_unavailable too */
    ERR_UPSTREAM_TIMEOUT,
    ERR_CONCURRENCY_LIMITED, /* a token's or upstream's max_concurrent is reached */
    ERR_OVERLOADED,          /* the process's cap on proxied requests in flight */
    ERR_INVALID_REQUEST,     /* a request the web server should never have passed on */
    ERR_BAD_GATEWAY,         /* an upstream answer that cannot be passed on */
    ERR_SCRIPT_ERROR,        /* an upstream's script failed and script_fail is closed */
    ERR_MODEL_NOT_ALLOWED,   /* the request's model matches none of model_allow */
    ERR__MAX
};

/* The HTTP status for an error (500 for anything out of range). */
int err_status(enum err e);

/* The contract's snake_case code for an error. */
const char *err_code(enum err e);

/* The error for the outcome of a database call (core/db.h): ERR_OK,
 * ERR_DB_UNAVAILABLE when the server cannot be reached, ERR_DB_BUSY for a
 * deadlock or lock wait timeout, ERR_CONFLICT for a duplicate, else
 * ERR_INTERNAL.  The one place where a db_rc becomes an err. */
enum err err_from_db(enum db_rc rc);

/* The reason phrase for an HTTP status, e.g. "Not Found". */
const char *http_reason(int status);

#endif
